"""Everything one process talks to: the stores' clients and every adapter, in one object.

`ops/bootstrap.py` builds it, once per process, and hands it to the API and to the
worker roles; a test hands in its own payment providers or mailer through the same
function. Closing it closes all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from infra.clients import Clients
from infra.command_bus import CommandBus
from infra.mail import Mailer
from infra.payments.provider import PaymentProvider
from infra.security import TokenSigner
from infra.sessions import SessionStore
from infra.settings import Settings


@dataclass
class Container:
    clients: Clients
    bus: CommandBus
    signer: TokenSigner
    sessions: SessionStore
    mailer: Mailer
    # By payment method type: card, bank_transfer, wallet, cash_on_delivery.
    payments: Mapping[str, PaymentProvider]
    http: httpx.AsyncClient  # outbound calls: payment providers, identity providers

    @property
    def settings(self) -> Settings:
        return self.clients.settings

    async def close(self) -> None:
        await self.bus.close()
        await self.http.aclose()
        await self.clients.close()
