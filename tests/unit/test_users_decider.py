"""The users decider: given events, when a command, then events (or a rejection)."""

from __future__ import annotations

from functools import reduce
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands import users
from commands.decisions import Rejected
from schemas.commands.users import ClaimEmail, RegisterUser
from schemas.events.users import EmailClaimed, UserRegistered

EMAIL_KEY = "ek_0123456789abcdef"
ALICE = UUID("00000000-0000-4000-8000-0000000a11ce")
BOB = UUID("00000000-0000-4000-8000-000000000b0b")

SIGN_UP = dict(email="v1.ZW1haWw", full_name="v1.bmFtZQ", password_hash="v1.aGFzaA",
               roles=["customer"])


def given_events(*events):
    return reduce(users.evolve, events, None)


def claim(user_id: UUID = ALICE) -> ClaimEmail:
    return ClaimEmail(email_key=EMAIL_KEY, user_id=user_id, **SIGN_UP)


def register(user_id: UUID = ALICE) -> RegisterUser:
    return RegisterUser(user_id=user_id, email_key=EMAIL_KEY, **SIGN_UP)


def test_claim_email_on_a_free_key_emits_email_claimed_with_the_same_fields():
    events = users.decide(given_events(), claim())

    assert events == [EmailClaimed(email_key=EMAIL_KEY, user_id=ALICE, **SIGN_UP)]
    assert events[0].model_dump() == claim().model_dump()


def test_email_claimed_holds_the_key_for_its_user():
    assert given_events(EmailClaimed(**claim().model_dump())) == users.EmailClaim(user_id=ALICE)


@pytest.mark.parametrize("claimant", [BOB, ALICE], ids=["another user", "the same user"])
def test_claim_email_on_a_claimed_key_is_rejected_as_email_taken(claimant):
    state = given_events(EmailClaimed(**claim(ALICE).model_dump()))

    with pytest.raises(Rejected) as caught:
        users.decide(state, claim(claimant))

    assert caught.value.reason == "email_taken"
    assert caught.value.kind == "conflict"


def test_register_user_on_a_new_id_emits_user_registered_unverified():
    events = users.decide(given_events(), register())

    assert events == [UserRegistered(user_id=ALICE, email_key=EMAIL_KEY, email_verified=False,
                                     **SIGN_UP)]


def test_user_registered_becomes_a_user():
    state = given_events(UserRegistered(**register().model_dump()))

    assert state == users.User(user_id=ALICE, email_key=EMAIL_KEY, roles=("customer",),
                               email_verified=False)


def test_register_user_that_exists_is_rejected_as_user_exists():
    state = given_events(UserRegistered(**register().model_dump()))

    with pytest.raises(Rejected) as caught:
        users.decide(state, register())

    assert caught.value.reason == "user_exists"


def test_the_users_service_does_not_apply_events_of_other_services():
    from schemas.events.catalog import StockAdjusted

    with pytest.raises(TypeError):
        users.evolve(None, StockAdjusted(product_id=ALICE, delta=1, available=1))


@st.composite
def interleaved_claimants(draw) -> list[UUID]:
    """Several users claiming one address, each possibly more than once, in any order."""
    claimants = draw(st.lists(st.uuids(), min_size=1, max_size=6, unique=True))
    return draw(st.lists(st.sampled_from(claimants), min_size=1, max_size=20))


@given(interleaved_claimants())
def test_of_any_interleaving_of_claims_on_one_email_key_exactly_one_is_accepted(user_ids):
    state = given_events()
    accepted, rejected = [], []
    for user_id in user_ids:
        try:
            events = users.decide(state, claim(user_id))
        except Rejected as refusal:
            rejected.append(refusal.reason)
            continue
        accepted.append(user_id)
        state = reduce(users.evolve, events, state)

    assert accepted == [user_ids[0]]
    assert rejected == ["email_taken"] * (len(user_ids) - 1)
    assert state == users.EmailClaim(user_id=user_ids[0])
