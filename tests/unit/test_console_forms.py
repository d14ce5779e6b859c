"""The console's reading of what an operator types: euros into minor units, and where
to go after signing in (a console page, never another site)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from web.console import _minor_units, _next


@given(st.integers(min_value=0, max_value=10**12))
def test_euros_as_typed_are_their_minor_units(cents: int) -> None:
    typed = f"{Decimal(cents) / 100:.2f}"
    assert _minor_units(typed) == cents
    assert _minor_units(typed.replace(".", ",")) == cents


def test_what_is_not_an_amount_is_none() -> None:
    assert [_minor_units(v) for v in ("", "abc", "-1", "1e")] == [None] * 4
    assert _minor_units("12.5") == 1250


def test_signing_in_leads_only_to_a_console_page() -> None:
    assert _next("/console/projections") == "/console/projections"
    for target in (None, "", "https://evil.example/console/", "//evil.example/console/",
                   "/console//evil.example", "/orders", "javascript:alert(1)"):
        assert _next(target) == "/console/"
