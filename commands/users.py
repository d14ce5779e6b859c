"""The users service's write model: email claims and user accounts.

An email claim (keyed by the email key, a keyed hash of the normalised address)
is the single writer that decides whether an address is free; the account
itself is its own aggregate, keyed by the user id.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import singledispatch
from uuid import UUID

from commands.decisions import Rejected
from schemas.commands.users import ClaimEmail, RegisterUser
from schemas.events.users import EmailClaimed, UserRegistered
from schemas.messages import Command, Event


@dataclass(frozen=True)
class EmailClaim:
    user_id: UUID


@dataclass(frozen=True)
class User:
    user_id: UUID
    email_key: str
    roles: tuple[str, ...]
    email_verified: bool


State = EmailClaim | User | None


def decide(state: State, command: Command) -> list[Event]:
    return _decide(command, state)


def evolve(state: State, event: Event) -> State:
    return _evolve(event, state)


@singledispatch
def _decide(command: Command, state: State) -> list[Event]:
    raise TypeError(f"the users service does not handle {type(command).__name__}")


@_decide.register
def _(command: ClaimEmail, state: State) -> list[Event]:
    if state is not None:
        raise Rejected("email_taken", "An account with this email address already exists.")
    return [EmailClaimed(**command.model_dump())]


@_decide.register
def _(command: RegisterUser, state: State) -> list[Event]:
    if state is not None:
        raise Rejected("user_exists", "This account exists already.")
    return [UserRegistered(**command.model_dump())]


@singledispatch
def _evolve(event: Event, state: State) -> State:
    raise TypeError(f"the users service does not apply {type(event).__name__}")


@_evolve.register
def _(event: EmailClaimed, state: State) -> State:
    return EmailClaim(user_id=event.user_id)


@_evolve.register
def _(event: UserRegistered, state: State) -> State:
    return User(user_id=event.user_id, email_key=event.email_key, roles=tuple(event.roles),
                email_verified=event.email_verified)
