"""Social login in the users decider: linking an identity provider's account to a user."""

from __future__ import annotations

from functools import reduce
from uuid import UUID

import pytest

from commands import users
from commands.decisions import Rejected
from schemas.commands.users import LinkSocialIdentity, RegisterUser
from schemas.events.users import SocialIdentityLinked, UserRegistered

ALICE = UUID("00000000-0000-4000-8000-0000000a11ce")
SUBJECT_KEY = "a" * 64
OTHER_SUBJECT_KEY = "b" * 64
ACCOUNT = dict(user_id=ALICE, email_key="ek_0123456789abcdef", email="v1.ZW1haWw",
               full_name="v1.bmFtZQ", roles=["customer"])


def given_events(*events):
    return reduce(users.evolve, events, None)


def registered(**changes) -> UserRegistered:
    return UserRegistered(**ACCOUNT | {"password_hash": "v1.aGFzaA"} | changes)


def link(provider: str = "local", subject_key: str = SUBJECT_KEY) -> LinkSocialIdentity:
    return LinkSocialIdentity(user_id=ALICE, provider=provider, subject_key=subject_key)


def linked(provider: str = "local", subject_key: str = SUBJECT_KEY) -> SocialIdentityLinked:
    return SocialIdentityLinked(user_id=ALICE, provider=provider, subject_key=subject_key)


def test_link_social_identity_of_an_existing_user_emits_social_identity_linked():
    assert users.decide(given_events(registered()), link()) == [linked()]


def test_a_linked_identity_is_remembered_by_the_user():
    state = given_events(registered(), linked())

    assert state.identities == frozenset({("local", SUBJECT_KEY)})


def test_linking_the_same_identity_again_emits_nothing():
    assert users.decide(given_events(registered(), linked()), link()) == []


@pytest.mark.parametrize("other", [link(subject_key=OTHER_SUBJECT_KEY), link(provider="acme")],
                         ids=["another subject", "another provider"])
def test_another_identity_of_the_same_user_is_linked_too(other):
    assert users.decide(given_events(registered(), linked()), other) == [
        linked(other.provider, other.subject_key)]


def test_link_social_identity_of_a_missing_user_is_rejected_as_not_found():
    with pytest.raises(Rejected) as caught:
        users.decide(given_events(), link())

    assert caught.value.reason == "user_not_found"
    assert caught.value.kind == "not_found"


def test_an_account_without_a_password_registers_with_a_null_password_hash():
    command = RegisterUser(**ACCOUNT, email_verified=True)

    events = users.decide(given_events(), command)

    assert events == [UserRegistered(**ACCOUNT, password_hash=None, email_verified=True)]


def test_an_address_the_provider_verified_gets_no_verification_link():
    command = RegisterUser(**ACCOUNT, email_verified=True,
                           verification_request_id=ALICE, verification_token_hash="c" * 64,
                           verification_expires_at="2030-01-01T00:00:00Z")

    assert [type(e).__name__ for e in users.decide(given_events(), command)] == [
        "UserRegistered"]
    assert users.evolve(None, users.decide(given_events(), command)[0]).email_verified
