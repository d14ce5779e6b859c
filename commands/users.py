"""The users service's write model: email claims and user accounts.

An email claim (keyed by the email key, a keyed hash of the normalised address)
is the single writer that decides whether an address is free; the account
itself is its own aggregate, keyed by the user id. Link tokens (verification,
password reset) are known here only by their hashes, each usable once before
its deadline. Accounts at identity providers linked to a user are known by
the provider's name and a keyed hash of its subject.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import singledispatch
from types import MappingProxyType
from typing import Mapping
from uuid import UUID

from commands.decisions import Rejected
from schemas.commands.users import (
    ChangePassword,
    ChangeProfile,
    ClaimEmail,
    LinkSocialIdentity,
    RegisterUser,
    RequestPasswordReset,
    ResetPassword,
    VerifyEmail,
)
from schemas.events.users import (
    EmailClaimed,
    EmailVerificationRequested,
    EmailVerified,
    PasswordChanged,
    PasswordResetRequested,
    ProfileChanged,
    SocialIdentityLinked,
    UserRegistered,
)
from schemas.messages import Command, Event

# Reset links a user may have open at once; older ones stop working.
OPEN_RESET_LINKS = 3


@dataclass(frozen=True)
class EmailClaim:
    user_id: UUID


@dataclass(frozen=True)
class Link:
    expires_at: datetime
    used: bool = False


@dataclass(frozen=True)
class User:
    user_id: UUID
    email_key: str
    roles: tuple[str, ...]
    email_verified: bool
    verification: tuple[str, Link] | None = None
    resets: Mapping[str, Link] = field(default_factory=lambda: MappingProxyType({}))
    # (provider, subject key) of each linked account at an identity provider
    identities: frozenset[tuple[str, str]] = frozenset()


State = EmailClaim | User | None

_BAD_LINK = "This link is not valid: it was used already, has expired or was replaced."


def decide(state: State, command: Command) -> list[Event]:
    return _decide(command, state)


def evolve(state: State, event: Event) -> State:
    return _evolve(event, state)


def _user(state: State) -> User:
    if not isinstance(state, User):
        raise Rejected("user_not_found", "There is no such account.", "not_found")
    return state


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
    fields = command.model_dump(exclude={"verification_request_id", "verification_token_hash",
                                         "verification_expires_at"})
    events: list[Event] = [UserRegistered(**fields)]
    if (command.verification_token_hash and command.verification_request_id
            and not command.email_verified):
        assert command.verification_expires_at is not None
        events.append(EmailVerificationRequested(
            user_id=command.user_id, request_id=command.verification_request_id,
            token_hash=command.verification_token_hash,
            expires_at=command.verification_expires_at))
    return events


@_decide.register
def _(command: VerifyEmail, state: State) -> list[Event]:
    user = _user(state)
    if user.email_verified:
        return []
    pending = user.verification
    if pending is None or pending[0] != command.token_hash or command.at >= pending[1].expires_at:
        raise Rejected("invalid_link", _BAD_LINK, "bad_request")
    return [EmailVerified(user_id=command.user_id)]


@_decide.register
def _(command: LinkSocialIdentity, state: State) -> list[Event]:
    user = _user(state)
    if (command.provider, command.subject_key) in user.identities:
        return []
    return [SocialIdentityLinked(**command.model_dump())]


@_decide.register
def _(command: ChangeProfile, state: State) -> list[Event]:
    _user(state)
    changes = command.model_dump(exclude_none=True, exclude={"user_id"})
    return [ProfileChanged(user_id=command.user_id, **changes)] if changes else []


@_decide.register
def _(command: ChangePassword, state: State) -> list[Event]:
    _user(state)
    return [PasswordChanged(user_id=command.user_id, password_hash=command.password_hash,
                            reason="changed")]


@_decide.register
def _(command: RequestPasswordReset, state: State) -> list[Event]:
    _user(state)
    return [PasswordResetRequested(**command.model_dump())]


@_decide.register
def _(command: ResetPassword, state: State) -> list[Event]:
    user = _user(state)
    link = user.resets.get(command.token_hash)
    if link is None or link.used or command.at >= link.expires_at:
        raise Rejected("invalid_link", _BAD_LINK, "bad_request")
    return [PasswordChanged(user_id=command.user_id, password_hash=command.password_hash,
                            reason="reset", reset_token_hash=command.token_hash)]


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


@_evolve.register
def _(event: EmailVerificationRequested, state: State) -> State:
    return replace(_user(state), verification=(event.token_hash, Link(event.expires_at)))


@_evolve.register
def _(event: EmailVerified, state: State) -> State:
    return replace(_user(state), email_verified=True, verification=None)


@_evolve.register
def _(event: SocialIdentityLinked, state: State) -> State:
    user = _user(state)
    return replace(user, identities=user.identities | {(event.provider, event.subject_key)})


@_evolve.register
def _(event: ProfileChanged, state: State) -> State:
    return _user(state)


@_evolve.register
def _(event: PasswordResetRequested, state: State) -> State:
    user = _user(state)
    resets = {h: link for h, link in user.resets.items() if not link.used}
    resets[event.token_hash] = Link(event.expires_at)
    while len(resets) > OPEN_RESET_LINKS:
        del resets[next(iter(resets))]
    return replace(user, resets=MappingProxyType(resets))


@_evolve.register
def _(event: PasswordChanged, state: State) -> State:
    user = _user(state)
    if event.reason == "reset" and event.reset_token_hash in user.resets:
        resets = dict(user.resets)
        resets[event.reset_token_hash] = replace(resets[event.reset_token_hash], used=True)
        return replace(user, resets=MappingProxyType(resets))
    return user
