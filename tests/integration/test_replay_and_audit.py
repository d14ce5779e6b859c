"""Replaying rebuilds read models equal to the live ones; the audit trail matches Kafka."""

from __future__ import annotations

import asyncio
import sys
import uuid

import httpx
from sqlalchemy import delete, select

from infra.clients import Clients
from infra.settings import PROJECT_ROOT
from projections.audit import AuditProjection
from tests.support import make_product, replay_equals_live, shopstream


async def test_replay_rebuilds_mysql_rows_and_search_documents_equal_to_the_live_ones(
        gateway: httpx.AsyncClient, admin: dict, category: dict, clients: Clients) -> None:
    for n in range(5):
        response = await gateway.post(
            "/v1/admin/products", headers=admin | {"X-Consistency-Token": category["token"]},
            json={"sku": f"REPLAY-{n}-{uuid.uuid4().hex[:6]}", "name": f"Replayed lamp {n}",
                  "category_id": category["id"], "price": {"amount": 4500 + n, "currency": "EUR"},
                  "specifications": {"colour": "amber"}, "stock": n})
        assert response.status_code == 201
        await gateway.patch(f"/v1/admin/products/{response.json()['id']}", headers=admin,
                            json={"stock": n + 10})

    for name in ("catalog", "catalog-search", "users"):
        await replay_equals_live(clients, name)


async def test_audit_verify_passes_and_reports_a_row_deleted_by_hand(clients: Clients) -> None:
    projection = AuditProjection(clients.mysql)
    assert "the audit trail matches Kafka" in shopstream("audit", "verify").stdout

    table = projection.tables["audit_events"]
    async with clients.mysql.begin() as connection:
        row = (await connection.execute(
            select(table).order_by(table.c.occurred_at.desc()).limit(1))).one()
        await connection.execute(delete(table).where(
            table.c.topic == row.topic, table.c.partition == row.partition,
            table.c.offset == row.offset))

    tampered = shopstream("audit", "verify", check=False)

    assert tampered.returncode == 1
    assert f"{row.topic}[{row.partition}]@{row.offset}: missing from the audit trail" in (
        tampered.stdout.replace("\n", ""))
    shopstream("replay", "audit")
    assert shopstream("audit", "verify").returncode == 0


async def test_audit_verify_on_a_shop_that_keeps_taking_writes_finds_no_difference(
        gateway: httpx.AsyncClient, admin: dict, category: dict) -> None:
    product = await make_product(gateway, admin, category, "Busy lamp", 3900, 1)
    writing = True

    async def keep_writing() -> int:
        written = 0
        while writing:
            response = await gateway.patch(f"/v1/admin/products/{product['id']}",
                                           headers=admin, json={"stock": written % 50})
            assert response.status_code == 200, response.text
            written += 1
        return written

    writer = asyncio.create_task(keep_writing())
    try:
        verify = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ops.cli", "audit", "verify", cwd=PROJECT_ROOT,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        stdout, stderr = await verify.communicate()
    finally:
        writing = False
        written = await writer

    assert written > 5, "the shop took too few writes during the check to test anything"
    assert verify.returncode == 0, (stdout + stderr).decode()
    assert "the audit trail matches Kafka" in stdout.decode().replace("\n", "")
