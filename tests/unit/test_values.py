"""The value types of request bodies: what they accept is printable, stripped and bounded."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.provisional import urls
from pydantic import TypeAdapter, ValidationError

from schemas.money import CURRENCY, MAX_PRICE, Price
from schemas.values import Label, Name, OptionalLine, Text, Url, unprintable

SINGLE_LINE = {"Name": (Name, 1, 200), "Label": (Label, 1, 100),
               "OptionalLine": (OptionalLine, 0, 200)}
CONTROL = st.characters(categories=["Cc"])
# Text a person could mean: any printable character, spaces inside.
PRINTABLE = st.text(st.characters(exclude_categories=["Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"]),
                    max_size=120)


def accepted(adapter: TypeAdapter, value: object) -> str | None:
    try:
        return adapter.validate_python(value)
    except ValidationError:
        return None


@pytest.mark.parametrize("kind", SINGLE_LINE)
@given(st.text(max_size=300))
def test_a_single_line_value_is_stripped_printable_and_bounded(kind: str, text: str) -> None:
    value_type, shortest, longest = SINGLE_LINE[kind]
    adapter = TypeAdapter(value_type)
    value = accepted(adapter, text)

    if value is not None:
        assert value == value.strip()
        assert shortest <= len(value) <= longest
        assert unprintable(value) is None
        assert accepted(adapter, value) == value


@given(PRINTABLE)
def test_printable_stripped_text_round_trips_unchanged(text: str) -> None:
    text = text.strip()
    if text:
        assert TypeAdapter(Name).validate_python(text) == text
        assert TypeAdapter(Name).validate_json(json.dumps(text)) == text


@given(PRINTABLE, CONTROL, PRINTABLE)
def test_a_control_character_inside_a_line_is_refused(before: str, control: str,
                                                      after: str) -> None:
    with pytest.raises(ValidationError, match="must be printable"):
        TypeAdapter(Name).validate_python(f"x{before}{control}{after}x")


@pytest.mark.parametrize("text", ["Zero\u200dwidth", "Caf\u00e9 cr\u00e8me", "\u5496\u5561",
                                  "\U0001f468\u200d\U0001f373 chef", "Prix\u00a0: 10\u00a0\u20ac"])
def test_letters_of_any_script_emoji_and_no_break_spaces_are_printable(text: str) -> None:
    assert TypeAdapter(Name).validate_python(text) == text


@pytest.mark.parametrize("text", ["right\u202eto left", "lone \ud800 surrogate",
                                  "private \ue000 use", "line\u2028separator"])
def test_bidirectional_overrides_surrogates_and_separators_are_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(Name).validate_python(text)


@given(st.lists(PRINTABLE, min_size=1, max_size=5), st.sampled_from(["\n", "\r\n", "\r"]))
def test_text_keeps_its_line_breaks_as_lf_and_nothing_else_unprintable(
        paragraphs: list[str], newline: str) -> None:
    value = TypeAdapter(Text).validate_python(newline.join(paragraphs))

    assert "\r" not in value
    assert unprintable(value, allowed="\n") is None
    assert value == "\n".join(paragraphs).strip()


def test_text_is_bounded_and_refuses_a_tab() -> None:
    text = TypeAdapter(Text)
    assert len(text.validate_python("x" * 20_000)) == 20_000
    for refused in ("x" * 20_001, "a\tb", "a\x00b"):
        with pytest.raises(ValidationError):
            text.validate_python(refused)


@given(urls())
def test_a_web_link_round_trips_unchanged(url: str) -> None:
    assert TypeAdapter(Url).validate_python(url) == url


@pytest.mark.parametrize("url", [
    "javascript:alert(1)", "JAVASCRIPT:alert(1)", " javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "ftp://files.example/a.png",
    "file:///etc/passwd", "//img.example/a.png", "/images/a.png", "https://",
    "https:///a.png", "https://img.example/a b.png", "https://img.example/\x00.png",
    "https://img.example/" + "a" * 2000])
def test_anything_but_an_http_or_https_link_to_a_host_is_refused(url: str) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(Url).validate_python(url)


@given(st.integers(min_value=0, max_value=MAX_PRICE))
def test_a_price_in_the_shop_currency_round_trips(amount: int) -> None:
    price = Price(amount=amount, currency=CURRENCY)

    assert Price.model_validate_json(price.model_dump_json()) == price
    assert Price(amount=amount) == price


@given(st.from_regex(r"^[A-Z]{3}$", fullmatch=True).filter(lambda code: code != CURRENCY))
def test_a_price_in_another_currency_is_refused(currency: str) -> None:
    with pytest.raises(ValidationError, match="currency"):
        Price(amount=450, currency=currency)


@given(st.one_of(st.integers(max_value=-1), st.integers(min_value=MAX_PRICE + 1),
                 st.floats().filter(lambda x: not x.is_integer())))
def test_a_price_is_whole_non_negative_and_bounded(amount: int | float) -> None:
    with pytest.raises(ValidationError, match="amount"):
        Price(amount=amount)
