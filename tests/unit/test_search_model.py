"""The search model's pure parts: documents from events, queries, cursors, the demo catalog."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.exceptions import RequestValidationError
from hypothesis import given
from hypothesis import strategies as st

from api import cursors
from ops import seed
from schemas.records import Record
from infra.dependencies import DependencyUnavailable
from projections.search import (
    check_bulk,
    add_categories,
    changed_document,
    created_document,
    with_category,
)
from projections.search_queries import ProductQuery, completions, page, search_body
from schemas.envelope import EventEnvelope
from schemas.events.catalog import (
    CategoryCreated,
    Option,
    ProductChanged,
    ProductCreated,
    Variant,
)
from schemas.money import Money


def category(name: str, parent: str | None = None) -> CategoryCreated:
    return CategoryCreated(category_id=uuid.uuid5(uuid.NAMESPACE_URL, name), slug=name,
                           name=name.title(),
                           parent_id=uuid.uuid5(uuid.NAMESPACE_URL, parent) if parent else None)


# Root <- Audio <- Headphones <- Studio, and Root <- Shoes.
TREE = [category("root"), category("audio", "root"), category("headphones", "audio"),
        category("studio", "headphones"), category("shoes", "root")]


def place(batches: list[list[CategoryCreated]]) -> dict[str, dict]:
    """Apply batches of creations as the projection does; the resulting index."""
    index: dict[str, dict] = {}
    for batch in batches:
        written, _ = add_categories(index, [(event, 1) for event in batch])
        index |= written
    return index


@pytest.mark.parametrize("order", list(itertools.permutations(range(len(TREE)))))
def test_category_chains_are_the_same_in_whatever_order_categories_arrive(order) -> None:
    one_by_one = place([[TREE[i]] for i in order])
    all_at_once = place([[TREE[i] for i in order]])

    assert one_by_one == all_at_once == place([TREE])
    studio = one_by_one[str(TREE[3].category_id)]
    assert studio["ancestor_slugs"] == ["studio", "headphones", "audio", "root"]
    assert studio["pending_parent_id"] is None


def test_a_category_waits_for_the_first_ancestor_it_has_not_seen() -> None:
    index = place([[TREE[3]], [TREE[1]]])  # studio and audio, not headphones nor root

    studio = index[str(TREE[3].category_id)]
    assert studio["ancestor_slugs"] == ["studio"]
    assert studio["pending_parent_id"] == str(TREE[2].category_id)
    assert index[str(TREE[1].category_id)]["pending_parent_id"] == str(TREE[0].category_id)


def test_a_category_seen_before_is_not_written_again_but_still_completes_its_products() -> None:
    index = place([TREE])

    written, arrived = add_categories(index, [(TREE[2], 1)])

    assert written == {}
    headphones = str(TREE[2].category_id)
    assert arrived == {headphones: index[headphones]}


def record(event, version: int, at: datetime) -> Record:
    envelope = EventEnvelope(
        event_id=uuid.uuid4(), type=type(event).__name__, schema_version=1,
        aggregate_id=str(getattr(event, "product_id")), aggregate_version=version,
        occurred_at=at, correlation_id=uuid.uuid4(), causation_id=uuid.uuid4(), actor=None,
        payload=event.model_dump(mode="json"))
    return Record("catalog.events", 0, version, envelope)


def test_a_product_document_gets_its_category_and_keeps_it_through_changes() -> None:
    created = ProductCreated(product_id=uuid.uuid4(), sku="S-1", name="Studio Headphones",
                             slug="studio-headphones", category_id=TREE[2].category_id,
                             price=Money(amount=9900), specifications={"Driver": "40 mm"})
    at = datetime(2026, 1, 1, tzinfo=UTC)
    document = created_document(created, record(created, 1, at))
    assert document["category_slug"] is None

    document = with_category(document, place([TREE])[str(TREE[2].category_id)])
    change = ProductChanged(product_id=created.product_id, name="Studio Headphones II",
                            price=Money(amount=8900))
    changed = changed_document(document, change, record(change, 2, at))

    assert (changed["category_slug"], changed["category_name"]) == ("headphones", "Headphones")
    assert (changed["name"], changed["price_amount"], changed["version"]) == (
        "Studio Headphones II", 8900, 2)
    assert changed["suggest"][0]["input"] == ["Studio Headphones II"]
    assert changed["suggest"][1]["input"] == ["Headphones II", "II"]


def test_a_product_document_holds_the_option_values_its_variants_have() -> None:
    product_id = uuid.uuid4()
    shirt = ProductCreated(
        product_id=product_id, sku="TEE", name="Tee", slug="tee", category_id=uuid.uuid4(),
        price=Money(amount=1500), stock=5,
        options=[Option(name="Size", values=["S", "M", "L"]),
                 Option(name="Colour", values=["Red", "Blue"])],
        variants=[Variant(id=uuid.uuid4(), sku=f"TEE-{size}-{colour}",
                          options={"Size": size, "Colour": colour}, price=Money(amount=1500),
                          stock=1)
                  for size, colour in (("S", "Red"), ("L", "Red"), ("L", "Blue"))])

    document = created_document(shirt, record(shirt, 1, datetime(2026, 1, 1, tzinfo=UTC)))

    # M is an option value no variant has: nothing to find it by.
    assert document["options"] == ["Size:S", "Size:L", "Colour:Red", "Colour:Blue"]
    assert document["options_text"] == "S L Red Blue"


def test_option_filters_all_hold_and_option_facets_are_grouped_by_name() -> None:
    body = search_body(ProductQuery(options=("Colour:Red", "Size:M"), facets=True))
    assert body["query"]["bool"]["filter"] == [{"term": {"options": "Colour:Red"}},
                                               {"term": {"options": "Size:M"}}]

    response = {"hits": {"hits": [], "total": {"value": 3}}, "aggregations": {
        "category": {"buckets": []}, "price": {"buckets": []},
        "options": {"buckets": [{"key": "Colour:Red", "doc_count": 2},
                                {"key": "Size:M", "doc_count": 3},
                                {"key": "Size:XL", "doc_count": 1},
                                {"key": "Fit:Slim:Tall", "doc_count": 1}]}}}
    facets = page(response, ProductQuery(facets=True)).facets

    assert facets["options"] == {"Colour": [{"value": "Red", "count": 2}],
                                 "Size": [{"value": "M", "count": 3},
                                          {"value": "XL", "count": 1}],
                                 "Fit": [{"value": "Slim:Tall", "count": 1}]}


def test_a_search_filters_by_subtree_and_price_and_continues_after_the_cursor() -> None:
    body = search_body(ProductQuery(text="wireles headphnes", category_ids=("a", "b"),
                                    min_price=1000, max_price=None, sort="price_asc", limit=5,
                                    after=(1999, "id-9"), facets=True, suggestion=True))

    assert body["query"]["bool"]["filter"] == [{"terms": {"category_id": ["a", "b"]}},
                                               {"range": {"price_amount": {"gte": 1000}}}]
    assert body["sort"] == [{"price_amount": "asc"}, {"id": "asc"}]
    assert body["search_after"] == [1999, "id-9"]
    assert body["size"] == 6
    assert set(body["aggs"]) == {"category", "price", "options"}
    assert body["suggest"]["did_you_mean"]["text"] == "wireles headphnes"


def test_a_listing_without_words_matches_everything_and_asks_for_no_facets() -> None:
    body = search_body(ProductQuery(category_ids=("a",), sort="newest"))

    assert body["query"]["bool"]["must"] == []
    assert "aggs" not in body and "suggest" not in body


def hit(n: int) -> dict:
    return {"_source": {"id": f"p{n}"}, "sort": [n, f"p{n}"]}


def test_a_page_has_a_next_cursor_only_when_more_products_follow() -> None:
    query = ProductQuery(limit=2)
    full = {"hits": {"total": {"value": 3}, "hits": [hit(1), hit(2), hit(3)]}}
    last = {"hits": {"total": {"value": 2}, "hits": [hit(1), hit(2)]}}

    assert page(full, query).next_after == [2, "p2"]
    assert [i["id"] for i in page(full, query).items] == ["p1", "p2"]
    assert page(last, query).next_after is None


def test_a_suggestion_is_offered_only_when_it_differs_from_the_query() -> None:
    def answer(text: str) -> dict:
        return {"hits": {"total": {"value": 0}, "hits": []},
                "suggest": {"did_you_mean": [{"options": [{"text": text}]}]}}

    query = ProductQuery(text="Wireless  headphones", suggestion=True)
    assert page(answer("wireless headphones"), query).suggestion is None
    assert page(answer("wireless headphones"),
                ProductQuery(text="wireles headphones")).suggestion == "wireless headphones"


def test_completions_are_distinct_names_at_most_the_size_asked() -> None:
    names = ["Aurora Headphones", "aurora headphones", "Aurora Speaker", "Beacon Headphones"]
    response = {"suggest": {"names": [{"options": [{"_source": {"name": n}} for n in names]}]}}

    assert completions(response, 2) == ["Aurora Headphones", "Aurora Speaker"]


@given(st.lists(st.one_of(st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                          st.text()), min_size=1, max_size=4))
def test_a_cursor_gives_back_what_it_holds_for_the_same_query(after) -> None:
    fingerprint = cursors.fingerprint("search", "tea", None)

    assert cursors.decode(cursors.encode(after, fingerprint), fingerprint) == tuple(after)


@pytest.mark.parametrize("cursor", ["", "not base64!", "e30", cursors.encode([1], "other")])
def test_a_foreign_or_broken_cursor_is_refused(cursor) -> None:
    with pytest.raises(RequestValidationError):
        cursors.decode(cursor, cursors.fingerprint("search", "tea"))


def test_the_demo_catalog_is_the_same_whatever_count_is_asked() -> None:
    tree = seed.categories()
    homes = seed._with_products(tree)

    first = [seed.product(i, homes, tree) for i in range(50)]

    assert first == [seed.product(i, homes, tree) for i in range(50)]
    assert len({c.slug for c in tree}) == len(tree)
    assert len({command.product_id for _, command in first}) == 50
    for _, command in first:
        assert command.price.amount > 0 and command.images
        assert all(image.url.startswith("https://") for image in command.images)
        assert command.specifications and command.description


def test_a_cut_tree_puts_products_in_the_categories_it_keeps() -> None:
    tree = seed.categories(12)
    homes = seed._with_products(tree)

    kept = {c.category_id for c in tree}
    assert all(seed.product(i, homes, seed.categories())[1].category_id in kept
               for i in range(50))


def _failed(status: int, kind: str) -> dict:
    return {"index": {"_id": str(uuid.uuid4()), "status": status, "error": {"type": kind}}}


def test_a_bulk_write_refused_as_stale_is_no_failure() -> None:
    check_bulk("products", [_failed(409, "version_conflict_engine_exception")])


def test_a_bulk_write_a_recovering_shard_could_not_take_is_an_outage_not_a_bug() -> None:
    with pytest.raises(DependencyUnavailable, match="unavailable_shards_exception"):
        check_bulk("products", [_failed(409, "version_conflict_engine_exception"),
                                _failed(503, "unavailable_shards_exception"),
                                _failed(429, "es_rejected_execution_exception")])


def test_a_bulk_write_refused_for_its_document_is_a_bug() -> None:
    with pytest.raises(RuntimeError, match="strict_dynamic_mapping_exception"):
        check_bulk("products", [_failed(503, "unavailable_shards_exception"),
                                _failed(400, "strict_dynamic_mapping_exception")])
