"""The topology table (`streams/system.py`): every command topic has its one processor,
every read model of `projections.registry` is run, and each role keeps its guarantee."""

from __future__ import annotations

from projections.registry import NAMES
from schemas.topics import ORDERS, SERVICES
from streams import checkout_saga, emails
from streams.system import ROLES, SYSTEM, Decide, Deliver, Mail, Project, React, subscribers


def test_every_commands_topic_is_read_by_its_services_processor_alone():
    for service, topics in SERVICES.items():
        (processor,) = subscribers(topics.commands.name)
        assert isinstance(processor, Decide)
        assert processor.service == service


def test_every_read_model_runs_in_the_projections_role():
    projected = [s.handler.projection for s in SYSTEM["projections"].subscriptions
                 if isinstance(s.handler, Project)]
    assert projected == list(NAMES)


def test_an_orders_event_reaches_the_saga_the_emails_and_the_read_models_of_orders():
    handlers = subscribers(ORDERS.events.name)

    assert React(checkout_saga.react) in handlers
    assert [h for h in handlers if isinstance(h, Mail)] == [
        Mail(emails.email_for, "the users read model")]
    assert {h.projection for h in handlers if isinstance(h, Project)} == {
        "orders", "audit", "webhooks"}


def test_only_the_command_processors_write_exactly_once():
    assert ROLES == ("commands", "projections", "notifications", "sagas", "webhooks")
    assert {role: SYSTEM[role].guarantee for role in ROLES} == {
        "commands": "exactly_once", "projections": "at_least_once",
        "notifications": "at_least_once", "sagas": "at_least_once",
        "webhooks": "at_least_once"}


def test_the_webhooks_role_dispatches_every_event_and_sends_what_it_recorded():
    handlers = [s.handler for s in SYSTEM["webhooks"].subscriptions]
    assert Project("webhooks") in handlers
    assert Deliver() in handlers
    assert set(SYSTEM["webhooks"].subscriptions[0].topics) == {
        t.events.name for t in SERVICES.values()}
