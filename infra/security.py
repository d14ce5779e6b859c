"""Access tokens (JWT signed with Ed25519, with `kid`), lookup keys."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
import unicodedata
import uuid
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from infra.settings import Settings

def normalise_email(email: str) -> str:
    return unicodedata.normalize("NFKC", email).strip().lower()


def email_key(settings: Settings, email: str) -> str:
    """A keyed hash of the normalised address: usable as a Kafka key, reveals nothing."""
    secret = base64.b64decode(settings.email_index_key.get_secret_value())
    return hmac.new(secret, normalise_email(email).encode(), hashlib.sha256).hexdigest()


def identity_key(settings: Settings, provider: str, subject: str) -> str:
    """A keyed hash of an identity provider's subject: what the events and read model hold."""
    secret = base64.b64decode(settings.email_index_key.get_secret_value())
    return hmac.new(secret, f"identity:{provider}:{subject}".encode(),
                    hashlib.sha256).hexdigest()


def link_token(settings: Settings, purpose: str, user_id: uuid.UUID,
               request_id: uuid.UUID) -> str:
    """The token of an emailed link: the user id, then 256 bits only this server can make.

    Derived, not stored: the sender of the email makes it again from the request id,
    and the events keep only `token_hash(token)`.
    """
    secret = base64.b64decode(settings.link_token_key.get_secret_value())
    mac = hmac.new(secret, f"{purpose}:{request_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(user_id.bytes + mac).decode().rstrip("=")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_user(token: str) -> uuid.UUID | None:
    """The user a link token is for, or None if it is not shaped like one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except ValueError:
        return None
    return uuid.UUID(bytes=raw[:16]) if len(raw) == 48 else None


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    roles: tuple[str, ...]
    session_id: str | None
    token_id: str
    expires_at: int


class TokenSigner:
    ALGORITHM = "EdDSA"
    AUDIENCE = "shopstream"

    def __init__(self, settings: Settings) -> None:
        keys = [Ed25519PrivateKey.from_private_bytes(base64.b64decode(k))
                for k in settings.jwt_signing_keys.get_secret_value().split(",") if k.strip()]
        if not keys:
            raise ValueError("SHOPSTREAM_JWT_SIGNING_KEYS is empty")
        self._signing = keys[0]
        self._public = {self._kid(k): k.public_key() for k in keys}
        self._ttl = settings.access_token_ttl_s
        self._issuer = settings.public_url

    @staticmethod
    def _kid(key: Ed25519PrivateKey) -> str:
        raw = key.public_key().public_bytes(serialization.Encoding.Raw,
                                            serialization.PublicFormat.Raw)
        return hashlib.sha256(raw).hexdigest()[:16]

    @property
    def ttl_s(self) -> int:
        return self._ttl

    def issue(self, user_id: str, roles: list[str], session_id: str | None = None) -> str:
        now = int(time.time())
        claims = {"sub": user_id, "roles": roles, "iat": now, "exp": now + self._ttl,
                  "iss": self._issuer, "aud": self.AUDIENCE, "jti": str(uuid.uuid4())}
        if session_id:
            claims["sid"] = session_id
        return jwt.encode(claims, self._signing, algorithm=self.ALGORITHM,
                          headers={"kid": self._kid(self._signing)})

    def verify(self, token: str) -> AccessClaims | None:
        """The token's claims if its signature, issuer, audience and expiry hold."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._public.get(kid)
            if key is None:
                return None
            claims = jwt.decode(token, key, algorithms=[self.ALGORITHM], audience=self.AUDIENCE,
                                issuer=self._issuer, options={"require": ["exp", "sub", "jti"]})
        except jwt.PyJWTError:
            return None
        return AccessClaims(user_id=claims["sub"], roles=tuple(claims.get("roles", ())),
                            session_id=claims.get("sid"), token_id=claims["jti"],
                            expires_at=claims["exp"])
