"""Dependencies shared by the routers, as `Annotated` aliases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.consistency import ReadYourWrites
from infra import guest_tokens
from infra.clients import Clients
from infra.command_bus import CommandBus
from infra.oidc import OidcClient, PendingSignIns
from infra.rate_limits import RateLimiter
from infra.security import AccessClaims, TokenSigner
from infra.sessions import SessionLookup, SessionStore
from infra.settings import Settings
from projections.audit_views import AuditView
from projections.carts_views import CartsView
from projections.catalog_views import CatalogView
from projections.orders_views import OrdersView
from projections.webhooks_views import WebhooksView
from projections.search_views import SearchView
from projections.users_views import UsersView


def _state(*path: str) -> Callable[[Request], Awaitable[object]]:
    """The dependency that hands a route what the app's lifespan put on its state
    (`api/app.py`): a client, an adapter, or one of the read views. (Async, though it
    awaits nothing: FastAPI runs a plain function in a worker thread.)"""
    async def found(request: Request) -> object:
        value = request.app.state
        for name in path:
            value = getattr(value, name)
        return value

    return found


ClientsDep = Annotated[Clients, Depends(_state("clients"))]
SettingsDep = Annotated[Settings, Depends(_state("settings"))]
BusDep = Annotated[CommandBus, Depends(_state("bus"))]
SignerDep = Annotated[TokenSigner, Depends(_state("signer"))]
SessionsDep = Annotated[SessionStore, Depends(_state("sessions"))]
UsersViewDep = Annotated[UsersView, Depends(_state("views", "users"))]
CatalogViewDep = Annotated[CatalogView, Depends(_state("views", "catalog"))]
SearchViewDep = Annotated[SearchView, Depends(_state("views", "search"))]
CartsViewDep = Annotated[CartsView, Depends(_state("views", "carts"))]
OrdersViewDep = Annotated[OrdersView, Depends(_state("views", "orders"))]
AuditViewDep = Annotated[AuditView, Depends(_state("views", "audit"))]
WebhooksViewDep = Annotated[WebhooksView, Depends(_state("views", "webhooks"))]
LimitsDep = Annotated[RateLimiter, Depends(_state("limits"))]
OidcDep = Annotated[OidcClient, Depends(_state("oidc"))]
PendingSignInsDep = Annotated[PendingSignIns, Depends(_state("sign_ins"))]

IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", max_length=200,
    description="Makes a retried write safe: a repeat returns the first result.")]
ConsistencyToken = Annotated[str | None, Header(
    alias="X-Consistency-Token", max_length=4000,
    description="A write's token: this read waits until it shows that write.")]


@dataclass(frozen=True)
class Principal:
    user_id: str
    roles: tuple[str, ...]
    session_id: str | None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


_bearer = HTTPBearer(auto_error=False)
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


async def _claims(
    signer: SignerDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AccessClaims | None:
    """The access token's claims if it is valid (checked once per request)."""
    return signer.verify(credentials.credentials) if credentials is not None else None


ClaimsDep = Annotated[AccessClaims | None, Depends(_claims)]


async def _session(sessions: SessionsDep, claims: ClaimsDep) -> SessionLookup | None:
    """The access token's session, read once per request: whether it is still active (for
    the principal) and where its writes landed (for read-your-writes)."""
    if claims is None or claims.session_id is None:
        return None
    return await sessions.look_up(claims.session_id, claims.user_id)


SessionDep = Annotated[SessionLookup | None, Depends(_session)]


async def _principal(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    claims: ClaimsDep, session: SessionDep,
) -> Principal:
    if credentials is None:
        raise HTTPException(401, "Authentication is required.", headers=_UNAUTHORIZED)
    if claims is None:
        raise HTTPException(401, "The access token is invalid or expired.",
                            headers=_UNAUTHORIZED)
    if session is None or not session.active:
        raise HTTPException(401, "The session has ended.", headers=_UNAUTHORIZED)
    return Principal(claims.user_id, claims.roles, claims.session_id)


async def _admin(principal: Annotated[Principal, Depends(_principal)]) -> Principal:
    if not principal.is_admin:
        raise HTTPException(403, "This needs the admin role.")
    return principal


CurrentUser = Annotated[Principal, Depends(_principal)]
Admin = Annotated[Principal, Depends(_admin)]


async def _maybe_principal(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    claims: ClaimsDep, session: SessionDep,
) -> Principal | None:
    """The signed-in user, None without Authorization; a bad token is still 401."""
    if credentials is None:
        return None
    return await _principal(credentials, claims, session)


# Routes open to guests: the signed-in user, or None.
MaybeUser = Annotated[Principal | None, Depends(_maybe_principal)]

CartTokenHeader = Annotated[str | None, Header(
    alias=guest_tokens.CART_TOKEN, max_length=200,
    description="A guest's cart token, as the guest's first cart write answered it.")]
OrderTokenHeader = Annotated[str | None, Header(
    alias=guest_tokens.ORDER_TOKEN, max_length=200,
    description="A guest's order token, as the checkout answered it.")]


@dataclass(frozen=True)
class Shopper:
    """Whose cart a request works on: the signed-in user's (its id is theirs), or a guest's,
    whose id is a keyed hash of the cart token (`infra.guest_tokens`)."""

    cart_id: str
    user: Principal | None

    @property
    def actor(self) -> str:
        return self.user.user_id if self.user else "guest"


def _shopper(opens_cart: bool) -> Callable[..., Awaitable[Shopper]]:
    async def shopper(request: Request, response: Response, settings: SettingsDep,
                      user: MaybeUser, cart_token: CartTokenHeader = None) -> Shopper:
        if user is not None:
            return Shopper(user.user_id, user)
        if cart_token is None and opens_cart and request.method != "GET":
            # A guest's first cart write opens a cart: the token is told once, here.
            cart_token = guest_tokens.new_cart_token()
            response.headers[guest_tokens.CART_TOKEN] = cart_token
        # Without a token (or with a wrong one): a cart nobody has filled.
        return Shopper(str(guest_tokens.guest_cart_id(
            settings, cart_token or guest_tokens.new_cart_token())), None)

    return shopper


# The signed-in user, or a guest by the cart token; a cart route's first write without a
# token gives the guest one.
CurrentShopper = Annotated[Shopper, Depends(_shopper(opens_cart=False))]
CartShopper = Annotated[Shopper, Depends(_shopper(opens_cart=True))]


async def _read_your_writes(request: Request, response: Response, sessions: SessionsDep,
                            claims: ClaimsDep, session: SessionDep,
                            token: ConsistencyToken = None) -> ReadYourWrites:
    state = request.app.state
    return ReadYourWrites(progress=state.progress, ends=state.log_ends, sessions=sessions,
                          session_id=claims.session_id if claims else None,
                          session_writes=session.writes if session else [], token=token,
                          response=response, wait_s=state.settings.consistency_wait_s)


# The request's reads show the caller's acknowledged writes (api/consistency.py).
Seen = Annotated[ReadYourWrites, Depends(_read_your_writes)]
