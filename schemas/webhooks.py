"""The webhook event types integrators subscribe to, and which of our events each is.

`WEBHOOK_TYPES` is the one table: our event type name -> the webhook type it is
delivered as (a function of the event's payload where one event makes two types).
An event type not in it is never delivered. Events are named by their type name, so
an entry may name an event another branch of the code has not merged yet.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Payload = Mapping[str, Any]
Mapper = str | Callable[[Payload], str | None]


def _fulfilment(payload: Payload) -> str | None:
    return {"shipped": "order.shipped", "delivered": "order.delivered"}.get(
        payload.get("status", ""))


WEBHOOK_TYPES: dict[str, Mapper] = {
    "OrderConfirmed": "order.confirmed",
    "OrderCancelled": "order.cancelled",
    "FulfilmentRecorded": _fulfilment,
    "PaymentCaptured": "payment.captured",
    "PaymentRefunded": "payment.refunded",
    "ProductChanged": "product.changed",
    "VariantChanged": "product.changed",
    "StockAdjusted": "stock.changed",
    "StockReserved": "stock.changed",
    "StockReleased": "stock.changed",
    "StockReturned": "stock.changed",
    "ReturnReceived": "return.received",
}

EVENT_TYPES: tuple[str, ...] = (
    "order.confirmed", "order.cancelled", "order.shipped", "order.delivered",
    "payment.captured", "payment.refunded", "return.received", "product.changed",
    "stock.changed")

# Webhook types whose data carries the shipping address, so a warehouse can ship.
WITH_ADDRESS: frozenset[str] = frozenset({"order.confirmed", "order.shipped"})

# Payload fields an integrator never gets: customer ids and sealed personal data.
WITHHELD: frozenset[str] = frozenset({"user_id", "payment_token", "token", "shipping_address",
                                      "guest_email", "order_token_hash", "cart_id"})


def webhook_type(event_type: str, payload: Payload) -> str | None:
    """The webhook type of one of our events, or None if none is delivered."""
    mapper = WEBHOOK_TYPES.get(event_type)
    if mapper is None or isinstance(mapper, str):
        return mapper
    return mapper(payload)


def webhook_data(payload: Payload, address: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a delivery's `data` carries: the event's payload without what is withheld,
    plus the shipping address when the type calls for it and it is still readable."""
    data = {key: value for key, value in payload.items() if key not in WITHHELD}
    if address is not None:
        data["shipping_address"] = dict(address)
    return data
