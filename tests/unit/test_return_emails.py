"""The emails of a return as rendered: each step has one, with the lines and amounts to
the cent, the reason of a rejection, and a refund cut down says so."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from schemas.events.returns import (
    ReturnApproved,
    ReturnLine,
    ReturnRefunded,
    ReturnRejected,
    ReturnRequested,
)
from schemas.messages import Event
from schemas.money import Money
from streams.emails import EMAILS
from tests.unit.test_order_emails import ORDER_ID, ORDER_LINK, TRICKY, USER_ID, parts, render

RETURN_ID = UUID("0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9")
IDS = {"order_id": ORDER_ID, "user_id": USER_ID, "return_id": RETURN_ID}
LINES = [ReturnLine(item_id=uuid4(), product_id=uuid4(), sku="TEA-1", name=TRICKY, quantity=2,
                    refund=Money(amount=2221)),
         ReturnLine(item_id=uuid4(), product_id=uuid4(), sku="MUG-1", name="Mug", quantity=1,
                    refund=Money(amount=899))]


def requested() -> ReturnRequested:
    return ReturnRequested(**IDS, lines=LINES, reason="Too small", refund=Money(amount=3120))


def refunded(amount: int = 3120, note: str | None = None) -> ReturnRefunded:
    return ReturnRefunded(**IDS, amount=Money(amount=amount), requested=Money(amount=3120),
                          refund_reference="re_1", note=note)


EVENTS = [requested(), ReturnApproved(**IDS),
          ReturnRejected(**IDS, reason='Worn <twice> & "washed"'), refunded()]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.type_name())
def test_every_return_email_renders_both_parts_with_the_order_link(event: Event) -> None:
    text, html = parts(render(event))
    for body in (text, html):
        assert "Hello Ada Lovelace," in body and "None" not in body
    assert ORDER_LINK in text and f'href="{ORDER_LINK}"' in html


def test_the_request_lists_each_line_s_refund_and_the_total_without_shipping() -> None:
    text, html = parts(render(requested()))
    assert f"2 × {TRICKY}: €22.21" in text and "1 × Mug: €8.99" in text
    assert "Refund once we receive them: €31.20 (shipping is not refunded)" in text
    assert "&lt;b&gt;Tea&lt;/b&gt;" in html and "<b>Tea" not in html


def test_a_rejection_gives_its_reason_escaped_in_html() -> None:
    text, html = parts(render(EVENTS[2]))
    assert 'Why: Worn <twice> & "washed"' in text
    assert "Worn &lt;twice&gt; &amp; &#34;washed&#34;" in html


def test_the_refund_says_the_amount_and_a_cut_down_one_says_why() -> None:
    text, _ = parts(render(refunded()))
    assert "refunded €31.20 to your payment" in text
    text, _ = parts(render(refunded(1000, "Nothing more of the payment was left.")))
    assert "refunded €10.00" in text
    assert "Nothing more of the payment was left. (the return's share was €31.20)" in text


def test_each_step_of_a_return_has_its_subject() -> None:
    subjects = {type(e).__name__: render(e)["Subject"] for e in EVENTS}
    assert subjects == {"ReturnRequested": "We have your return request",
                        "ReturnApproved": "Your return is approved",
                        "ReturnRejected": "Your return was not accepted",
                        "ReturnRefunded": "Your return was received and refunded"}
    assert {e.template for e in EMAILS.values() if e.template.startswith("return_")} == {
        "return_requested", "return_approved", "return_rejected", "return_refunded"}
