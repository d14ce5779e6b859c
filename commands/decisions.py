"""What every decider shares: the rejection it raises and the shape it has.

A decider is a module with `decide(state, command) -> list[Event]` and
`evolve(state, event) -> state`, both pure, over immutable state that starts as
`None` for an aggregate that does not exist yet.
"""

from __future__ import annotations

from typing import Literal

RejectionKind = Literal["conflict", "invalid", "not_found", "bad_request"]


class Rejected(Exception):
    """The command is refused and nothing changes; `reason` is a stable code."""

    def __init__(self, reason: str, detail: str, kind: RejectionKind = "conflict") -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail
        self.kind = kind
