"""Runs each projection as its own consumer group inside the projections worker.

A runner reads its topics with `read_committed` (aborted transactions never
reach a read model), applies records in batches, then records how far it got. A
projection that stores its checkpoint with its writes resumes from that
checkpoint; the others from the group's committed offsets, which are committed
when the runner is idle and at most once a second under load (every projection
is idempotent, so what is applied again after a restart changes nothing). Lag per projection
is exported to Prometheus on the worker's web port.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import faust
import mode
import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, TopicPartition
from prometheus_client import Gauge, generate_latest

from infra.clients import Clients
from infra.container import Container
from infra.database import create_tables
from infra.dependencies import log_failure
from infra.settings import Settings
from projections import checkpoints
from projections.base import Projection
from schemas.records import Record
from projections.registry import NAMES, build_dispatchers, build_projections
from streams.system import Project, Subscription

log = structlog.get_logger(__name__)

LAG = Gauge("shopstream_projection_lag_events", "Events not yet applied by a projection",
            ["projection", "topic", "partition"])
APPLIED = Gauge("shopstream_projection_applied_offset", "Next offset a projection will apply",
                ["projection", "topic", "partition"])

BATCH_SIZE = 1000
SAVE_INTERVAL_S = 0.05
COMMIT_INTERVAL_S = 1.0
# How long a worker waits for another's replay of the same model before it tries again.
REBUILD_WAIT_S = 600


def to_records(batches: dict[TopicPartition, list]) -> list[Record]:
    return [Record.from_message(m)
            for messages in batches.values() for m in messages if m.value is not None]


def to_commit(positions: dict[tuple[str, int], int], committed: dict[tuple[str, int], int]
              ) -> dict[TopicPartition, int]:
    """The offsets of the partitions held now that moved since the last commit. Empty when
    only a rebalance changed what is held: aiokafka refuses to commit nothing."""
    return {TopicPartition(*tp): offset for tp, offset in positions.items()
            if committed.get(tp) != offset}


def group_id(projection: Projection) -> str:
    return f"shopstream.projection.{projection.name}"


class _SeekToCheckpoint(ConsumerRebalanceListener):
    def __init__(self, consumer: AIOKafkaConsumer, clients: Clients, projection: Projection):
        self.consumer, self.clients, self.projection = consumer, clients, projection

    async def on_partitions_revoked(self, revoked) -> None:
        pass

    async def on_partitions_assigned(self, assigned) -> None:
        if not self.projection.stores_checkpoint:
            return
        stored = await checkpoints.load(self.clients.mysql, self.projection.name)
        for tp in assigned:
            offset = stored.get((tp.topic, tp.partition))
            if offset is None:
                await self.consumer.seek_to_beginning(tp)
            else:
                self.consumer.seek(tp, offset)


class ProjectionService(mode.Service):
    def __init__(self, settings: Settings, subscription: Subscription,
                 build: Callable[[], Container], **kwargs) -> None:
        super().__init__(**kwargs)
        assert isinstance(subscription.handler, Project)
        self.settings = settings
        self.projection_name = subscription.handler.projection
        self.topics = subscription.topics
        self.build = build

    @mode.Service.task
    async def _run(self) -> None:
        """Run the projection; after a failure, wait and resume from the last checkpoint."""
        delay = 1.0
        while not self.should_stop:
            try:
                await self._project()
            except asyncio.CancelledError:
                raise
            except Exception as error:
                log_failure(log, "projection.failed", error, projection=self.projection_name,
                            retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    @staticmethod
    async def _rebuild_if_outdated(clients, projection) -> None:
        """Replay the model if it is outdated, recorded as a replay like any other: where
        two workers of the role start together, or an administrator's replay of it is under
        way, this one waits for that replay to end and finds the model up to date."""
        from projections.replays import ReplayInProgress, ReplayRequests
        from streams.replay import shadow_suffix
        from streams.replay_runner import carry_out, worker_name

        requests = ReplayRequests(clients.mysql)
        deadline = time.monotonic() + REBUILD_WAIT_S
        while await projection.outdated():
            try:
                row = await requests.start(projection.name, "worker start", worker_name(),
                                           shadow_suffix())
            except ReplayInProgress:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"a replay of {projection.name} did not end within "
                                       f"{REBUILD_WAIT_S} s") from None
                await asyncio.sleep(1.0)
                continue
            log.info("projection.rebuilding", projection=projection.name)
            result = await carry_out(clients, requests, row)
            log.info("projection.rebuilt", projection=projection.name, events=result.events,
                     seconds=round(result.seconds, 1))

    async def _project(self) -> None:
        container = self.build()
        clients = container.clients
        projection = {**build_projections(clients),
                      **build_dispatchers(clients)}[self.projection_name]
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            group_id=group_id(projection),
            isolation_level="read_committed",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=BATCH_SIZE,
        )
        try:
            await create_tables(clients.mysql)
            await projection.setup()
            await self._rebuild_if_outdated(clients, projection)
            await consumer.start()
            consumer.subscribe(list(self.topics),
                               listener=_SeekToCheckpoint(consumer, clients, projection))
            saved: dict[tuple[str, int], int] = {}
            committed: dict[tuple[str, int], int] = {}
            saved_at = committed_at = 0.0
            while not self.should_stop:
                # getmany answers as soon as records come; the timeout only paces an idle loop.
                batches = await consumer.getmany(timeout_ms=1000, max_records=BATCH_SIZE)
                records = to_records(batches)
                if records:
                    await projection.apply(records)
                # The consumer's position moves past transaction markers too: it is what
                # read-your-writes waits and lag compare with. (Resuming uses the stored
                # checkpoint or the committed offsets.)
                positions = {(tp.topic, tp.partition): await consumer.position(tp)
                             for tp in consumer.assignment()}
                moved = {tp: offset for tp, offset in positions.items() if saved.get(tp) != offset}
                now = time.monotonic()
                # A model that stores its checkpoint with its rows has saved all but the
                # markers: under load, only every SAVE_INTERVAL_S (a keyed miss waits for
                # the markers; a session's writes do not).
                if moved and (not projection.stores_checkpoint or not records
                              or now - saved_at >= SAVE_INTERVAL_S):
                    async with clients.mysql.begin() as connection:
                        await checkpoints.save(connection, projection.name, moved)
                    saved.update(moved)
                    saved_at = now
                # Offsets in Kafka only say where to resume (projections are idempotent):
                # committed when idle, and at most every COMMIT_INTERVAL_S under load.
                # Only the partitions that moved: a model reading every events topic would
                # otherwise write one offset record per partition at each commit.
                if positions != committed and (not records
                                               or now - committed_at >= COMMIT_INTERVAL_S):
                    if changed := to_commit(positions, committed):
                        await consumer.commit(changed)
                    committed, committed_at = positions, now
                self._export_lag(consumer, projection, positions)
        finally:
            await consumer.stop()
            await container.close()

    @staticmethod
    def _export_lag(consumer: AIOKafkaConsumer, projection: Projection,
                    positions: dict[tuple[str, int], int]) -> None:
        for (topic, partition), offset in positions.items():
            highwater = consumer.highwater(TopicPartition(topic, partition))
            if highwater is None:
                continue
            APPLIED.labels(projection.name, topic, partition).set(offset)
            LAG.labels(projection.name, topic, partition).set(max(highwater - offset, 0))


def register(app: faust.App, settings: Settings, build: Callable[[], Container],
             subscriptions: list[Subscription]) -> None:
    """Run each read model (`Project`, `streams/system.py`) in `app`, and export their lag;
    a projections worker also runs the replays asked for through the API."""
    for subscription in subscriptions:
        app.service(ProjectionService(settings, subscription, build))
    if any(subscription.handler.projection in NAMES for subscription in subscriptions):
        from streams.replay_runner import ReplayRunner

        app.service(ReplayRunner(build))

    @app.page("/metrics")
    async def metrics(web, request):
        return web.bytes(generate_latest(), content_type="text/plain")
