"""The emails of checkout as rendered: amounts to the cent, escaping, links, which status mails."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from uuid import UUID, uuid4

import pytest

from schemas.events.orders import (
    FulfilmentRecorded,
    OrderCancelled,
    OrderConfirmed,
    OrderLine,
    Totals,
)
from schemas.events.payments import ReceiptIssued
from schemas.messages import Event
from schemas.money import Money
from streams.emails import EMAILS, compose, email_for, money

ISSUED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FRONTEND = "https://shop.example"
ORDER_ID = UUID("6f1c2b9e-3d4a-4c5b-8e7f-0a1b2c3d4e5f")
USER_ID = uuid4()
ORDER_LINK = f"{FRONTEND}/orders/{ORDER_ID}"
TRICKY = '<b>Tea</b> & "Co"'

LINES = [
    OrderLine(product_id=uuid4(), sku="TEA-1", name=TRICKY, unit_price=Money(amount=1234),
              quantity=2, line_total=Money(amount=2468)),
    OrderLine(product_id=uuid4(), sku="MUG-1", name="Mug", unit_price=Money(amount=999),
              quantity=1, line_total=Money(amount=999)),
]
# Prices include VAT (20 %): the tax is what the total contains.
TOTALS = Totals(subtotal=Money(amount=3467), shipping=Money(amount=490),
                tax=Money(amount=660), total=Money(amount=3957))
AMOUNTS = ["€24.68", "€9.99", "€34.67", "€4.90", "€6.60", "€39.57"]


def confirmed() -> OrderConfirmed:
    return OrderConfirmed(order_id=ORDER_ID, user_id=USER_ID, payment_id=uuid4(), lines=LINES,
                          totals=TOTALS, payment_method="card")


def cancelled(by: str = "payment") -> OrderCancelled:
    return OrderCancelled(order_id=ORDER_ID, user_id=USER_ID, cancelled_by=by,
                          reason="The card was declined.", product_ids=[LINES[0].product_id])


def receipt(card_last4: str | None = "4242", method: str = "card") -> ReceiptIssued:
    return ReceiptIssued(book="receipts-2026", receipt_number="2026-000042", payment_id=uuid4(),
                         order_id=ORDER_ID, user_id=USER_ID, lines=LINES, totals=TOTALS,
                         payment_method=method, card_last4=card_last4)


def fulfilment(status: str) -> FulfilmentRecorded:
    return FulfilmentRecorded(order_id=ORDER_ID, user_id=USER_ID, status=status,
                              carrier="DHL" if status != "packed" else None,
                              tracking_number="JD014600003SE" if status != "packed" else None)


EVENTS = [confirmed(), cancelled(), receipt(), fulfilment("shipped"),
          fulfilment("out_for_delivery"), fulfilment("delivered")]


def render(event: Event, name: str = "Ada Lovelace") -> EmailMessage:
    email = email_for(event.type_name(), event.model_dump(mode="json"))
    assert email is not None
    return compose(email, event_id=uuid4(), sender="shopstream <no-reply@shop.example>",
                   to="ada@example.com", name=name, frontend_url=FRONTEND, event=event,
                   issued_at=ISSUED)


def parts(message: EmailMessage) -> tuple[str, str]:
    return (message.get_body(("plain",)).get_content(),
            message.get_body(("html",)).get_content())


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: f"{e.type_name()}")
def test_every_order_email_renders_both_parts_with_the_order_link(event: Event) -> None:
    message = render(event)
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    text, html = parts(message)
    for body in (text, html):
        assert "Hello Ada Lovelace," in body
        assert "None" not in body  # an absent optional field is left out, not printed
    assert f"See your order: {ORDER_LINK}" in text or f"Follow your order: {ORDER_LINK}" in text
    assert f'href="{ORDER_LINK}"' in html


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: f"{e.type_name()}")
def test_names_are_escaped_in_html_and_plain_in_text(event: Event) -> None:
    text, html = parts(render(event, name='<script>alert("x")</script>'))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<script>alert("x")</script>' in text
    if isinstance(event, OrderConfirmed | ReceiptIssued):
        assert "&lt;b&gt;Tea&lt;/b&gt; &amp; &#34;Co&#34;" in html and "<b>Tea" not in html
        assert f"2 × {TRICKY}: €24.68" in text


def test_the_confirmation_shows_each_line_and_the_totals_to_the_cent() -> None:
    message = render(confirmed())
    assert message["Subject"] == "Your order is confirmed"
    text, html = parts(message)
    assert "1 × Mug: €9.99" in text
    for said in ("Subtotal: €34.67", "Shipping: €4.90", "Total: €39.57",
                 "VAT included: €6.60"):
        assert said in text
    for amount in AMOUNTS:
        assert amount in html


@pytest.mark.parametrize(("by", "cart_kept"), [("payment", True), ("stock", True),
                                              ("voucher", True), ("customer", False),
                                              ("admin", False)])
def test_a_cancellation_gives_the_reason_and_says_when_the_cart_kept_the_items(
        by: str, cart_kept: bool) -> None:
    message = render(cancelled(by))
    assert message["Subject"] == "Your order was cancelled"
    text, html = parts(message)
    for body in (text, html):
        assert "The card was declined." in body
        assert ("Your cart still holds the items" in body) is cart_kept
    assert (f"{FRONTEND}/cart" in text) is cart_kept


def test_the_receipt_has_its_number_date_amounts_and_the_card() -> None:
    message = render(receipt())
    assert message["Subject"] == "Your receipt 2026-000042"
    text, html = parts(message)
    for body in (text, html):
        assert "Receipt 2026-000042" in body
        assert "1 March 2026" in body
        assert "Payment: Card ending in 4242" in body
        for amount in AMOUNTS:
            assert amount in body


def test_a_receipt_without_a_card_names_the_method_only() -> None:
    for body in parts(render(receipt(card_last4=None, method="bank_transfer"))):
        assert "Payment: Bank transfer" in body and "ending in" not in body


@pytest.mark.parametrize(("status", "subject", "said"), [
    ("shipped", "Your order is on its way", "is on its way"),
    ("out_for_delivery", "Your order is out for delivery", "is out for delivery"),
    ("delivered", "Your order was delivered", "was delivered"),
])
def test_each_step_of_delivery_has_its_email(status: str, subject: str, said: str) -> None:
    message = render(fulfilment(status))
    assert message["Subject"] == subject
    for body in parts(message):
        assert f"Your order {ORDER_ID} {said}" in body
        assert ("JD014600003SE" in body and "DHL" in body) is (status != "delivered")


def test_packing_sends_nothing() -> None:
    assert email_for("FulfilmentRecorded", fulfilment("packed").model_dump(mode="json")) is None
    assert email_for("OrderPlaced", {}) is None


def test_the_tests_render_every_email_of_the_table() -> None:
    # Templates fail on a missing variable (StrictUndefined), so rendering each is the check.
    rendered = {email_for(e.type_name(), e.model_dump(mode="json")) for e in EVENTS}
    users_emails = {EMAILS[t] for t in ("UserRegistered", "EmailVerificationRequested",
                                        "PasswordResetRequested")}  # test_email_templates.py
    return_emails = {e for e in EMAILS.values()
                     if e.template.startswith("return_")}  # test_return_emails.py
    assert set(EMAILS.values()) - rendered == users_emails | return_emails


@pytest.mark.parametrize(("amount", "currency", "said"), [
    (1234, "EUR", "€12.34"), (5, "EUR", "€0.05"), (0, "EUR", "€0.00"), (100, "EUR", "€1.00"),
    (123456789, "EUR", "€1,234,567.89"), (1999, "USD", "$19.99"), (1050, "GBP", "£10.50"),
    (995, "CHF", "CHF 9.95"), (1500, "JPY", "JPY 1,500"), (12345, "KWD", "KWD 12.345"),
])
def test_money(amount: int, currency: str, said: str) -> None:
    assert money(Money(amount=amount, currency=currency)) == said


def test_the_confirmation_and_receipt_show_the_voucher_discount_and_the_method() -> None:
    from schemas.events.orders import ShippingMethod, VoucherTerms

    voucher = VoucherTerms(code="SPRING10", kind="percentage", value=10)
    method = ShippingMethod(code="express", name="Express <fast>", price=Money(amount=1290))
    totals = Totals(subtotal=Money(amount=3467), discount=Money(amount=347),
                    shipping=Money(amount=1290), tax=Money(amount=735),
                    total=Money(amount=4410))
    for event in (confirmed().model_copy(update={"totals": totals, "voucher": voucher,
                                                 "shipping_method": method}),
                  receipt().model_copy(update={"totals": totals, "voucher": voucher,
                                               "shipping_method": method})):
        text, html = parts(render(event))
        assert "Discount (voucher SPRING10): -€3.47" in text
        assert "Shipping (Express <fast>): €12.90" in text
        assert "Total: €44.10" in text and "VAT included: €7.35" in text
        assert "Express &lt;fast&gt;" in html and "-€3.47" in html
