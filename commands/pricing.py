"""What an order costs: line totals, the voucher's discount, shipping and the VAT the
prices contain.

Prices in the catalog include VAT, as shops selling to consumers in the EU show
them, so `tax` is the VAT contained in the total, not added to it. All amounts are
integer minor units, and one rule rounds: half up, to the cent, where a share of
an amount is taken (a percentage discount, the VAT contained). In that order:

    subtotal = sum of the lines
    discount = the voucher's share of the subtotal (never more than it; 0 below its minimum)
    shipping = the method's price, 0 from its `free_over` (on subtotal - discount)
    total    = subtotal - discount + shipping
    tax      = the VAT contained in total
"""

from __future__ import annotations

from collections.abc import Iterable

from commands.decisions import Rejected
from schemas.events.orders import OrderLine, ShippingMethod, Totals, VoucherTerms
from schemas.money import CURRENCY, Money

# The flat rule of orders placed before shipping methods: standard delivery, free from
# FREE_SHIPPING_FROM (on the subtotal). Kept so those orders replay to the same totals.
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


def shipping_for(subtotal: int, method: ShippingMethod | None = None) -> int:
    """Shipping for `subtotal` (after the discount) by `method`, or by the flat rule."""
    if method is None:
        return 0 if subtotal >= FREE_SHIPPING_FROM else SHIPPING_FEE
    if method.free_over is not None and subtotal >= method.free_over.amount:
        return 0
    return method.price.amount


def vat_contained(gross: int, rate_bp: int = VAT_RATE_BP) -> int:
    """The VAT inside a gross amount, rounded half up: gross * rate / (1 + rate)."""
    numerator = gross * rate_bp
    denominator = 10_000 + rate_bp
    return (2 * numerator + denominator) // (2 * denominator)


def totals(lines: Iterable[OrderLine], shipping: ShippingMethod | None = None,
           voucher: VoucherTerms | None = None, currency: str = CURRENCY) -> Totals:
    subtotal = sum(line.line_total.amount for line in lines)
    discount = voucher.discount_on(subtotal) if voucher is not None else 0
    carriage = shipping_for(subtotal - discount, shipping)
    total = subtotal - discount + carriage

    def money(amount: int) -> Money:
        return Money(amount=amount, currency=currency)

    return Totals(subtotal=money(subtotal), shipping=money(carriage),
                  tax=money(vat_contained(total)), total=money(total),
                  discount=money(discount) if voucher is not None else None)


def discount_shares(line_totals: list[int], discount: int) -> list[int]:
    """`discount` split over lines in proportion to their totals, by the largest
    remainder: each line gets the floor of its exact share, and the cents left go one
    each to the lines with the largest remainders (the earlier line on a tie), so the
    shares add up to the discount exactly. No line gets more than its total."""
    subtotal = sum(line_totals)
    if subtotal == 0 or discount == 0:
        return [0] * len(line_totals)
    exact = [divmod(total * discount, subtotal) for total in line_totals]
    shares = [quotient for quotient, _ in exact]
    left = discount - sum(shares)
    by_remainder = sorted(range(len(exact)), key=lambda i: (-exact[i][1], i))
    for index in by_remainder[:left]:
        shares[index] += 1
    return shares


def paid_shares(lines: Iterable[OrderLine], discount: Money | None) -> list[int]:
    """What each line was paid: its total less its share of the order's discount
    (shipping is no line's)."""
    totals = [line.line_total.amount for line in lines]
    shares = discount_shares(totals, discount.amount if discount is not None else 0)
    return [total - share for total, share in zip(totals, shares, strict=True)]


def units_refund(paid: int, bought: int, before: int, returned: int) -> int:
    """The refund for `returned` units of a line of `bought` paid `paid`, after `before`
    of them went back: the paid share up to the last unit less the share up to the
    first, so the units of a line refund its paid share exactly, returned in any parts."""
    return paid * (before + returned) // bought - paid * before // bought
