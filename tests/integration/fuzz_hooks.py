"""Schemathesis hooks of the fuzz suite (`test_fuzz.py`), loaded through SCHEMATHESIS_HOOKS.

- Shipping zones the fuzz makes serve only ISO 3166's user-assigned codes (XA-XZ, QM-QZ,
  AA, ZZ): zones are kept forever, and a real country taken by a fuzzed zone would
  change what other tests' checkouts to it cost.
- With SHOPSTREAM_FUZZ_EMAIL set (every run that signs in), every case is sent with a
  live session of that account: a new one is signed in after a case ended the last, or
  when its access token is near the end of its life (a run on a busy machine outlasts
  it), and a changed password is remembered for the next sign-in. A password change with
  a well-formed current password names the right one, and half of them a new one strong
  enough, so it can succeed.
- With SHOPSTREAM_FUZZ_CATEGORY set (the administrator's run), a new product whose
  category is a well-formed id goes to that category, so that valid ones are stored
  (and `test_fuzz.py` reads back what was stored).
- Three requests in four go without the generated `X-Consistency-Token` (the API turns
  away a token it did not issue before it reads the rest).
"""

from __future__ import annotations

import os
import random
import string
import threading
import time
import uuid

import httpx
import schemathesis

_SPARE_COUNTRIES = ["AA", "ZZ", *(f"X{letter}" for letter in string.ascii_uppercase),
                    *(f"Q{letter}" for letter in "MNOPQRSTUVWXYZ")]
_ENDS_SESSION = {("POST", "/v1/auth/logout"), ("DELETE", "/v1/auth/sessions/{session_id}")}
_CHANGES_PASSWORD = ("POST", "/v1/users/me/password")
# The category a run's new products go to (SHOPSTREAM_FUZZ_CATEGORY), in place of any
# well-formed id: a generated one names no category, and the product would be refused.
_CATEGORY = os.environ.get("SHOPSTREAM_FUZZ_CATEGORY")
# Sign in again after this long: access tokens live 15 minutes.
_TOKEN_USED_FOR_S = 600


def _spare(country):
    if not isinstance(country, str):
        return country
    return _SPARE_COUNTRIES[sum(map(ord, country)) % len(_SPARE_COUNTRIES)]


def _fits(password) -> bool:
    """A current password as the schema takes it (1 to 1,024 characters): only such a one
    is replaced by the right one, so that a case meant to be refused stays refused."""
    return isinstance(password, str) and 1 <= len(password) <= 1024


def _route(context) -> tuple[str, str]:
    return context.operation.method.upper(), context.operation.path


def _is_uuid(value) -> bool:
    try:
        uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return isinstance(value, str)


@schemathesis.hook
def map_body(context, body):
    if not isinstance(body, dict):
        return body
    route = _route(context)
    if route == ("POST", "/v1/admin/products") and _CATEGORY and _is_uuid(body.get("category_id")):
        return body | {"category_id": _CATEGORY}
    if route == ("POST", "/v1/admin/shipping-zones") and isinstance(body.get("countries"), list):
        return body | {"countries": [_spare(country) for country in body["countries"]]}
    if route == _CHANGES_PASSWORD and _account.email and _fits(body.get("current_password")):
        new = body.get("new_password")
        if isinstance(new, str) and len(new) % 2:  # half of them strong enough to be taken
            body = body | {"new_password": f"{new} and a rarely heard phrase"}
        return body | {"current_password": _account.password}
    return body


@schemathesis.hook
def map_headers(context, headers):
    # A generated consistency token is never one the API issued, so it turns away the
    # request before its body is read: most requests go without one.
    if headers and "X-Consistency-Token" in headers and random.random() < 0.75:
        headers = {name: value for name, value in headers.items()
                   if name != "X-Consistency-Token"}
    return headers


class _Account:
    """The session run's account: its password now, and the session to send."""

    def __init__(self) -> None:
        self.email = os.environ.get("SHOPSTREAM_FUZZ_EMAIL")
        self.password = os.environ.get("SHOPSTREAM_FUZZ_PASSWORD", "")
        self.access_token: str | None = None
        self.signed_in_at = 0.0
        self.lock = threading.Lock()

    def token(self) -> str:
        with self.lock:
            if (self.access_token is None
                    or time.monotonic() - self.signed_in_at > _TOKEN_USED_FOR_S):
                answer = httpx.post(f"{os.environ['SHOPSTREAM_FUZZ_API']}/v1/auth/login",
                                    json={"email": self.email, "password": self.password},
                                    headers={"X-Forwarded-For": os.environ["SHOPSTREAM_FUZZ_ADDRESS"]},
                                    timeout=60)
                answer.raise_for_status()
                self.access_token = answer.json()["access_token"]
                self.signed_in_at = time.monotonic()
            return self.access_token

    def after(self, route: tuple[str, str], status: int, body) -> None:
        with self.lock:
            if route in _ENDS_SESSION and status == 204:
                self.access_token = None
            if route == _CHANGES_PASSWORD and status == 204:
                self.password = body["new_password"]


_account = _Account()

if _account.email:
    @schemathesis.auth(refresh_interval=None)  # asked each case; _Account decides
    class _LiveSession:
        def get(self, case, context):
            return _account.token()

        def set(self, case, data, context):
            case.headers = case.headers or {}
            case.headers["Authorization"] = f"Bearer {data}"

    @schemathesis.hook
    def after_call(context, case, response):
        _account.after((case.operation.method.upper(), case.operation.path),
                       response.status_code, case.body)
