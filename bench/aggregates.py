"""The cost of deciding a command on a busy aggregate, as it grows: no servers.

Some aggregates only grow: a product remembers every order that reserved it, the
year's receipt book every receipt it issued. This sends one product `--commands`
reservations and one receipt book as many receipts through `commands.handling.handle`
(what a command processor does per command, and, event by event, per recovery) and
reports the time per command at each step of the way. Flat is right; rising with the
count means each command copies what the aggregate holds.
"""

from __future__ import annotations

import argparse
import time
import uuid

from commands.handling import Aggregate, handle
from schemas.commands.catalog import CreateProduct, ReserveStock
from schemas.commands.payments import IssueReceipt
from schemas.envelope import CommandEnvelope
from schemas.events.orders import Totals
from schemas.money import Money


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--commands", type=int, default=50_000)
    parser.add_argument("--window", type=int, default=1_000,
                        help="commands timed together at each step")
    return parser.parse_args()


def wrapped(command) -> CommandEnvelope:
    return CommandEnvelope.wrap(command, command_id=uuid.uuid4(), actor="user:bench")


def product_commands(n: int):
    product_id = uuid.uuid4()
    yield wrapped(CreateProduct(product_id=product_id, sku="BENCH-1", name="Bench",
                                slug="bench", category_id=uuid.uuid4(),
                                price=Money(amount=100), stock=10 * n))
    for _ in range(n):
        yield wrapped(ReserveStock(product_id=product_id, order_id=uuid.uuid4(), quantity=1))


def receipt_commands(n: int):
    money = Money(amount=100)
    totals = Totals(subtotal=money, shipping=Money(amount=0), tax=Money(amount=0), total=money)
    for _ in range(n):
        yield wrapped(IssueReceipt(book="receipts-2026", payment_id=uuid.uuid4(),
                                   order_id=uuid.uuid4(), user_id=uuid.uuid4(), lines=[],
                                   totals=totals, payment_method="card"))


def measure(name: str, envelopes, window: int) -> None:
    envelopes = list(envelopes)  # made before the clock starts
    key = envelopes[-1].command().aggregate_key
    aggregate, started, report = Aggregate(), time.perf_counter(), []
    for n, envelope in enumerate(envelopes, start=1):
        aggregate = handle(aggregate, envelope, key).aggregate
        if n % window == 0:
            now = time.perf_counter()
            report.append((n, (now - started) / window * 1e6))
            started = now
    steps = [report[0], *[row for row in report if row[0] in (10_000, 50_000, 100_000)]]
    if report[-1] not in steps:
        steps.append(report[-1])
    print(f"{name}: " + ", ".join(f"{us:.0f} us per command at {n:,}" for n, us in steps))


def main() -> None:
    args = parse_args()
    measure("reservations of one product", product_commands(args.commands), args.window)
    measure("receipts of one book", receipt_commands(args.commands), args.window)


if __name__ == "__main__":
    main()
