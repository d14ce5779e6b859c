"""Every aggregate a checkout leaves behind (the customer, her cart, the products, the
order, the payment and the receipt book) survives a snapshot, and the snapshot carries
her personal data only sealed, as the events do."""

from __future__ import annotations

from commands.snapshots import decode_aggregate, encode_aggregate
from tests.inprocess.shop import ADA, a_shop, checkout


async def test_a_checkouts_aggregates_come_back_equal_from_their_snapshots():
    shop = await a_shop()
    await checkout(shop, "card", token="tok_visa")
    services = {service for service, _ in shop.aggregates}
    assert {"users", "cart", "catalog", "orders", "payments"} <= services

    for aggregate in shop.aggregates.values():
        record = encode_aggregate(aggregate)
        assert decode_aggregate(record) == aggregate
        for plain in (*ADA, "tok_visa"):
            assert plain.encode() not in record
