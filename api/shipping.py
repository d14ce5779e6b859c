"""Shipping: admins create zones of countries with their methods; anyone lists the
methods that serve a country.

The zones are one aggregate (`commands/shipping.py`), so a country already served by
another zone is refused (409) by its single writer. Checkout takes a method from here
(`api/checkout.py`).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from api import reads
from api.commands import command_id, derived_id, execute
from api.consistency import ReadYourWrites
from api.deps import Admin, BusDep, IdempotencyKey, OrdersViewDep, Seen
from projections.orders_views import OrdersView, ShippingZoneRow
from schemas.commands.shipping import CreateShippingZone
from schemas.events.shipping import EstimatedDays
from schemas.money import Money, Price
from schemas.values import Country, Name

router = APIRouter(tags=["shipping"])

MethodCode = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True,
                                              min_length=1, max_length=32,
                                              pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]


class NewMethod(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: MethodCode
    name: Name
    price: Price
    free_over: Annotated[Price | None, Field(description=(
        "Free from this subtotal (after the discount)."))] = None
    estimated_days: EstimatedDays


class NewZone(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    countries: Annotated[list[Country], Field(min_length=1, max_length=250,
                                              description="ISO 3166-1 alpha-2 codes")]
    methods: Annotated[list[NewMethod], Field(min_length=1, max_length=20)]

    @model_validator(mode="after")
    def _unique(self) -> NewZone:
        if len(set(self.countries)) != len(self.countries):
            raise ValueError("each country may be named once")
        codes = [method.code for method in self.methods]
        if len(set(codes)) != len(codes):
            raise ValueError("each method code may appear once")
        return self


class Method(BaseModel):
    code: str
    name: str
    price: Money
    free_over: Money | None = None
    estimated_days: EstimatedDays


class Zone(BaseModel):
    id: uuid.UUID
    name: str
    countries: list[str]
    methods: list[Method]


class Methods(BaseModel):
    items: list[Method]


def _zone(row: ShippingZoneRow) -> Zone:
    return Zone(id=row["id"], name=row["name"], countries=row["countries"],
                methods=row["methods"])


async def methods_for(orders: OrdersView, seen: ReadYourWrites, country: str
                      ) -> list[dict[str, Any]]:
    """The methods serving `country`, cheapest first; 422 when no zone serves it."""
    zone = await reads.zone_serving(orders, seen, country)
    if zone is None:
        raise HTTPException(422, f"No shipping zone serves the country {country}: the shop "
                                 "does not ship there.")
    return sorted(zone["methods"], key=lambda method: method["price"]["amount"])


@router.get("/v1/shipping-methods", response_model=Methods,
            responses={422: {"description": "No zone serves the country"}})
async def shipping_methods(orders: OrdersViewDep, seen: Seen,
                           country: Annotated[Country, Query(
                               description="ISO 3166-1 alpha-2")]) -> Methods:
    """How the shop ships to a country: each method's price, free-from threshold and
    estimated days, cheapest first."""
    return Methods(items=await methods_for(orders, seen, country))


@router.post("/v1/admin/shipping-zones", status_code=201, response_model=Zone,
             responses={409: {"description": "A country is served by another zone"}})
async def create_zone(form: NewZone, admin: Admin, bus: BusDep, seen: Seen,
                      idempotency_key: IdempotencyKey = None) -> Zone:
    """Create a zone of countries and the methods that ship there."""
    command = command_id(f"POST /v1/admin/shipping-zones\n{admin.user_id}", idempotency_key)
    zone = Zone(id=derived_id(command, "zone"), **form.model_dump())
    await execute(bus, CreateShippingZone(zone_id=zone.id, **form.model_dump()),
                  actor=admin.user_id, seen=seen, command_id=command)
    return zone


@router.get("/v1/admin/shipping-zones", response_model=list[Zone])
async def list_zones(admin: Admin, orders: OrdersViewDep, seen: Seen) -> list[Zone]:
    """Every shipping zone, oldest first."""
    await seen.wait(orders)
    return [_zone(row) for row in await orders.shipping_zones()]
