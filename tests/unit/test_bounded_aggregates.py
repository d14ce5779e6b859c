"""Aggregates that would grow with history keep only their recent part, and decide as if
they kept it all.

Each property runs one random history twice: over the state as the shop keeps it, with
windows made small (`Recent(SMALL)`), and over a state that forgets nothing. Every
command that can still arrive (about an entry still remembered, or a new one) gets the
same events from both.
"""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

from hypothesis import given, settings
from hypothesis import strategies as st

from commands import catalog, payments, vouchers
from commands.recent import Recent
from schemas.commands.catalog import ReleaseStock, ReserveStock, RestockReturn
from schemas.commands.vouchers import ReleaseVoucherUse, ReserveVoucherUse
from schemas.events.vouchers import VoucherCreated
from schemas.money import Money
from tests.unit.checkout import ISSUED_AT
from tests.unit.test_catalog_decider import PRODUCT_ID, given_events, product_created
from tests.unit.test_payments_decider import receipt

SMALL = 4
ALL = 10**9
POOL = 12  # the ids a history draws from: small, so that they come back

ids = st.integers(0, POOL - 1).map(lambda n: UUID(int=n + 1))


def test_recent_forgets_an_entry_once_limit_entries_were_added_after_it():
    recent = Recent(2).set("a", 1).set("b", 2).set("a", 3).set("c", 4)
    assert dict(recent) == {"b": 2, "c": 4}
    assert dict(recent.discard("b").set("d", 5)) == {"c": 4, "d": 5}


@given(st.lists(st.tuples(st.sampled_from(["set", "discard"]), st.integers(0, 5)),
                max_size=60), st.integers(1, 6))
def test_recent_holds_what_was_set_among_its_last_limit_additions(steps, limit):
    recent: Recent = Recent(limit)
    added = 0  # keys added anew so far
    present: dict[int, tuple[int, int]] = {}  # key -> (the number of its addition, value)
    for n, (action, key) in enumerate(steps):
        if action == "discard":
            present.pop(key, None)
        elif key in present:
            present[key] = (present[key][0], n)
        else:
            added += 1
            present[key] = (added, n)
        recent = recent.set(key, n) if action == "set" else recent.discard(key)
        # A key is kept while it is among the last `limit` additions and not discarded.
        present = {k: v for k, v in present.items() if v[0] > added - limit}
        assert dict(recent) == {k: value for k, (_, value) in present.items()}
        assert list(recent) == sorted(present, key=lambda k: present[k][0])


def _same_decisions(decide, evolve, kept, everything, commands, can_arrive) -> None:
    for command in commands:
        if not can_arrive(kept, everything, command):
            continue
        events = decide(everything, command)
        assert decide(kept, command) == events
        for event in events:
            kept, everything = evolve(kept, event), evolve(everything, event)


product_commands = st.lists(st.one_of(
    st.builds(lambda order, quantity: ReserveStock(product_id=PRODUCT_ID, order_id=order,
                                                   quantity=quantity), ids, st.integers(1, 3)),
    st.builds(lambda order: ReleaseStock(product_id=PRODUCT_ID, order_id=order), ids),
    st.builds(lambda order, ret: RestockReturn(product_id=PRODUCT_ID, order_id=order,
                                               return_id=ret, quantity=1), ids, ids),
), max_size=80)


def _product_remembers(kept: catalog.Product, everything: catalog.Product, command) -> bool:
    if isinstance(command, RestockReturn):
        return command.return_id in kept.restocked or command.return_id not in everything.restocked
    order = command.order_id
    return (order in kept.reservations or order in kept.released
            or (order not in everything.reservations and order not in everything.released))


@settings(deadline=None)
@given(product_commands)
def test_a_product_decides_on_its_recent_orders_as_on_all_of_them(commands):
    created = given_events(product_created(stock=40))
    kept = replace(created, reservations=Recent(SMALL), released=Recent(SMALL),
                   restocked=Recent(SMALL))
    everything = replace(created, reservations=Recent(ALL), released=Recent(ALL),
                         restocked=Recent(ALL))
    _same_decisions(catalog.decide, catalog.evolve, kept, everything, commands,
                    _product_remembers)


@settings(deadline=None)
@given(st.lists(ids, max_size=60))
def test_a_receipt_book_numbers_as_if_it_remembered_every_payment(payment_ids):
    kept = payments.ReceiptBook("receipts-2024", issued=Recent(SMALL))
    everything = payments.ReceiptBook("receipts-2024", issued=Recent(ALL))
    _same_decisions(
        payments.decide, payments.evolve, kept, everything, [receipt(p) for p in payment_ids],
        lambda kept, everything, command: (command.payment_id in kept.issued
                                           or command.payment_id not in everything.issued))


CODE = "SPRING10"
customers = st.sampled_from([UUID(int=1001), UUID(int=1002), UUID(int=1003)])
voucher_commands = st.lists(st.one_of(
    st.builds(lambda order, user: ReserveVoucherUse(
        code=CODE, order_id=order, user_id=user, subtotal=Money(amount=5000),
        ordered_at=ISSUED_AT), ids, customers),
    st.builds(lambda order, user: ReleaseVoucherUse(code=CODE, order_id=order, user_id=user),
              ids, customers),
), max_size=80)


@settings(deadline=None)
@given(voucher_commands, st.integers(1, 8), st.integers(1, 4))
def test_a_voucher_counts_its_uses_as_if_it_remembered_every_order(commands, limit,
                                                                  per_customer):
    terms = VoucherCreated(code=CODE, kind="percentage", value=10, usage_limit=limit,
                           per_customer_limit=per_customer)
    kept = vouchers.Voucher(terms, held=Recent(SMALL), released=Recent(SMALL))
    everything = vouchers.Voucher(terms, held=Recent(ALL), released=Recent(ALL))

    def remembered(kept, everything, command) -> bool:
        order = command.order_id
        if order in everything.held and command.user_id != everything.held[order]:
            return False  # an order's commands name its own customer
        return (order in kept.held or order in kept.released
                or (order not in everything.held and order not in everything.released))

    _same_decisions(vouchers.decide, vouchers.evolve, kept, everything, commands, remembered)
