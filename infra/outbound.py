"""Calls to integrators' URLs: which targets are allowed, how a delivery is signed, and
when a failed one is tried again.

A target is checked when it is subscribed and again before each delivery, on every
address its host resolves to, because DNS can change between the two: http or https
only, no credentials in it, a bounded length, and no private, loopback, link-local,
multicast, reserved or unspecified address unless `allow_private` (the local stack
and its tests, whose receivers run on 127.0.0.1).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import socket
from datetime import timedelta
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000

# After the n-th failed attempt, the next comes RETRY_DELAYS_S[n - 1] seconds later; after
# the last, the delivery has failed. The first retry comes within 10 s, the last more
# than 24 h after the first attempt.
RETRY_DELAYS_S: tuple[int, ...] = (2, 10, 60, 300, 1800, 3600, 7200, 14400, 28800, 32400)
ATTEMPTS = len(RETRY_DELAYS_S) + 1


class UnsafeTarget(ValueError):
    """A URL that deliveries may not go to, with why."""


def retry_delay(attempts: int) -> timedelta | None:
    """How long after its `attempts`-th failed attempt a delivery is tried again; None
    when it has had its last."""
    if attempts < 1 or attempts > len(RETRY_DELAYS_S):
        return None
    return timedelta(seconds=RETRY_DELAYS_S[attempts - 1])


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `Shopstream-Signature` header: t=<unix seconds>,v1=<hex HMAC-SHA256 of
    "<t>.<body>" under the secret>."""
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body,
                      hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def check_url(url: str) -> tuple[str, int]:
    """The host and port of a well-formed target URL, or UnsafeTarget with why."""
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeTarget(f"The URL is malformed: {error}.") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeTarget("The URL must be http or https.")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise UnsafeTarget("The URL may not carry credentials.")
    if not parts.hostname:
        raise UnsafeTarget("The URL has no host.")
    if any(c.isspace() or ord(c) < 33 for c in url):
        raise UnsafeTarget("The URL may not contain spaces or control characters.")
    return parts.hostname, port or (443 if parts.scheme == "https" else 80)


def check_address(address: str, *, allow_private: bool) -> None:
    """UnsafeTarget unless deliveries may connect to `address`."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_multicast or ip.is_unspecified or (ip.is_reserved and not ip.is_private):
        raise UnsafeTarget(f"The URL's host resolves to {ip}, which is not a unicast address.")
    if allow_private:
        return
    if ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved \
            or not ip.is_global:
        raise UnsafeTarget(f"The URL's host resolves to {ip}, a private or reserved "
                           "address.")


async def resolve(url: str, *, allow_private: bool) -> list[str]:
    """Every address the URL's host resolves to, each checked; UnsafeTarget otherwise."""
    host, port = check_url(url)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(
            host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        raise UnsafeTarget(f"The URL's host {host} does not resolve.") from None
    addresses = sorted({info[4][0] for info in found})
    if not addresses:
        raise UnsafeTarget(f"The URL's host {host} does not resolve.")
    for address in addresses:
        check_address(address, allow_private=allow_private)
    return addresses
