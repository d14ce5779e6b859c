"""Send a command from a request and turn its answer into HTTP.

A rejection becomes problem+json (409, 422 or 404 by its kind); no answer in
time becomes 503 with `Retry-After`, safe to retry with the same `Idempotency-Key`
(the command may still be applied: the retry answers its outcome, never a second one).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from uuid import UUID

from fastapi import HTTPException

from api.consistency import ReadYourWrites
from infra.command_bus import CommandBus, CommandTimeout
from schemas.messages import Command
from schemas.replies import Reply

class Refused(Exception):
    """A command the domain refused: `kind` says how (conflict, invalid, not_found,
    bad_request), `detail` why, in words fit for the client. One handler
    (`api/problems.py`) answers it as problem+json; the CLI prints it."""

    STATUS = {"conflict": 409, "invalid": 422, "not_found": 404, "bad_request": 400}

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind, self.detail = kind, detail

    @property
    def status(self) -> int:
        return self.STATUS.get(self.kind, 409)


_NAMESPACE = uuid.UUID("7d4e3c52-3f3b-4b0e-9a54-6f0a1c1e9b11")


def command_id(scope: str, idempotency_key: str | None) -> UUID:
    """The command's id: derived from the client's Idempotency-Key within `scope`, or new.

    `scope` names the route and the caller, so two clients' keys never meet.
    """
    if idempotency_key is None:
        return uuid.uuid4()
    return uuid.uuid5(_NAMESPACE, f"{scope}\n{idempotency_key}")


def derived_id(command: UUID, what: str) -> UUID:
    """An id that follows from a command id, e.g. the product a creation makes."""
    return uuid.uuid5(command, what)


async def execute(bus: CommandBus, command: Command, *, actor: str | None, command_id: UUID,
                  seen: ReadYourWrites | None = None, issued_at: datetime | None = None,
                  correlation_id: UUID | None = None) -> Reply:
    """Send `command`; its events carry `correlation_id` (default: the command id).

    With `seen`, the request's later reads and its session's show the write.
    """
    try:
        reply = await bus.send(command, actor=actor, command_id=command_id, issued_at=issued_at,
                               correlation_id=correlation_id)
    except CommandTimeout:
        # 503, not 504: the shop is what is briefly unavailable (a broker or a command
        # worker changing hands), and a client retries a 503 after Retry-After.
        raise HTTPException(503, "Kafka did not confirm the request in time. Retry it with "
                                 "the same Idempotency-Key to learn its outcome.",
                            headers={"Retry-After": "1"}) from None
    if reply.status == "rejected":
        raise Refused(reply.kind or "conflict", reply.detail or "The request was refused.")
    if seen is not None:
        await seen.wrote(reply.positions)
    return reply
