"""The shipping configuration's write model: every zone, and which zone serves a country.

One aggregate holds all zones, so a country is served by one zone at most, decided
by one writer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import singledispatch
from uuid import UUID

from pyrsistent import PMap, pmap

from commands import pricing
from commands.decisions import Rejected
from schemas.commands.shipping import CreateShippingZone
from schemas.events.shipping import ShippingZoneCreated
from schemas.messages import Command, Event

COMMANDS = (CreateShippingZone,)
EVENTS = (ShippingZoneCreated,)


@dataclass(frozen=True)
class ShippingZones:
    names: PMap[UUID, str] = field(default_factory=pmap)
    # country -> the zone serving it
    served: PMap[str, UUID] = field(default_factory=pmap)


State = ShippingZones | None


def decide(state: State, command: Command) -> list[Event]:
    return _decide(command, state or ShippingZones())


def evolve(state: State, event: Event) -> State:
    return _evolve(event, state or ShippingZones())


@singledispatch
def _decide(command: Command, zones: ShippingZones) -> list[Event]:
    raise TypeError(f"the shipping zones do not handle {type(command).__name__}")


@_decide.register
def _(command: CreateShippingZone, zones: ShippingZones) -> list[Event]:
    if command.zone_id in zones.names:
        raise Rejected("zone_exists", f"The zone {command.zone_id} exists already.")
    if len(set(command.countries)) != len(command.countries):
        raise Rejected("duplicate_countries", "Each country may be named once.", "invalid")
    codes = [method.code for method in command.methods]
    if len(set(codes)) != len(codes):
        raise Rejected("duplicate_methods", "Each method code may appear once in a zone.",
                       "invalid")
    pricing.require_shop_currency(*(money for method in command.methods
                                    for money in (method.price, method.free_over)))
    taken = [f"{country} (zone {zones.names[zones.served[country]]})"
             for country in command.countries if country in zones.served]
    if taken:
        raise Rejected("country_served", "Already served by another zone: "
                                         + ", ".join(taken) + ".")
    return [ShippingZoneCreated(**command.model_dump())]


@singledispatch
def _evolve(event: Event, zones: ShippingZones) -> State:
    raise TypeError(f"the shipping zones do not apply {type(event).__name__}")


@_evolve.register
def _(event: ShippingZoneCreated, zones: ShippingZones) -> State:
    served = zones.served
    for country in event.countries:
        served = served.set(country, event.zone_id)
    return ShippingZones(names=zones.names.set(event.zone_id, event.name), served=served)
