"""Stripe webhook signatures: `Stripe-Signature: t=<unix time>,v1=<hex>[,v1=...]`.

Each v1 is the HMAC-SHA256, keyed with the endpoint's signing secret, of
`"<t>.<raw body>"`. Several v1 entries appear while a secret is being rolled; any
one matching is enough. Old timestamps are refused so a captured request cannot be
replayed later.
"""

from __future__ import annotations

import hashlib
import hmac

DEFAULT_TOLERANCE_S = 300


class WebhookSignatureError(ValueError):
    """The request does not carry a valid, fresh signature: answer 400, do nothing."""


def compute_signature(payload: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode() + b"." + payload
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_header(payload: bytes, secret: str, timestamp: int) -> str:
    """The header Stripe would send for `payload` (for tests and local tools)."""
    return f"t={timestamp},v1={compute_signature(payload, secret, timestamp)}"


def verify_signature(payload: bytes, header: str | None, secret: str, *, now: float,
                     tolerance_s: float = DEFAULT_TOLERANCE_S) -> int:
    """Check `header` against the raw request body; return its timestamp or raise."""
    if not secret:
        raise WebhookSignatureError("no webhook secret is configured")
    if not header:
        raise WebhookSignatureError("missing Stripe-Signature header")
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            raise WebhookSignatureError("malformed Stripe-Signature header")
        if key == "t":
            if timestamp is not None or not value.isascii() or not value.isdigit():
                raise WebhookSignatureError("malformed timestamp in Stripe-Signature header")
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None:
        raise WebhookSignatureError("no timestamp in Stripe-Signature header")
    if not signatures:
        raise WebhookSignatureError("no v1 signature in Stripe-Signature header")
    expected = compute_signature(payload, secret, timestamp)
    # Check every candidate, so timing says nothing about which one matched.
    matched = False
    for candidate in signatures:
        matched |= hmac.compare_digest(expected.encode(), candidate.encode())
    if not matched:
        raise WebhookSignatureError("signature does not match the payload")
    if timestamp < now - tolerance_s:
        raise WebhookSignatureError("signature timestamp is too old")
    if timestamp > now + tolerance_s:
        raise WebhookSignatureError("signature timestamp is in the future")
    return timestamp
