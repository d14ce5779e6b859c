"""Facts of the shop's shipping configuration: zones of countries and their methods.

The whole configuration is one aggregate of the orders service (key
`shipping-zones`), so that "a country is served by one zone" is decided by one writer.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.events.catalog import Name
from schemas.events.orders import ShippingMethod
from schemas.messages import Event

CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2")]
Days = Annotated[int, Field(ge=0, le=365)]


class EstimatedDays(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    min: Days
    max: Days

    @model_validator(mode="after")
    def _ordered(self) -> EstimatedDays:
        if self.max < self.min:
            raise ValueError("max must not be below min")
        return self


class ZoneMethod(ShippingMethod):
    """A method as a zone offers it: the order's terms and how long it takes."""

    estimated_days: EstimatedDays

    def terms(self) -> ShippingMethod:
        return ShippingMethod(**self.model_dump(exclude={"estimated_days"}))


class ShippingZoneCreated(Event):
    zone_id: UUID
    name: Name
    countries: Annotated[list[CountryCode], Field(min_length=1, max_length=250)]
    methods: Annotated[list[ZoneMethod], Field(min_length=1, max_length=20)]
