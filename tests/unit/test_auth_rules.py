"""The rules of passwords and emailed links, without any I/O."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from commands.decisions import Rejected
from infra.passwords import COMMON, MAX_LENGTH, MIN_LENGTH, password_problems
from commands.users import OPEN_RESET_LINKS, decide, evolve
from infra.security import link_token, token_hash, token_user
from infra.settings import Settings
from schemas.commands.users import RegisterUser, RequestPasswordReset, ResetPassword, VerifyEmail

SETTINGS = Settings(link_token_key=base64.b64encode(b"k" * 32).decode())
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
USER = uuid.UUID("00000000-0000-4000-8000-000000000001")


# Passwords

@given(st.text(min_size=MIN_LENGTH, max_size=MAX_LENGTH))
def test_a_long_enough_varied_uncommon_password_without_the_address_is_accepted(password):
    assume(len(set(password.lower())) >= 4 and password.lower() not in COMMON)
    assume("someone-else" not in password.lower())
    assert password_problems(password, "someone-else@example.com") == []


@given(st.text(max_size=MIN_LENGTH - 1))
def test_a_short_password_is_refused_with_the_reason(password):
    assert f"must be at least {MIN_LENGTH} characters long" in password_problems(password)


@given(st.text(alphabet="ab", min_size=MIN_LENGTH, max_size=40))
def test_a_password_of_too_few_distinct_characters_is_refused(password):
    assert "is too common or too simple" in password_problems(password)


def test_a_password_containing_the_address_is_refused():
    assert "must not contain the email address" in password_problems(
        "xx-marianne-2026-yy", "Marianne@example.com")


# Link tokens

@given(st.uuids(), st.uuids(), st.sampled_from(["verify", "reset"]))
def test_a_link_token_names_its_user_and_only_its_hash_is_needed_to_check_it(user, request, purpose):
    token = link_token(SETTINGS, purpose, user, request)
    assert token_user(token) == user
    assert token_hash(token) == token_hash(link_token(SETTINGS, purpose, user, request))
    assert len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))) == 16 + 32


@given(st.uuids(), st.uuids(), st.uuids())
def test_tokens_differ_by_request_purpose_and_key(user, request, other_request):
    token = link_token(SETTINGS, "reset", user, request)
    other_key = Settings(link_token_key=base64.b64encode(b"o" * 32).decode())
    assert token != link_token(SETTINGS, "verify", user, request)
    assert token != link_token(other_key, "reset", user, request)
    if request != other_request:
        assert token != link_token(SETTINGS, "reset", user, other_request)


@given(st.text(max_size=80))
def test_anything_not_shaped_like_a_token_names_no_user(text):
    token = text.strip()
    if len(token) != 64:
        assert token_user(token) is None


# Links in the users decider

def registered(verification_hash: str | None = "a" * 64, verified: bool = False):
    command = RegisterUser(user_id=USER, email_key="e" * 64, email="v1.e", full_name="v1.n",
                           password_hash="v1.p", roles=["customer"],
                           verification_request_id=uuid.uuid4() if verification_hash else None,
                           verification_token_hash=verification_hash,
                           verification_expires_at=NOW + timedelta(days=7))
    state = None
    for event in decide(state, command):
        state = evolve(state, event)
    return state


def apply(state, command):
    events = decide(state, command)
    for event in events:
        state = evolve(state, event)
    return state, events


@given(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=14)))
def test_a_verification_link_works_before_its_deadline_only(delay):
    state = registered()
    command = VerifyEmail(user_id=USER, token_hash="a" * 64, at=NOW + delay)
    if delay < timedelta(days=7):
        state, events = apply(state, command)
        assert [type(e).__name__ for e in events] == ["EmailVerified"]
        assert decide(state, command) == []      # verifying again changes nothing
    else:
        with pytest.raises(Rejected) as refused:
            decide(state, command)
        assert refused.value.kind == "bad_request"


def test_a_wrong_verification_token_is_refused():
    with pytest.raises(Rejected):
        decide(registered(), VerifyEmail(user_id=USER, token_hash="b" * 64, at=NOW))


def reset_requested(state, n: int, minutes: int = 30):
    return apply(state, RequestPasswordReset(user_id=USER, request_id=uuid.uuid4(),
                                             token_hash=f"{n:064x}",
                                             expires_at=NOW + timedelta(minutes=minutes)))[0]


@given(st.lists(st.integers(min_value=0, max_value=5), min_size=1, max_size=12))
def test_a_reset_link_works_once_and_only_the_newest_links_stay_open(uses):
    """Any sequence of resets with links 0..5: each works at most once, newest three open."""
    state = registered()
    for n in range(6):
        state = reset_requested(state, n)
    used: set[int] = set()
    for n in uses:
        command = ResetPassword(user_id=USER, token_hash=f"{n:064x}", password_hash="v1.x",
                                at=NOW + timedelta(minutes=1))
        if n >= 6 - OPEN_RESET_LINKS and n not in used:
            state, events = apply(state, command)
            assert events[0].reason == "reset"
            used.add(n)
        else:
            with pytest.raises(Rejected):
                decide(state, command)


def test_an_expired_reset_link_is_refused():
    state = reset_requested(registered(), 1, minutes=30)
    with pytest.raises(Rejected):
        decide(state, ResetPassword(user_id=USER, token_hash=f"{1:064x}", password_hash="v1.x",
                                    at=NOW + timedelta(minutes=30)))
