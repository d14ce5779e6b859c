"""Dependencies shared by the routers, as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from infra.bootstrap import Clients
from infra.settings import Settings


def _clients(request: Request) -> Clients:
    return request.app.state.clients


def _settings(request: Request) -> Settings:
    return request.app.state.settings


ClientsDep = Annotated[Clients, Depends(_clients)]
SettingsDep = Annotated[Settings, Depends(_settings)]
