"""Search right after a write, with the write's consistency token, shows the write."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import httpx
import pytest

from infra.clients import Clients
from infra.dependencies import DependencyUnavailable
from schemas.records import Record
from projections.search import SearchProjection, category_document
from projections.search_views import SearchView
from schemas.envelope import EventEnvelope
from schemas.events.catalog import CategoryCreated, ProductChanged, ProductCreated
from schemas.money import Money
from schemas.topics import CATALOG
from tests.e2e.test_shopping import made_up_word


async def test_a_search_with_the_token_of_a_change_sees_the_new_name_and_price(
        gateway: httpx.AsyncClient, admin: dict) -> None:
    old, new = made_up_word(), made_up_word()
    home = await gateway.post("/v1/admin/categories", headers=admin,
                              json={"name": f"Lamps {made_up_word()}"})
    created = await gateway.post("/v1/admin/products", headers=admin | {
        "X-Consistency-Token": home.headers["X-Consistency-Token"]}, json={
        "sku": f"LAMP-{uuid.uuid4().hex[:8]}", "name": f"{old} desk lamp",
        "category_id": home.json()["id"], "price": {"amount": 4900, "currency": "EUR"},
        "stock": 3})
    assert created.status_code == 201, created.text
    product_id = created.json()["id"]
    at_once = await gateway.get("/v1/search", params={"q": old}, headers={
        "X-Consistency-Token": created.headers["X-Consistency-Token"]})
    assert [p["id"] for p in at_once.json()["items"]] == [product_id]

    changed = await gateway.patch(f"/v1/admin/products/{product_id}", headers=admin,
                                  json={"name": f"{new} desk lamp",
                                        "price": {"amount": 3900, "currency": "EUR"}})
    assert changed.status_code == 200, changed.text
    token = {"X-Consistency-Token": changed.headers["X-Consistency-Token"]}
    by_new_name = await gateway.get("/v1/search", params={"q": new}, headers=token)
    by_old_name = await gateway.get("/v1/search", params={"q": old}, headers=token)
    cheap = await gateway.get("/v1/search", params={"q": new, "max_price": 3900}, headers=token)
    listed = await gateway.get(f"/v1/categories/{home.json()['slug']}/products", headers=token)
    completed = await gateway.get("/v1/search/suggest", params={"q": new[:5]}, headers=token)

    assert [(p["id"], p["name"], p["price"]["amount"]) for p in by_new_name.json()["items"]] == [
        (product_id, f"{new} desk lamp", 3900)]
    assert by_old_name.json()["total"] == 0
    assert cheap.json()["total"] == 1
    assert [p["name"] for p in listed.json()["items"]] == [f"{new} desk lamp"]
    assert completed.json()["suggestions"] == [f"{new} desk lamp"]


def record(event, aggregate_id, version: int = 1) -> Record:
    envelope = EventEnvelope(
        event_id=uuid.uuid4(), type=type(event).__name__, schema_version=1,
        aggregate_id=str(aggregate_id), aggregate_version=version,
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC), correlation_id=uuid.uuid4(),
        causation_id=uuid.uuid4(), actor=None, payload=event.model_dump(mode="json"))
    return Record(CATALOG.events.name, 0, 0, envelope)


async def test_products_and_subcategories_indexed_before_their_category_are_completed(
        clients: Clients) -> None:
    """Partitions are read in any order: the search model ends up the same."""
    parent = CategoryCreated(category_id=uuid.uuid4(), slug="audio", name="Audio")
    child = CategoryCreated(category_id=uuid.uuid4(), slug="headphones", name="Headphones",
                            parent_id=parent.category_id)
    product = ProductCreated(product_id=uuid.uuid4(), sku="P-1", name="Quiet headphones",
                             slug="quiet-headphones", category_id=child.category_id,
                             price=Money(amount=9900))
    change = ProductChanged(product_id=product.product_id, price=Money(amount=8900))
    records = {"product": record(product, product.product_id),
               "change": record(change, product.product_id, 2),
               "child": record(child, child.category_id),
               "parent": record(parent, parent.category_id)}
    snapshots = []
    # Within a partition order holds (the change follows the product); across, anything goes.
    for order in (["parent", "child", "product", "change"], ["product", "child", "change"],
                  ["child", "product", "parent", "change"]):
        async with _fresh_model(clients) as model:
            for name in order:
                await model.apply([records[name]])
            if "parent" not in order:
                await model.apply([records["parent"], records["change"]])
            snapshots.append(await model.snapshot())
            view = SearchView(clients.elasticsearch, model.index, model.categories_index)
            assert {c["id"] for c in await view.subtree("audio")} == {
                str(parent.category_id), str(child.category_id)}

    assert snapshots[0] == snapshots[1] == snapshots[2]
    document = snapshots[0][str(product.product_id)]
    assert (document["category_slug"], document["category_name"], document["price_amount"]) == (
        "headphones", "Headphones", 8900)
    assert snapshots[0][f"category:{child.category_id}"]["ancestor_slugs"] == [
        "headphones", "audio"]


async def test_a_batch_applied_again_after_a_failure_completes_the_products_of_its_category(
        clients: Clients) -> None:
    """A batch that failed after writing its category (Elasticsearch went away before the
    waiting products were completed) is applied again from the last commit: the products
    indexed before that category still get its name."""
    category, product = _category_with_a_product("Kettles")
    async with _fresh_model(clients) as model:
        await model.apply([record(product, product.product_id)])
        # What the failed attempt wrote before it stopped: the category alone.
        await clients.elasticsearch.index(
            index=model.categories_index, id=str(category.category_id), refresh=True,
            document=category_document(category, 1, None))

        await model.apply([record(category, category.category_id)])

        document = (await model.snapshot())[str(product.product_id)]
        assert (document["category_slug"], document["category_name"]) == ("kettles", "Kettles")


async def test_a_product_waits_while_its_category_cannot_be_read(clients: Clients) -> None:
    """Right after Elasticsearch restarts, a shard still recovering answers an error per
    document. Taken for "no such category", the product would be indexed without its
    category for good; instead the batch fails, to be applied again."""
    category, product = _category_with_a_product("Lamps")
    async with _fresh_model(clients) as model:
        await model.apply([record(category, category.category_id)])
        # The categories index, its one shard unassigned: as while it recovers.
        await clients.elasticsearch.indices.delete(index=model.categories_index)
        await clients.elasticsearch.indices.create(
            index=model.categories_index, wait_for_active_shards="0",
            settings={"number_of_shards": 1, "number_of_replicas": 0,
                      "index.routing.allocation.require._name": "no-such-node"})

        with pytest.raises(DependencyUnavailable, match="no_shard_available"):
            await model.apply([record(product, product.product_id)])

        assert not await clients.elasticsearch.exists(index=model.index,
                                                      id=str(product.product_id))


def _category_with_a_product(name: str) -> tuple[CategoryCreated, ProductCreated]:
    category = CategoryCreated(category_id=uuid.uuid4(), slug=name.lower(), name=name)
    return category, ProductCreated(
        product_id=uuid.uuid4(), sku=f"{name[:3].upper()}-1", name=f"A {name.lower()[:-1]}",
        slug=f"a-{name.lower()[:-1]}", category_id=category.category_id,
        price=Money(amount=2500))


@asynccontextmanager
async def _fresh_model(clients: Clients) -> AsyncIterator[SearchProjection]:
    """A search model of its own, in indices of their own, dropped afterwards."""
    model = SearchProjection(clients.elasticsearch).shadow(f"test-{uuid.uuid4().hex[:8]}")
    await model.setup()
    try:
        yield model
    finally:
        await model.drop()
