"""A webhook subscription's write model: created once, replayed while it lives, deleted
for good. The URL and event types were checked by the API (their rules need DNS and
the settings); the decider keeps the lifecycle."""

from __future__ import annotations

from dataclasses import dataclass
from functools import singledispatch

from commands.decisions import Rejected
from schemas.commands.webhooks import DeleteWebhook, ReplayWebhook, SubscribeWebhook
from schemas.events.webhooks import WebhookDeleted, WebhookReplayRequested, WebhookSubscribed
from schemas.messages import Command, Event

COMMANDS = (SubscribeWebhook, DeleteWebhook, ReplayWebhook)
EVENTS = (WebhookSubscribed, WebhookDeleted, WebhookReplayRequested)


@dataclass(frozen=True)
class Subscription:
    deleted: bool = False


State = Subscription | None


def decide(state: State, command: Command) -> list[Event]:
    return _decide(command, state)


def evolve(state: State, event: Event) -> State:
    return _evolve(event, state)


def _live(state: State, command: Command) -> Subscription:
    if state is None or state.deleted:
        raise Rejected("unknown_webhook", f"There is no webhook {command.subscription_id}.",
                       "not_found")
    return state


@singledispatch
def _decide(command: Command, state: State) -> list[Event]:
    raise TypeError(f"a webhook does not handle {type(command).__name__}")


@_decide.register
def _(command: SubscribeWebhook, state: State) -> list[Event]:
    if state is not None:
        raise Rejected("webhook_exists", f"The webhook {command.subscription_id} exists.")
    return [WebhookSubscribed(**command.model_dump())]


@_decide.register
def _(command: DeleteWebhook, state: State) -> list[Event]:
    _live(state, command)
    return [WebhookDeleted(subscription_id=command.subscription_id)]


@_decide.register
def _(command: ReplayWebhook, state: State) -> list[Event]:
    _live(state, command)
    return [WebhookReplayRequested(**command.model_dump())]


@singledispatch
def _evolve(event: Event, state: State) -> State:
    raise TypeError(f"a webhook does not apply {type(event).__name__}")


@_evolve.register
def _(event: WebhookSubscribed, state: State) -> State:
    return Subscription()


@_evolve.register
def _(event: WebhookDeleted, state: State) -> State:
    return Subscription(deleted=True)


@_evolve.register
def _(event: WebhookReplayRequested, state: State) -> State:
    return state
