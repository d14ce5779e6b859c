"""Replaying the orders model gives the same orders (discount, voucher, shipping method),
vouchers, zones and voucher usage as before."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from infra.clients import Clients
from tests.e2e.test_checkout import ENDED, fill_cart, order_when, receipt_of
from tests.e2e.test_vouchers_shipping import apply, check_out, create_voucher
from tests.support import make_product, replay_equals_live, shopper


async def test_replaying_orders_keeps_discounts_methods_and_voucher_usage(
        gateway: httpx.AsyncClient, admin: dict, category: dict, clients: Clients) -> None:
    vase = await make_product(gateway, admin, category, "Replayed vase", 2750, 10)
    code = f"REPLAY{uuid.uuid4().hex[:8].upper()}"
    await create_voucher(gateway, admin, code=code, kind="percentage", value=15, usage_limit=1)
    buyers = await asyncio.gather(shopper(gateway, "replay-a"), shopper(gateway, "replay-b"))
    for _, headers in buyers:
        await fill_cart(gateway, headers, (vase, 2))
        assert (await apply(gateway, headers, code)).status_code == 200
    placed = await asyncio.gather(*(check_out(gateway, headers, method="express")
                                    for _, headers in buyers))
    orders = await asyncio.gather(*(order_when(gateway, headers, response.json()["order_id"],
                                               ENDED)
                                    for (_, headers), response in zip(buyers, placed)))
    assert sorted(order["status"] for order in orders) == ["cancelled", "confirmed"]
    winner = next(i for i, order in enumerate(orders) if order["status"] == "confirmed")
    await receipt_of(gateway, buyers[winner][1], orders[winner]["id"])

    async def shown() -> tuple:
        voucher = (await gateway.get(f"/v1/admin/vouchers/{code}", headers=admin)).json()
        views = [(await gateway.get(f"/v1/orders/{order['id']}", headers=headers)).json()
                 for (_, headers), order in zip(buyers, orders)]
        return voucher, [{key: view[key] for key in (
            "status", "subtotal", "discount", "voucher", "shipping", "shipping_method", "tax",
            "total", "cancelled_by", "cancel_reason")} for view in views]

    before = await shown()
    assert before[0]["used"] == 1
    assert before[1][winner]["discount"]["amount"] == round(2 * 2750 * 0.15)

    rebuilt = await replay_equals_live(clients, "orders")

    assert any(key.startswith(f"vouchers:{code}") for key in rebuilt)
    assert await shown() == before
