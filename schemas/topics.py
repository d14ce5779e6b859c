"""Every Kafka topic of shopstream: its name, key, retention and compaction.

This is the only place a topic name is spelled. Partition counts come from
settings (`SHOPSTREAM_KAFKA_PARTITIONS`); a service's commands, events and
replies topics must have the same count, because a command processor's state
and answers live in the partition of the command they follow from.
"""

from __future__ import annotations

from dataclasses import dataclass

FOREVER = -1
DAY_MS = 24 * 60 * 60 * 1000


@dataclass(frozen=True)
class Topic:
    name: str
    key: str
    retention_ms: int
    compacted: bool = False
    # Further topic settings, as Kafka names them.
    extra: tuple[tuple[str, str], ...] = ()

    def config(self, min_insync_replicas: int) -> dict[str, str]:
        return {
            "retention.ms": str(self.retention_ms),
            "cleanup.policy": "compact,delete" if self.compacted else "delete",
            "min.insync.replicas": str(min_insync_replicas),
        } | dict(self.extra)


@dataclass(frozen=True)
class ServiceTopics:
    service: str
    commands: Topic
    events: Topic
    replies: Topic
    snapshots: Topic


# The largest snapshot record: one aggregate with its remembered commands.
SNAPSHOT_MAX_BYTES = 16 * 1024 * 1024
def _service(name: str, command_key: str, event_key: str) -> ServiceTopics:
    return ServiceTopics(
        service=name,
        # Commands are requests, kept a week for diagnosis; the events are the record.
        commands=Topic(f"shopstream.{name}.commands", command_key, 7 * DAY_MS),
        events=Topic(f"shopstream.{name}.events", event_key, FOREVER),
        # Answers to waiting senders; only the newest matter, and not for long.
        replies=Topic(f"shopstream.{name}.replies", "command id", DAY_MS, compacted=True),
        # The command processors' snapshots (`streams/snapshots.py`): only the newest record
        # of each aggregate matters. Segments roll hourly so that compaction, which leaves
        # the open segment alone, keeps the log near one snapshot's size.
        snapshots=Topic(f"shopstream.{name}.snapshots", "aggregate:<key>, or position",
                        FOREVER, compacted=True, extra=(
                            ("max.message.bytes", str(SNAPSHOT_MAX_BYTES)),
                            ("segment.ms", str(60 * 60 * 1000)),
                            ("min.cleanable.dirty.ratio", "0.2"))),
    )


USERS = _service("users", "user id, or the email key for a sign-up", "user id or email key")
CATALOG = _service("catalog", "category or product id", "category or product id")
CART = _service("cart", "cart id (its owner's user id)", "cart id")
ORDERS = _service("orders", "order id, voucher:<code>, or shipping-zones",
                  "order id, voucher:<code>, or shipping-zones")
PAYMENTS = _service("payments", "payment id, or a receipt book", "payment id or receipt book")
WEBHOOKS = _service("webhooks", "subscription id", "subscription id")

SERVICES: dict[str, ServiceTopics] = {s.service: s for s in (USERS, CATALOG, CART, ORDERS,
                                                             PAYMENTS, WEBHOOKS)}


def all_topics() -> list[Topic]:
    return [t for s in SERVICES.values()
            for t in (s.commands, s.events, s.replies, s.snapshots)]


def event_topics() -> list[Topic]:
    return [s.events for s in SERVICES.values()]
