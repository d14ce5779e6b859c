"""Guest tokens: the cart token and the order token of a shopper without an account.

Neither is stored or logged in the clear. A guest cart's id is a keyed hash of its
token, so finding the cart needs no comparison at all, and a wrong token simply
names an empty cart. An order token is a keyed hash of the order id: the
notification sender makes it again for the confirmation email, while the order
keeps only its hash, checked in constant time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from uuid import UUID

from infra.settings import Settings

# Header names, as the API contract spells them.
CART_TOKEN = "X-Cart-Token"
ORDER_TOKEN = "X-Order-Token"


def new_cart_token() -> str:
    """A fresh cart token: 256 random bits."""
    return secrets.token_urlsafe(32)


def _mac(settings: Settings, purpose: str, value: str) -> bytes:
    key = base64.b64decode(settings.guest_token_key.get_secret_value())
    if len(key) < 32:
        raise ValueError("SHOPSTREAM_GUEST_TOKEN_KEY must be base64 of at least 32 bytes")
    return hmac.new(key, f"{purpose}:{value}".encode(), hashlib.sha256).digest()


def guest_cart_id(settings: Settings, cart_token: str) -> UUID:
    """The id of the guest cart a token opens: a keyed hash, so a token (right or wrong)
    names exactly one cart and nobody without the key can tell a cart's token."""
    return UUID(bytes=_mac(settings, "guest-cart", cart_token)[:16], version=4)


def guest_id(order_id: UUID) -> UUID:
    """The guest who placed `order_id`: the order's owner and the subject of its sealed
    personal data, so forgetting the guest shreds that order's data alone."""
    return uuid.uuid5(order_id, "guest")


def order_token(settings: Settings, order_id: UUID) -> str:
    """An order's token: 256 bits only this server can make for that order."""
    return base64.urlsafe_b64encode(_mac(settings, "order-token", str(order_id))
                                    ).decode().rstrip("=")


def token_hash(token: str) -> str:
    """What the order keeps of its token."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str | None, stored_hash: str | None) -> bool:
    """Whether `token` is the one `stored_hash` was made from (constant time)."""
    if not token or not stored_hash:
        return False
    return hmac.compare_digest(token_hash(token).encode(), stored_hash.encode())
