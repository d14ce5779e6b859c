"""Replaying the orders model gives the same returns, refunds and payments as before."""

from __future__ import annotations

import httpx

from infra.clients import Clients
from tests.e2e.test_checkout import payment_when
from tests.e2e.test_returns import ask_return, bought, deliver, return_when
from tests.support import replay_equals_live


async def test_replaying_orders_keeps_returns_and_partial_refunds(
        gateway: httpx.AsyncClient, admin: dict, category: dict, clients: Clients) -> None:
    _, me, order, shirt, mug = await bought(gateway, admin, category, "Replayed")
    await deliver(gateway, admin, order["id"])
    kept = (await ask_return(gateway, me, order["id"], [(shirt["sizes"]["M"], 1)])).json()
    refused = (await ask_return(gateway, me, order["id"], [(mug["id"], 1)])).json()
    for path, body in ((f"{kept['id']}/approve", None), (f"{kept['id']}/receive", None),
                       (f"{refused['id']}/reject", {"reason": "Broken on purpose"})):
        response = await gateway.post(f"/v1/admin/returns/{path}", headers=admin, json=body)
        assert response.status_code == 202, response.text
    await return_when(gateway, me, order["id"], kept["id"], "refunded")
    await return_when(gateway, me, order["id"], refused["id"], "rejected")
    await payment_when(gateway, me, order, "partially_refunded")

    async def shown() -> tuple:
        view = (await gateway.get(f"/v1/orders/{order['id']}", headers=me)).json()
        payment = (await gateway.get(f"/v1/payments/{order['payment']['id']}",
                                     headers=me)).json()
        return view["returns"], payment["status"], payment["refunded_amount"]

    before = await shown()

    rebuilt = await replay_equals_live(clients, "orders")

    assert {f"returns:{kept['id']}", f"returns:{refused['id']}"} <= set(rebuilt)
    assert await shown() == before
