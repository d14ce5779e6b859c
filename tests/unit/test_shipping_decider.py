"""The shipping zones' single writer: a country is served by one zone at most."""

from __future__ import annotations

from uuid import UUID

from schemas.commands.shipping import SHIPPING_ZONES, CreateShippingZone
from schemas.events.orders import ShippingMethod
from schemas.events.shipping import EstimatedDays, ZoneMethod
from schemas.money import Money
from tests.unit.checkout import Processor, events

STANDARD = ZoneMethod(code="standard", name="Standard", price=Money(amount=490),
                      free_over=Money(amount=5000), estimated_days=EstimatedDays(min=2, max=5))
EXPRESS = ZoneMethod(code="express", name="Express", price=Money(amount=1290),
                     estimated_days=EstimatedDays(min=1, max=2))


def zone(n: int, *countries: str, methods=(STANDARD, EXPRESS)) -> CreateShippingZone:
    return CreateShippingZone(zone_id=UUID(int=n), name=f"Zone {n}", countries=list(countries),
                              methods=list(methods))


def test_zones_serve_their_countries_and_a_country_served_twice_is_a_conflict():
    zones = Processor(SHIPPING_ZONES)
    (created,) = events(zones.send(zone(1, "DE", "FR")))
    assert created.countries == ["DE", "FR"] and created.methods == [STANDARD, EXPRESS]
    assert zones.send(zone(2, "GB")).reply.ok

    refused = zones.send(zone(3, "US", "FR"))

    assert (refused.reply.reason, refused.reply.kind) == ("country_served", "conflict")
    assert "FR (zone Zone 1)" in refused.reply.detail
    assert dict(zones.state.served) == {"DE": UUID(int=1), "FR": UUID(int=1),
                                        "GB": UUID(int=2)}


def test_a_zone_id_is_created_once_and_its_methods_and_countries_are_unique():
    zones = Processor(SHIPPING_ZONES)
    zones.send(zone(1, "DE"))

    assert zones.send(zone(1, "AT")).reply.reason == "zone_exists"
    assert zones.send(zone(2, "AT", "AT")).reply.reason == "duplicate_countries"
    assert zones.send(zone(3, "AT", methods=(STANDARD, STANDARD))).reply.reason == (
        "duplicate_methods")


def test_a_zone_method_gives_the_terms_an_order_takes():
    assert STANDARD.terms() == ShippingMethod(code="standard", name="Standard",
                                              price=Money(amount=490),
                                              free_over=Money(amount=5000))
