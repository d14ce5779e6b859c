"""Check the audit trail against the topics themselves: every event, nothing else.

A live shop keeps appending events, so the check fixes the topics' ends first, waits
for the audit projection to have applied everything up to them, and only then reads the
trail: an event written after the ends were read is neither compared nor missing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import select

from infra.clients import Clients
from infra.topic_reader import TopicReader
from projections.audit import AuditProjection, audit_row
from projections.checkpoints import Progress

CATCH_UP_S = 120.0  # how long the audit projection may take to reach the ends read


class AuditBehind(Exception):
    """The audit projection did not reach the topics' ends in time: nothing to compare yet."""


@dataclass(frozen=True)
class Difference:
    topic: str
    partition: int
    offset: int
    problem: str

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}: {self.problem}"


def _comparable(row: dict) -> dict:
    return {k: (json.dumps(v, sort_keys=True) if k == "payload" else str(v))
            for k, v in row.items()}


async def verify(clients: Clients, catch_up_s: float = CATCH_UP_S
                 ) -> tuple[int, list[Difference]]:
    """Compare every committed event with its audit row; return (events read, differences).

    Raises AuditBehind if the projection has not applied the events up to the topics'
    ends within `catch_up_s`."""
    audit = AuditProjection(clients.mysql)
    table = audit.tables["audit_events"]
    async with TopicReader(clients.settings, audit.topics) as reader:
        snapshot = await reader.range()
        ends = {(tp.topic, tp.partition): offset for tp, offset in snapshot.end.items()}
        if not await Progress(clients.mysql_reads).reach(audit.name, ends, catch_up_s):
            raise AuditBehind(f"the audit projection has not reached the topics' ends "
                              f"in {catch_up_s:.0f} s; is worker-projections running?")
        async with clients.mysql.connect() as connection:
            rows = {(r.topic, r.partition, r.offset): _comparable(dict(r._mapping))
                    for r in await connection.execute(select(table))}
        differences: list[Difference] = []
        seen = 0
        async for records in reader.read(snapshot):
            for record in records:
                seen += 1
                key = (record.topic, record.partition, record.offset)
                row = rows.pop(key, None)
                if row is None:
                    differences.append(Difference(*key, "missing from the audit trail"))
                elif row != _comparable(audit_row(record)):
                    fields = sorted(k for k, v in _comparable(audit_row(record)).items()
                                    if row.get(k) != v)
                    differences.append(Difference(*key, f"differs in {', '.join(fields)}"))
    for (topic, partition, offset) in rows:
        if offset < ends.get((topic, partition), 0):
            differences.append(Difference(topic, partition, offset, "not an event in Kafka"))
    return seen, sorted(differences, key=lambda d: (d.topic, d.partition, d.offset))
