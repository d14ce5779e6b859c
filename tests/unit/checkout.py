"""A checkout as the tests build it: one order, its lines and its payment, personal data
sealed the tests' way, and a processor that decides one aggregate's commands through
`commands.handling.handle` (a whole shop is `streams.in_process.InProcess`). No I/O."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

from commands.handling import Aggregate, Decision, handle
from commands.orders import payment_id_for
from schemas.commands.orders import PlaceOrder
from schemas.commands.payments import RequestPayment
from schemas.envelope import CommandEnvelope
from schemas.events.orders import OrderLine
from schemas.messages import Command, Event
from schemas.money import Money

USER = UUID("00000000-0000-4000-8000-0000000a11ce")
ORDER = UUID("00000000-0000-4000-8000-00000000d001")
PAYMENT = payment_id_for(ORDER)
TEA = UUID("00000000-0000-4000-8000-00000000b001")
CUPS = UUID("00000000-0000-4000-8000-00000000b002")
KETTLE = UUID("00000000-0000-4000-8000-00000000b003")


def sealed(text: str) -> str:
    """Personal data as it travels, sealed the tests' way: only encoded, since a decider
    never opens it. `unseal` reads it back, where a worker asks the key store."""
    return "v1." + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


async def unseal(subject: str, value: str) -> str | None:
    data = value.removeprefix("v1.")
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode()


ADDRESS = sealed("address")
CARD_TOKEN = sealed("tok_visa")
ISSUED_AT = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
EXPIRES_AT = ISSUED_AT + timedelta(minutes=15)


# sku, name and price (VAT included) of the products the tests sell.
CATALOG = {TEA: ("TEA-001", "Green tea", 450), CUPS: ("CUP-002", "Two cups", 1200),
           KETTLE: ("KET-003", "Kettle", 3990)}


def lines(*quantities: tuple[UUID, int]) -> list[OrderLine]:
    """Order lines priced from CATALOG: `lines((TEA, 2))` is two green teas."""
    return [OrderLine.priced(product, *CATALOG[product], quantity)
            for product, quantity in quantities]


def place_order(*quantities: tuple[UUID, int], order_id: UUID = ORDER,
                method: str = "card") -> PlaceOrder:
    ordered = lines(*(quantities or ((TEA, 2), (CUPS, 1))))
    return PlaceOrder(order_id=order_id, user_id=USER, lines=ordered, shipping_address=ADDRESS,
                      payment_method=method,
                      payment_token=CARD_TOKEN if method in ("card", "wallet") else None)


# The default order: two teas and the cups, 21.00, plus 4.90 shipping.
TOTAL = 2590


def request_payment(method: str = "card", amount: int = TOTAL,
                    payment_id: UUID = PAYMENT) -> RequestPayment:
    return RequestPayment(payment_id=payment_id, order_id=ORDER, user_id=USER,
                          amount=Money(amount=amount), method=method,
                          token=CARD_TOKEN if method in ("card", "wallet") else None,
                          expires_at=EXPIRES_AT)


@dataclass
class Processor:
    """One aggregate, as its command processor holds it; each `send` is a new command id."""

    key: str
    aggregate: Aggregate = field(default_factory=Aggregate)
    sent: int = 0

    @property
    def state(self):
        return self.aggregate.state

    def send(self, command: Command) -> Decision:
        self.sent += 1
        envelope = CommandEnvelope.wrap(command, command_id=uuid.uuid5(UUID(int=0),
                                                                        f"{self.key} {self.sent}"),
                                        actor="user:test", issued_at=ISSUED_AT)
        decision = handle(self.aggregate, envelope, self.key)
        self.aggregate = decision.aggregate
        return decision


def events(decision: Decision) -> list[Event]:
    """The domain events a decision appended, read back from their envelopes."""
    return [envelope.event() for envelope in decision.events]


def types(decision: Decision) -> list[str]:
    return [envelope.type for envelope in decision.events]
