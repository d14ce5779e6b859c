"""The admin routes the operator console reads, through the gateway: every customer's
orders with filters and pages, returns waiting for an admin, vouchers, and projections
with their lag and replays run by a worker; none of it for a customer or a stranger."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx

from tests.e2e.test_checkout import ENDED, fill_cart, order_when, placed
from tests.e2e.test_returns import ask_return, deliver
from tests.e2e.test_vouchers_shipping import create_voucher, unique_code
from tests.support import eventually, make_product, shopper, shopstream

ADMIN_READS = ["/v1/admin/orders", "/v1/admin/returns", "/v1/admin/vouchers",
               "/v1/admin/projections", f"/v1/admin/replays/{uuid.uuid4()}"]


async def confirmed_order(http: httpx.AsyncClient, admin: dict, category: dict,
                          price: int) -> tuple[str, dict, dict]:
    """A shopper's confirmed card order of one product at `price`: (email, headers, order)."""
    product = await make_product(http, admin, category, f"Console lamp {price}", price, 5)
    email, me = await shopper(http, "console")
    await fill_cart(http, me, (product, 1))
    order = await placed(http, me, "card", "tok_visa")
    assert order["status"] == "confirmed", order
    return email, me, order


async def test_admin_routes_are_401_without_a_token_and_403_for_a_customer(
        gateway: httpx.AsyncClient) -> None:
    _, customer = await shopper(gateway, "nosy")
    for path in ADMIN_READS:
        assert (await gateway.get(path)).status_code == 401, path
        answer = await gateway.get(path, headers=customer)
        assert answer.status_code == 403, (path, answer.text)
        assert "items" not in answer.json()
    for path in ("/v1/admin/projections/orders/replays",):
        assert (await gateway.post(path)).status_code == 401
        assert (await gateway.post(path, headers=customer)).status_code == 403


async def test_every_customers_orders_are_listed_filtered_and_paged(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    started = datetime.now(UTC) - timedelta(seconds=1)
    price = 70_000 + uuid.uuid4().int % 10_000  # a total no other test's order has
    _, me, order = await confirmed_order(gateway, admin, category, price)
    _, _, other = await confirmed_order(gateway, admin, category, price + 1)
    total = order["total"]["amount"]

    async def listed(**filters) -> dict:
        answer = await gateway.get("/v1/admin/orders", headers=admin, params=filters)
        assert answer.status_code == 200, answer.text
        return answer.json()

    by_prefix = await listed(id_prefix=order["id"][:8].upper())
    assert order["id"] in [item["id"] for item in by_prefix["items"]]
    found = next(item for item in by_prefix["items"] if item["id"] == order["id"])
    assert found["status"] == "confirmed" and found["total"]["amount"] == total
    assert found["guest"] is False and found["payment_method"] == "card"
    assert "email" not in found and "shipping_address" not in found

    exact = await listed(min_total=total, max_total=total,
                         since=started.isoformat())
    assert [item["id"] for item in exact["items"]] == [order["id"]]
    assert (await listed(min_total=total, max_total=total, status="cancelled"))["items"] == []
    assert (await listed(min_total=total, max_total=total,
                         until=started.isoformat()))["items"] == []

    # Pages of one: the cursor walks both orders, newest first, and only with its filters.
    both = {"min_total": total, "max_total": total + 1, "limit": 1}
    first = await listed(**both)
    second = await listed(**both, cursor=first["next_cursor"])
    assert [first["items"][0]["id"], second["items"][0]["id"]][1] == order["id"]
    assert second["next_cursor"] is None
    mixed = await gateway.get("/v1/admin/orders", headers=admin,
                              params={"status": "cancelled", "cursor": first["next_cursor"]})
    assert mixed.status_code == 422
    assert (await gateway.get("/v1/admin/orders", headers=admin,
                              params={"id_prefix": "'; drop"})).status_code == 422


async def test_a_returns_list_shows_what_waits_for_an_admin(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    _, me, order = await confirmed_order(gateway, admin, category, 2_500)
    await deliver(gateway, admin, order["id"])
    await order_when(gateway, me, order["id"], ("delivered",))
    asked = await ask_return(gateway, me, order["id"], [(order["items"][0]["product_id"], 1)])
    assert asked.status_code == 201, asked.text
    return_id = asked.json()["id"]

    async def waiting(status: str) -> list[str]:
        answer = await gateway.get("/v1/admin/returns", headers=admin,
                                   params={"status": status, "limit": 100})
        assert answer.status_code == 200, answer.text
        return [item["id"] for item in answer.json()["items"]]

    assert return_id in await waiting("requested")
    approved = await gateway.post(f"/v1/admin/returns/{return_id}/approve", headers=admin)
    assert approved.status_code == 202, approved.text
    assert return_id in await waiting("approved")
    assert return_id not in await waiting("requested")


async def test_vouchers_are_listed_newest_first_with_their_use(
        gateway: httpx.AsyncClient, admin: dict) -> None:
    codes = [unique_code("list").upper() for _ in range(2)]
    for code in codes:
        await create_voucher(gateway, admin, code=code, kind="percentage", value=5)
    answer = await gateway.get("/v1/admin/vouchers", headers=admin, params={"limit": 1})
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert [item["code"] for item in page["items"]] == [codes[1]]
    assert page["items"][0]["used"] == 0 and page["next_cursor"]
    following = await gateway.get("/v1/admin/vouchers", headers=admin,
                                  params={"limit": 1, "cursor": page["next_cursor"]})
    assert [item["code"] for item in following.json()["items"]] == [codes[0]]


def cli_projections() -> dict[str, tuple[int, int]]:
    """`shopstream projections` as (offsets, lag) per projection."""
    rows = {}
    for line in shopstream("projections").stdout.splitlines():
        cells = [cell.strip() for cell in re.split(r"[│|]", line) if cell.strip()]
        if len(cells) == 5 and cells[2].replace(",", "").isdigit():
            rows[cells[0]] = (int(cells[2].replace(",", "")), int(cells[4].replace(",", "")))
    return rows


async def test_projections_show_the_same_positions_as_the_command(
        gateway: httpx.AsyncClient, admin: dict) -> None:
    async def agree():
        answer = await gateway.get("/v1/admin/projections", headers=admin)
        assert answer.status_code == 200, answer.text
        shown = {item["name"]: (item["offsets"], item["lag"]) for item in answer.json()["items"]}
        return shown if shown == cli_projections() else None

    shown = await eventually(agree, timeout_s=120, interval_s=1)
    assert set(shown) == {"users", "catalog", "catalog-search", "carts", "orders", "audit"}
    assert all(offsets > 0 and lag >= 0 for offsets, lag in shown.values())


async def test_a_replay_is_run_by_a_worker_once_at_a_time_while_the_model_serves(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    _, me, order = await confirmed_order(gateway, admin, category, 3_100)
    asked = await gateway.post("/v1/admin/projections/orders/replays", headers=admin)
    assert asked.status_code == 202, asked.text
    replay = asked.json()
    assert replay["state"] in ("requested", "running")
    assert asked.headers["Location"] == f"/v1/admin/replays/{replay['id']}"

    again = await gateway.post("/v1/admin/projections/orders/replays", headers=admin)
    if again.status_code == 409:  # the first is still under way (it may already be done)
        assert replay["id"] in again.json()["detail"]
    else:
        assert again.status_code == 202
        replay = again.json()
    assert (await gateway.post("/v1/admin/projections/nothing/replays",
                               headers=admin)).status_code == 404

    seen = []

    async def finished():
        # The live model serves the shopper's order while the replay runs.
        assert (await gateway.get(f"/v1/orders/{order['id']}", headers=me)).status_code == 200
        answer = await gateway.get(f"/v1/admin/replays/{replay['id']}", headers=admin)
        assert answer.status_code == 200, answer.text
        seen.append(answer.json())
        return answer.json() if answer.json()["state"] in ("done", "failed") else None

    ended = await eventually(finished, timeout_s=300, interval_s=0.5)
    assert ended["state"] == "done", ended
    assert ended["total"] > 0 and ended["done"] == ended["total"]
    assert ended["events_per_s"] > 0 and ended["finished_at"]
    assert (await order_when(gateway, me, order["id"], ENDED))["id"] == order["id"]
    listed = await gateway.get("/v1/admin/projections", headers=admin)
    orders = next(p for p in listed.json()["items"] if p["name"] == "orders")
    assert orders["replay"]["id"] == replay["id"]
    assert (await gateway.get(f"/v1/admin/replays/{uuid.uuid4()}",
                              headers=admin)).status_code == 404
