"""Requests to the shipping configuration (orders service): one aggregate for all zones."""

from __future__ import annotations

from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field

from schemas.events.catalog import Name
from schemas.events.shipping import CountryCode, ZoneMethod
from schemas.messages import Command

# The one aggregate that holds every zone.
SHIPPING_ZONES = "shipping-zones"


class CreateShippingZone(Command):
    service: ClassVar[str] = "orders"

    zone_id: UUID
    name: Name
    countries: Annotated[list[CountryCode], Field(min_length=1, max_length=250)]
    methods: Annotated[list[ZoneMethod], Field(min_length=1, max_length=20)]

    @property
    def aggregate_key(self) -> str:
        return SHIPPING_ZONES
