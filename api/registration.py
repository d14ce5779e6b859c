"""Opening an account: the use case behind sign-up, a first social sign-in and
`shopstream admin create`. It raises only domain errors (`api.commands.Refused`),
which the API answers as problem+json and the CLI prints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from uuid import UUID

from api.commands import command_id, derived_id, execute
from api.consistency import ReadYourWrites
from infra.passwords import hash_password
from infra.security import email_key, link_token, normalise_email, token_hash
from schemas.commands.users import ClaimEmail, RegisterUser


class Applicant(Protocol):
    """Who an account is made for: a sign-up form, or what an identity provider vouches for."""

    @property
    def email(self) -> str: ...

    @property
    def full_name(self) -> str: ...

    @property
    def password(self) -> str | None:
        """None: the account signs in through an identity provider only."""


async def register(bus, keys, settings, form: Applicant, *, roles: list[str],
                   idempotency_key: str | None, actor: str | None,
                   seen: ReadYourWrites | None = None, email_verified: bool = False) -> UUID:
    """Claim the address, then create the account: two commands, both retry-safe.

    The account comes with an email verification link (sent by the notifications
    worker), unless `email_verified`: an identity provider vouched for the address.
    """
    key = email_key(settings, form.email)
    claim_id = command_id(f"POST /v1/users\n{key}", idempotency_key)
    user_id = derived_id(claim_id, "user")
    subject = str(user_id)
    sealed = {
        "email": await keys.seal(subject, normalise_email(form.email)),
        "full_name": await keys.seal(subject, form.full_name),
        "password_hash": (await keys.seal(subject, hash_password(form.password))
                          if form.password is not None else None),
    }
    await execute(bus, ClaimEmail(email_key=key, user_id=user_id, roles=roles, **sealed),
                  actor=actor, command_id=claim_id, seen=seen)
    verification = {}
    if not email_verified:
        request_id = derived_id(claim_id, "verification")
        verification = dict(
            verification_request_id=request_id,
            verification_token_hash=token_hash(link_token(settings, "verify", user_id,
                                                          request_id)),
            verification_expires_at=datetime.now(UTC) + timedelta(
                seconds=settings.verification_link_ttl_s))
    await execute(bus, RegisterUser(
        user_id=user_id, email_key=key, roles=roles, **sealed, email_verified=email_verified,
        **verification),
        actor=actor, command_id=derived_id(claim_id, "register"), seen=seen)
    return user_id
