"""Card payments through Stripe's PaymentIntents API, over plain HTTP (httpx).

charge: `POST /v1/payment_intents` with confirm=true, captured at once; authorize: the
same with capture_method=manual, so the card is only reserved; capture:
`POST /v1/payment_intents/{id}/capture`; refund: `POST /v1/refunds`. Every request
carries an `Idempotency-Key`, so a retry after a timeout never charges twice.

A decline (HTTP 402, a `card_error`) is a `failed` result with Stripe's reason. Anything
else Stripe refuses (our malformed request, a bad key, rate limits, its outages) raises
`StripeError`: that is not the customer's fault and the caller retries or alerts. An
answer whose amount or currency differs from what we asked for raises
`PaymentAmountMismatch`: it is never accepted.

The response mapping is pure (`parse_*`), so it is unit-tested without a server.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx

from infra.payments.provider import (
    PaymentAmountMismatch,
    PaymentMethod,
    PaymentProviderError,
    PaymentResult,
)
from schemas.money import Money

# Pinned, so a change of Stripe's default version cannot change what we parse.
STRIPE_API_VERSION = "2024-06-20"


class StripeError(PaymentProviderError):
    def __init__(self, message: str, *, http_status: int | None = None,
                 error_type: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.error_type = error_type
        self.code = code

    @property
    def retryable(self) -> bool:
        """Worth retrying with the same idempotency key: outages, rate limits, lock conflicts."""
        return self.http_status is None or self.http_status in (409, 429) or self.http_status >= 500


def _check_amount(kind: str, body: dict[str, Any], field: str, expected: Money,
                  check_currency: bool = True) -> None:
    got_amount, got_currency = body.get(field), body.get("currency")
    if got_amount != expected.amount or (
            check_currency and str(got_currency).upper() != expected.currency):
        raise PaymentAmountMismatch(
            f"Stripe {kind} {body.get('id')!r} reports {field}={got_amount!r} {got_currency!r}, "
            f"we asked for {expected.amount} {expected.currency.lower()}")


def _card_last4(intent: dict[str, Any]) -> str | None:
    method = intent.get("payment_method")
    if isinstance(method, dict):
        last4 = (method.get("card") or {}).get("last4")
        return last4 if isinstance(last4, str) else None
    return None


def _error_reason(error: dict[str, Any]) -> str:
    code = error.get("decline_code") or error.get("code") or error.get("type") or "declined"
    message = error.get("message")
    return f"{code}: {message}" if message else str(code)


def raise_for_error(response_status: int, body: dict[str, Any]) -> PaymentResult | None:
    """A 402 decline becomes a failed result; other errors raise; success returns None."""
    if response_status < 400:
        return None
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    if response_status == 402 or error.get("type") == "card_error":
        intent = error.get("payment_intent") if isinstance(error.get("payment_intent"), dict) else {}
        return PaymentResult("failed", intent.get("id"), _error_reason(error), _card_last4(intent))
    raise StripeError(
        f"Stripe answered {response_status}: {error.get('message') or 'no message'}",
        http_status=response_status, error_type=error.get("type"), code=error.get("code"))


def parse_authorization(body: dict[str, Any], amount: Money) -> PaymentResult:
    """Map a confirmed PaymentIntent to our result."""
    _check_amount("payment intent", body, "amount", amount)
    reference, last4 = body.get("id"), _card_last4(body)
    match body.get("status"):
        case "requires_capture":
            return PaymentResult("authorized", reference, None, last4)
        case "succeeded":
            _check_amount("payment intent", body, "amount_received", amount)
            return PaymentResult("captured", reference, None, last4)
        case "processing":
            return PaymentResult("pending", reference, None, last4)
        case "requires_payment_method":
            error = body.get("last_payment_error") or {}
            reason = _error_reason(error) if error else "requires_payment_method: not authorized"
            return PaymentResult("failed", reference, reason, last4)
        case "requires_action":
            # 3-D Secure and similar need the customer in a browser; this server-side
            # checkout has no such step, so the payment cannot go through.
            return PaymentResult("failed", reference,
                                 "authentication_required: the card needs the customer "
                                 "to authenticate", last4)
        case "canceled":
            return PaymentResult("failed", reference,
                                 f"canceled: {body.get('cancellation_reason') or 'no reason'}", last4)
        case other:
            raise StripeError(f"unexpected payment intent status {other!r} for {reference!r}")


def parse_capture(body: dict[str, Any], amount: Money) -> PaymentResult:
    _check_amount("payment intent", body, "amount", amount)
    reference, last4 = body.get("id"), _card_last4(body)
    if body.get("status") == "succeeded":
        _check_amount("payment intent", body, "amount_received", amount)
        return PaymentResult("captured", reference, None, last4)
    return PaymentResult("failed", reference,
                         f"not_captured: the payment intent is {body.get('status')!r}", last4)


def parse_refund(body: dict[str, Any], amount: Money) -> PaymentResult:
    # A refund's currency is its payment intent's; the amount is what we asked back.
    _check_amount("refund", body, "amount", amount, check_currency=False)
    reference = body.get("id")
    match body.get("status"):
        case "succeeded":
            return PaymentResult("refunded", reference)
        case "pending" | "requires_action":
            return PaymentResult("pending", reference)
        case "failed" | "canceled":
            return PaymentResult("failed", reference,
                                 f"refund_{body.get('status')}: {body.get('failure_reason') or 'no reason'}")
        case other:
            raise StripeError(f"unexpected refund status {other!r} for {reference!r}")


class StripePaymentProvider:
    """`PaymentProvider` for cards through Stripe (stripe-mock locally).

    The HTTP client is handed in (built once by the bootstrap); the key goes on each
    request, so one client may serve several accounts.
    """

    def __init__(self, http: httpx.AsyncClient, *, api_url: str, api_key: str) -> None:
        self.http = http
        self.api_url = api_url.rstrip("/")
        self.api_key = api_key

    async def _post(self, path: str, data: dict[str, str], idempotency_key: str
                    ) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {self.api_key}",
                   "Idempotency-Key": idempotency_key, "Stripe-Version": STRIPE_API_VERSION}
        try:
            response = await self.http.post(f"{self.api_url}{path}", data=data, headers=headers)
        except httpx.HTTPError as error:
            raise StripeError(f"Stripe unreachable: {error!r}") from error
        try:
            body = response.json()
        except ValueError as error:
            raise StripeError(f"Stripe answered {response.status_code} with no JSON",
                              http_status=response.status_code) from error
        if not isinstance(body, dict):
            raise StripeError("Stripe answered JSON that is not an object",
                              http_status=response.status_code)
        return response.status_code, body

    async def charge(self, payment_id: UUID, amount: Money, method: PaymentMethod,
                     idempotency_key: str) -> PaymentResult:
        return await self._confirm(payment_id, amount, method, idempotency_key, "automatic")

    async def authorize(self, payment_id: UUID, amount: Money, method: PaymentMethod,
                        idempotency_key: str) -> PaymentResult:
        return await self._confirm(payment_id, amount, method, idempotency_key, "manual")

    async def _confirm(self, payment_id: UUID, amount: Money, method: PaymentMethod,
                       idempotency_key: str, capture_method: str) -> PaymentResult:
        """A confirmed PaymentIntent: authorized only (`manual`) or also captured."""
        if method.type != "card":
            return PaymentResult("failed", None,
                                 f"unsupported_method: Stripe here takes cards, not {method.type}")
        if not method.token:
            return PaymentResult("failed", None, "missing_token: a card payment needs a token")
        status, body = await self._post("/v1/payment_intents", {
            "amount": str(amount.amount),
            "currency": amount.currency.lower(),
            "payment_method": method.token,
            "payment_method_types[]": "card",
            "confirm": "true",
            "capture_method": capture_method,
            "metadata[payment_id]": str(payment_id),
            "expand[]": "payment_method",
        }, idempotency_key)
        return raise_for_error(status, body) or parse_authorization(body, amount)

    async def capture(self, payment_id: UUID, provider_reference: str, amount: Money,
                      idempotency_key: str) -> PaymentResult:
        status, body = await self._post(
            f"/v1/payment_intents/{_path_id(provider_reference)}/capture",
            {"amount_to_capture": str(amount.amount), "expand[]": "payment_method"},
            idempotency_key)
        return raise_for_error(status, body) or parse_capture(body, amount)

    async def refund(self, payment_id: UUID, provider_reference: str, amount: Money,
                     idempotency_key: str) -> PaymentResult:
        status, body = await self._post("/v1/refunds", {
            "payment_intent": provider_reference,
            "amount": str(amount.amount),
            "metadata[payment_id]": str(payment_id),
        }, idempotency_key)
        return raise_for_error(status, body) or parse_refund(body, amount)


def _path_id(reference: str) -> str:
    if not reference.startswith("pi_") or not reference.replace("_", "").isalnum():
        raise ValueError(f"not a payment intent id: {reference!r}")
    return reference
