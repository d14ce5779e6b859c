"""What an order costs: line totals, shipping and the VAT the prices contain.

Prices in the catalog include VAT, as shops selling to consumers in the EU show
them, so `tax` is the VAT contained in the total, not added to it. All amounts
are integer minor units; the one rounding (of the VAT) is half up, to the cent.
"""

from __future__ import annotations

from collections.abc import Iterable

from commands.decisions import Rejected
from schemas.events.orders import OrderLine, Totals
from schemas.money import CURRENCY, Money

# Standard delivery, free from FREE_SHIPPING_FROM (on the subtotal).
SHIPPING_FEE = 490
FREE_SHIPPING_FROM = 5000
# VAT in basis points: 2000 = 20 %.
VAT_RATE_BP = 2000


def require_shop_currency(*amounts: Money | None) -> None:
    """Refuse money in another currency than the shop's: no cart or order could add it up."""
    for money in amounts:
        if money is not None and money.currency != CURRENCY:
            raise Rejected("foreign_currency", f"The shop sells in {CURRENCY}, not in "
                                               f"{money.currency}.", "invalid")


def shipping_for(subtotal: int) -> int:
    return 0 if subtotal >= FREE_SHIPPING_FROM else SHIPPING_FEE


def vat_contained(gross: int, rate_bp: int = VAT_RATE_BP) -> int:
    """The VAT inside a gross amount, rounded half up: gross * rate / (1 + rate)."""
    numerator = gross * rate_bp
    denominator = 10_000 + rate_bp
    return (2 * numerator + denominator) // (2 * denominator)


def totals(lines: Iterable[OrderLine], currency: str = CURRENCY) -> Totals:
    subtotal = sum(line.line_total.amount for line in lines)
    shipping = shipping_for(subtotal)
    total = subtotal + shipping

    def money(amount: int) -> Money:
        return Money(amount=amount, currency=currency)

    return Totals(subtotal=money(subtotal), shipping=money(shipping),
                  tax=money(vat_contained(total)), total=money(total))
