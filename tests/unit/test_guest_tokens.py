"""Guest tokens: the cart token, the cart id derived from it, the order token and its check;
and the guest's cart emptied by the saga after the order is confirmed."""

from __future__ import annotations

import base64
import hmac
import uuid

from hypothesis import given
from hypothesis import strategies as st

from commands.orders import decide, evolve
from commands import pricing
from infra import guest_tokens
from infra.settings import Settings
from schemas.commands.cart import RemoveOrderedItems
from schemas.commands.orders import RecordPayment, RecordStockReservation
from schemas.events.orders import OrderConfirmed
from streams.checkout_saga import react
from tests.unit.checkout import CUPS, ORDER, PAYMENT, TEA, USER, place_order
from tests.unit.test_checkout_saga import POLICY, commands, recorded

SETTINGS = Settings(guest_token_key=base64.b64encode(b"g" * 32).decode())
OTHER_KEY = Settings(guest_token_key=base64.b64encode(b"h" * 32).decode())
GUEST_CART = uuid.UUID("00000000-0000-4000-8000-00000000ca27")

tokens = st.text(min_size=20, max_size=100)


def test_a_cart_token_holds_256_random_bits() -> None:
    made = {guest_tokens.new_cart_token() for _ in range(100)}
    assert len(made) == 100
    assert all(len(base64.urlsafe_b64decode(t + "=")) == 32 for t in made)


@given(token=tokens, other=tokens)
def test_a_cart_id_follows_from_its_token_alone_and_names_one_cart(token, other) -> None:
    cart_id = guest_tokens.guest_cart_id(SETTINGS, token)
    assert cart_id == guest_tokens.guest_cart_id(SETTINGS, token)
    assert (cart_id == guest_tokens.guest_cart_id(SETTINGS, other)) == (token == other)
    assert token not in str(cart_id)


def test_a_cart_id_depends_on_the_server_key() -> None:
    token = guest_tokens.new_cart_token()
    assert guest_tokens.guest_cart_id(SETTINGS, token) != guest_tokens.guest_cart_id(
        OTHER_KEY, token)


def test_an_order_token_is_the_order_s_own_and_the_server_s() -> None:
    token = guest_tokens.order_token(SETTINGS, ORDER)
    assert len(base64.urlsafe_b64decode(token + "=")) == 32
    assert token == guest_tokens.order_token(SETTINGS, ORDER)
    assert token != guest_tokens.order_token(SETTINGS, uuid.uuid4())
    assert token != guest_tokens.order_token(OTHER_KEY, ORDER)


@given(token=tokens, other=tokens)
def test_only_the_token_a_hash_was_made_from_matches_it(token, other) -> None:
    stored = guest_tokens.token_hash(token)
    assert token not in stored and len(stored) == 64
    assert guest_tokens.token_matches(token, stored)
    assert guest_tokens.token_matches(other, stored) == (token == other)


def test_no_token_or_no_hash_never_matches() -> None:
    stored = guest_tokens.token_hash("x")
    assert not guest_tokens.token_matches(None, stored)
    assert not guest_tokens.token_matches("", stored)
    assert not guest_tokens.token_matches("x", None)


def test_the_check_compares_in_constant_time(monkeypatch) -> None:
    compared = []
    original = hmac.compare_digest

    def compare_digest(a, b):
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(guest_tokens.hmac, "compare_digest", compare_digest)
    assert guest_tokens.token_matches("x", guest_tokens.token_hash("x"))
    assert len(compared) == 1


def test_a_guest_s_order_is_owned_by_a_guest_id_of_its_own() -> None:
    assert guest_tokens.guest_id(ORDER) == guest_tokens.guest_id(ORDER)
    assert guest_tokens.guest_id(ORDER) != guest_tokens.guest_id(uuid.uuid4())
    assert guest_tokens.guest_id(ORDER) != ORDER


def _confirmed(cart_id: uuid.UUID | None) -> OrderConfirmed:
    placed = place_order().model_copy(update={"cart_id": cart_id})
    state = None
    for command in (placed, RecordStockReservation(order_id=ORDER, product_id=TEA, reserved=True),
                    RecordStockReservation(order_id=ORDER, product_id=CUPS, reserved=True),
                    RecordPayment(order_id=ORDER, payment_id=PAYMENT, status="captured")):
        events = decide(state, command)
        for event in events:
            state = evolve(state, event)
    (confirmed,) = [e for e in events if isinstance(e, OrderConfirmed)]
    return confirmed


def test_a_guest_order_s_confirmation_empties_the_guest_cart() -> None:
    confirmed = _confirmed(GUEST_CART)
    assert confirmed.cart_id == GUEST_CART
    (remove,) = commands(react(recorded(confirmed), POLICY))
    assert isinstance(remove, RemoveOrderedItems) and remove.cart_id == GUEST_CART


def test_an_order_from_before_cart_ids_empties_its_owner_s_cart() -> None:
    assert _confirmed(None).cart_id == USER
    old = OrderConfirmed(order_id=ORDER, user_id=USER, payment_id=PAYMENT,
                         lines=place_order().lines, totals=pricing.totals(place_order().lines),
                         payment_method="card")
    (remove,) = commands(react(recorded(old), POLICY))
    assert remove.cart_id == USER


def test_only_a_guest_s_confirmation_links_to_the_order_with_its_token() -> None:
    from streams.emails import email_for
    from streams.notifications import Addressee, message_for

    settings = SETTINGS.model_copy(update={"mail_from": "shop@example.com",
                                           "frontend_url": "https://shop.example"})
    confirmed = recorded(_confirmed(GUEST_CART))
    token = guest_tokens.order_token(SETTINGS, ORDER)
    email = email_for(confirmed.type, confirmed.payload)

    def text(addressee: Addressee) -> str:
        message = message_for(settings, confirmed, email, addressee)
        return message.get_body(("plain",)).get_content()

    guest = text(Addressee("guest@example.com", "Ada", guest_order=ORDER))
    assert f"https://shop.example/orders/{ORDER}?token={token}" in guest
    assert "token=" not in text(Addressee("user@example.com", "Ada"))
