"""Replaying the orders model gives the same returns, refunds and payments as before."""

from __future__ import annotations

import httpx

from infra.clients import Clients
from projections.registry import build_projections
from tests.e2e.test_checkout import payment_when
from tests.e2e.test_returns import ask_return, bought, deliver, return_when
from tests.integration.test_replay_and_audit import caught_up
from tests.support import eventually, shopstream


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

    projection = build_projections(clients)["orders"]
    await eventually(lambda: caught_up(clients, projection))
    before_rows, before_api = await projection.snapshot(), await shown()

    result = shopstream("replay", "orders")

    assert "replayed" in result.stdout
    after_rows = await projection.snapshot()
    assert after_rows == before_rows, "the orders model differs after the replay"
    assert {f"returns:{kept['id']}", f"returns:{refused['id']}"} <= set(after_rows)
    assert await shown() == before_api
