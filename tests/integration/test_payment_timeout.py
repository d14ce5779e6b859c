"""The saga's clock fails a payment whose deadline passed before its money arrived."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from infra.clients import Clients
from infra.command_bus import CommandBus
from projections.orders_views import OrdersView
from schemas.commands.payments import RequestPayment
from schemas.money import Money
from streams.checkout_saga import TIMED_OUT
from tests.support import eventually


async def test_a_bank_transfer_not_paid_by_its_deadline_fails_with_the_timeout(
        clients: Clients) -> None:
    payment_id, order_id = uuid.uuid4(), uuid.uuid4()
    bus = CommandBus(clients)
    try:
        # Requested with a deadline already gone, as if the transfer had waited for days:
        # the sandbox bank would pay it two seconds later, too late.
        reply = await bus.send(RequestPayment(
            payment_id=payment_id, order_id=order_id, user_id=uuid.uuid4(),
            amount=Money(amount=4200, currency="EUR"), method="bank_transfer",
            expires_at=datetime.now(UTC) - timedelta(seconds=1)),
            actor="test", command_id=uuid.uuid4(), correlation_id=order_id)
    finally:
        await bus.close()
    assert reply.status == "accepted"
    payments = OrdersView(clients.mysql_reads)

    async def failed():
        payment = await payments.payment(str(payment_id))
        return payment if payment and payment["status"] == "failed" else None

    payment = await eventually(failed, timeout_s=30)
    assert payment["failure_reason"] == TIMED_OUT
