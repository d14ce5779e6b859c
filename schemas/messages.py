"""The base classes of every event and command, and the registries that name them.

An event is a past-tense fact (`ProductCreated`); a command is an imperative
request (`CreateProduct`). Each class registers itself under its class name, so
a type found on the wire maps to exactly one class.
"""

from __future__ import annotations

from typing import Any, ClassVar
from pydantic import BaseModel, ConfigDict


class Message(BaseModel):
    # Tolerant readers: a consumer not yet upgraded ignores fields added after it was built.
    model_config = ConfigDict(frozen=True, extra="ignore")

    schema_version: ClassVar[int] = 1
    registry: ClassVar[dict[str, type[Message]]]

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__


class Event(Message):
    """A fact about one aggregate. Its envelope says which one and in what order."""

    registry: ClassVar[dict[str, type[Event]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__name__.startswith("_"):  # a shared base, not a message of its own
            return
        if cls.__name__ in Event.registry:
            raise TypeError(f"two events named {cls.__name__}")
        Event.registry[cls.__name__] = cls


class Command(Message):
    """A request to change one aggregate, addressed by `aggregate_key`."""

    registry: ClassVar[dict[str, type[Command]]] = {}
    service: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.__name__.startswith("_"):  # a shared base, not a message of its own
            return
        if cls.__name__ in Command.registry:
            raise TypeError(f"two commands named {cls.__name__}")
        Command.registry[cls.__name__] = cls

    @property
    def aggregate_key(self) -> str:
        raise NotImplementedError


def event_class(type_name: str) -> type[Event]:
    try:
        return Event.registry[type_name]
    except KeyError:
        raise ValueError(f"unknown event type {type_name!r}") from None


def command_class(type_name: str) -> type[Command]:
    try:
        return Command.registry[type_name]
    except KeyError:
        raise ValueError(f"unknown command type {type_name!r}") from None
