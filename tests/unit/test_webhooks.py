"""Webhooks without I/O: the signature, the retry schedule, the URL checks (with private
targets refused, as in production), the event-type table, and the subscription's
decider."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commands import webhooks
from commands.decisions import Rejected
from infra.outbound import (
    ATTEMPTS,
    MAX_URL_LENGTH,
    UnsafeTarget,
    check_address,
    check_url,
    resolve,
    retry_delay,
    sign,
)
from schemas.commands.webhooks import DeleteWebhook, ReplayWebhook, SubscribeWebhook
from schemas.events.webhooks import WebhookDeleted, WebhookReplayRequested, WebhookSubscribed
from schemas.messages import Event
from schemas.webhooks import EVENT_TYPES, WEBHOOK_TYPES, webhook_data, webhook_type

SEALED = "v1.c2VhbGVk"


# --- the signature ---------------------------------------------------------------------------

def test_the_signature_is_the_hmac_of_the_time_and_the_body_under_the_secret() -> None:
    body = b'{"id":"e1","type":"order.confirmed"}'
    header = sign("whsec_abc", 1_700_000_000, body)
    expected = hmac.new(b"whsec_abc", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"


@given(st.binary(max_size=500), st.integers(min_value=0, max_value=2**33))
def test_a_signature_changes_with_the_body_the_time_and_the_secret(body: bytes, t: int) -> None:
    header = sign("one", t, body)
    assert header != sign("two", t, body)
    assert header != sign("one", t + 1, body)
    assert header != sign("one", t, body + b" ")


# --- the retry schedule -------------------------------------------------------------------------

def test_the_first_retry_comes_within_ten_seconds_and_the_delays_grow() -> None:
    delays = [retry_delay(n) for n in range(1, ATTEMPTS)]
    assert delays[0] is not None and delays[0] <= timedelta(seconds=10)
    assert all(a is not None and b is not None and a <= b for a, b in zip(delays, delays[1:]))


def test_the_last_attempt_comes_after_a_day_and_then_the_delivery_has_failed() -> None:
    delays = [retry_delay(n) for n in range(1, ATTEMPTS)]
    assert sum(delays, timedelta()) > timedelta(hours=24)  # type: ignore[arg-type]
    assert sum(delays[:-1], timedelta()) < timedelta(hours=24)  # type: ignore[arg-type]
    assert retry_delay(ATTEMPTS) is None
    assert retry_delay(0) is None


# --- the URL checks ------------------------------------------------------------------------------

@pytest.mark.parametrize("address", [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
    "::1", "fe80::1", "fc00::1", "::ffff:127.0.0.1", "240.0.0.1"])
def test_private_loopback_and_link_local_addresses_are_refused_unless_allowed(
        address: str) -> None:
    with pytest.raises(UnsafeTarget):
        check_address(address, allow_private=False)
    check_address(address, allow_private=True)


@pytest.mark.parametrize("address", ["224.0.0.1", "ff02::1", "0.0.0.0", "::"])
def test_multicast_and_unspecified_addresses_are_always_refused(address: str) -> None:
    for allow in (False, True):
        with pytest.raises(UnsafeTarget):
            check_address(address, allow_private=allow)


def test_public_addresses_are_allowed() -> None:
    for address in ("93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"):
        check_address(address, allow_private=False)


@given(st.ip_addresses())
def test_an_allowed_address_is_a_global_unicast_one(ip) -> None:
    try:
        check_address(str(ip), allow_private=False)
    except UnsafeTarget:
        return
    ip = ip.ipv4_mapped or ip if isinstance(ip, ipaddress.IPv6Address) else ip
    assert ip.is_global and not ip.is_multicast


@pytest.mark.parametrize("url", [
    "ftp://example.com/", "file:///etc/passwd", "javascript:alert(1)", "http://",
    "http://user:secret@example.com/", "https://user@example.com/",
    "http://example.com:99999/", "http://exa mple.com/", "http://example.com/\x00",
    "https://example.com/" + "a" * MAX_URL_LENGTH])
def test_malformed_urls_are_refused(url: str) -> None:
    with pytest.raises(UnsafeTarget):
        check_url(url)


def test_a_url_gives_its_host_and_port() -> None:
    assert check_url("https://hooks.example.com/in") == ("hooks.example.com", 443)
    assert check_url("http://[::1]:8080/in") == ("::1", 8080)


@given(st.text(max_size=50))
def test_any_text_is_a_url_or_refused_with_a_reason(text: str) -> None:
    try:
        host, port = check_url(text)
    except UnsafeTarget as refused:
        assert str(refused)
    else:
        assert host and 0 < port < 65536


def test_a_host_resolving_to_loopback_is_refused_without_the_setting() -> None:
    with pytest.raises(UnsafeTarget):
        asyncio.run(resolve("http://localhost:8080/hook", allow_private=False))
    with pytest.raises(UnsafeTarget):
        asyncio.run(resolve("http://127.0.0.1/hook", allow_private=False))
    assert asyncio.run(resolve("http://127.0.0.1/hook", allow_private=True)) == ["127.0.0.1"]


# --- the event-type table ----------------------------------------------------------------------

def test_each_webhook_type_comes_from_our_events() -> None:
    assert webhook_type("OrderConfirmed", {}) == "order.confirmed"
    assert webhook_type("OrderCancelled", {}) == "order.cancelled"
    assert webhook_type("FulfilmentRecorded", {"status": "shipped"}) == "order.shipped"
    assert webhook_type("FulfilmentRecorded", {"status": "delivered"}) == "order.delivered"
    assert webhook_type("FulfilmentRecorded", {"status": "packed"}) is None
    assert webhook_type("PaymentCaptured", {}) == "payment.captured"
    assert webhook_type("PaymentRefunded", {}) == "payment.refunded"
    assert {webhook_type(t, {}) for t in ("ProductChanged", "VariantChanged")} == {
        "product.changed"}
    assert {webhook_type(t, {}) for t in ("StockAdjusted", "StockReserved", "StockReleased")
            } == {"stock.changed"}
    assert webhook_type("ReturnReceived", {}) == "return.received"
    assert webhook_type("UserRegistered", {}) is None
    assert webhook_type("OrderPlaced", {}) is None


def test_every_webhook_type_is_made_by_some_event_and_the_events_exist() -> None:
    made = {webhook_type(t, {"status": s}) for t in WEBHOOK_TYPES
            for s in ("shipped", "delivered")}
    assert made == set(EVENT_TYPES)
    # Every entry names one of our events, but those the returns work brings.
    assert set(WEBHOOK_TYPES) - set(Event.registry) <= {"ReturnReceived"}


def test_the_data_withholds_the_customer_and_adds_a_readable_address_only() -> None:
    payload = {"order_id": "o1", "user_id": "u1", "payment_token": SEALED, "lines": []}
    assert webhook_data(payload, None) == {"order_id": "o1", "lines": []}
    assert webhook_data(payload, {"city": "Lyon"})["shipping_address"] == {"city": "Lyon"}


# --- the subscription's decider --------------------------------------------------------------

def _subscribe(subscription_id: uuid.UUID) -> SubscribeWebhook:
    return SubscribeWebhook(subscription_id=subscription_id, url="https://example.com/hook",
                            events=["order.confirmed"], secret=SEALED)


def _given(*events: Event) -> webhooks.State:
    state: webhooks.State = None
    for event in events:
        state = webhooks.evolve(state, event)
    return state


def test_a_subscription_is_made_once_replayed_while_it_lives_and_deleted_for_good() -> None:
    sid = uuid.uuid4()
    (created,) = webhooks.decide(None, _subscribe(sid))
    assert isinstance(created, WebhookSubscribed) and created.secret == SEALED
    with pytest.raises(Rejected):
        webhooks.decide(_given(created), _subscribe(sid))

    since = datetime(2026, 1, 1, tzinfo=UTC)
    (replay,) = webhooks.decide(_given(created), ReplayWebhook(
        subscription_id=sid, replay_id=uuid.uuid4(), since=since))
    assert isinstance(replay, WebhookReplayRequested) and replay.since == since

    (deleted,) = webhooks.decide(_given(created), DeleteWebhook(subscription_id=sid))
    assert isinstance(deleted, WebhookDeleted)
    for command in (DeleteWebhook(subscription_id=sid),
                    ReplayWebhook(subscription_id=sid, replay_id=uuid.uuid4(), since=since)):
        with pytest.raises(Rejected) as refused:
            webhooks.decide(_given(created, deleted), command)
        assert refused.value.kind == "not_found"
    with pytest.raises(Rejected):
        webhooks.decide(None, DeleteWebhook(subscription_id=sid))


SEALED_PATTERN = repr(r"^v1\.[A-Za-z0-9_-]+$")[1:-1]


def _sealed_fields(event: type[Event]) -> set[str]:
    """The fields of `event` that hold personal data sealed with its owner's key."""
    return {name for name, field in event.model_fields.items()
            if SEALED_PATTERN in repr(field.metadata) + repr(field.annotation)
            or name.endswith("token_hash")}


def test_no_sealed_field_or_token_hash_of_a_delivered_event_reaches_an_integrator() -> None:
    import schemas.events  # noqa: F401  (registers every event)
    from schemas.messages import event_class

    for type_name in WEBHOOK_TYPES:
        event = event_class(type_name)
        sealed = _sealed_fields(event)
        payload = {name: "v1.x" for name in event.model_fields}
        assert not sealed & set(webhook_data(payload, None)), (type_name, sealed)
