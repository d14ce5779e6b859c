"""Money: integer minor units and an ISO 4217 currency code; the shop sells in one currency."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

# The one currency the shop sells in: every price, cart and order is in it.
CURRENCY: Final = "EUR"
# The dearest unit price a client may set (1,000,000.00): a full cart of it, 50 lines
# of 99, stays far below MAX_AMOUNT.
MAX_PRICE: Final = 10**8
# The largest amount a message carries. Events once allowed unit prices up to 10**12,
# so this leaves room for a full cart of those: no total of a stored price overflows.
MAX_AMOUNT: Final = 10**16

Amount = Annotated[int, Field(ge=0, le=MAX_AMOUNT, description="Integer minor units (cents).")]


# An amount as events, commands and read models carry it. Any ISO 4217 code is
# readable, so that what was written before the one-currency rule stays readable;
# the deciders refuse money in another currency than CURRENCY. (A comment, not a
# docstring: the class's JSON Schema is part of every event's snapshot.)
class Money(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Amount
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")] = CURRENCY


class Price(Money):
    """Money as a client sends it: in the shop's currency only, up to MAX_PRICE."""

    amount: Annotated[Amount, Field(le=MAX_PRICE)]
    currency: Annotated[Literal[CURRENCY], Field(
        description=f"The shop's currency, {CURRENCY}.")] = CURRENCY
