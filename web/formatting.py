"""Showing values in the shopper's locale: the locale from Accept-Language, money, dates.

Amounts stay integer minor units until here; babel turns them into the locale's format
(`1.234,50 €` in German, `€1,234.50` in English).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime
from babel.numbers import format_currency, get_currency_precision

DEFAULT_LOCALE = "en_GB"
# At most this many languages of an Accept-Language header are tried.
MAX_LANGUAGES = 8


def negotiate_locale(accept_language: str | None) -> Locale:
    """The first locale of the header (by its q weights) that babel knows, else en_GB."""
    ranked = []
    for position, item in enumerate((accept_language or "").split(",")[:MAX_LANGUAGES]):
        tag, _, params = item.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        if tag and tag != "*" and weight > 0:
            ranked.append((-weight, position, tag.strip()))
    for _, _, tag in sorted(ranked):
        try:
            return Locale.parse(tag, sep="-")
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse(DEFAULT_LOCALE)


def format_money(money: dict | None, locale: Locale) -> str:
    """`{"amount": 1990, "currency": "EUR"}` as the locale writes it."""
    if not money:
        return ""
    currency = money["currency"]
    amount = Decimal(money["amount"]).scaleb(-get_currency_precision(currency))
    return format_currency(amount, currency, locale=locale)


def format_time(value: str | datetime | None, locale: Locale) -> str:
    if not value:
        return ""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return format_datetime(moment, "medium", locale=locale) + " UTC"
