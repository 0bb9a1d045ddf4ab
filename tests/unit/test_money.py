"""Money refuses floats and rounds bill lines half-up to the currency's minor unit."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sws.errors import Invalid
from sws.money import Money, parse_amount


def test_sixteen_charges_of_2_40_make_38_40_exactly() -> None:
    total = Money.of("0", "CNY")
    for _ in range(16):
        total = total + Money.of("2.40", "CNY")
    assert total == Money.of("38.40", "CNY")
    assert str(total.amount) == "38.40"


def test_a_float_is_never_money() -> None:
    with pytest.raises(TypeError):
        Money.of(2.4, "CNY")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money(2.4, "CNY")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        Money.of("1", "CNY").times(1.5)  # type: ignore[arg-type]


def test_rounding_is_half_up_to_the_minor_unit() -> None:
    assert Money.of("0.125", "CNY").rounded() == Money.of("0.13", "CNY")
    assert Money.of("0.124999", "CNY").rounded() == Money.of("0.12", "CNY")
    assert Money.of("12.5", "JPY").rounded() == Money.of("13", "JPY")


def test_currencies_do_not_mix_and_unknown_ones_are_refused() -> None:
    with pytest.raises(Invalid) as mixed:
        _ = Money.of("1", "CNY") + Money.of("1", "EUR")
    assert mixed.value.field == "currency"
    with pytest.raises(Invalid):
        Money.of("1", "XXX")


@given(st.lists(st.decimals(min_value=0, max_value=10**6, places=6), max_size=50))
def test_sum_is_exact_whatever_the_order(amounts: list[Decimal]) -> None:
    forwards = sum((Money(a, "USD") for a in amounts), Money.of("0", "USD"))
    backwards = sum((Money(a, "USD") for a in reversed(amounts)), Money.of("0", "USD"))
    assert forwards == backwards
    assert forwards.amount == sum(amounts, Decimal(0))


@pytest.mark.parametrize("text", ["\uff11\uff12", " 5 ", "5e2", "5.", ".5", "+5", "1,000", "0x10",
                                  "NaN", "Infinity", "-", "", "\u0663", "5\n", "1" * 41])
def test_an_amount_is_ascii_digits_with_an_optional_sign_and_fraction(text: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_amount(text)
    assert refused.value.field == "amount"
    with pytest.raises(Invalid):
        Money.of(text, "CNY")


@pytest.mark.parametrize(("text", "value"), [("12", "12"), ("-0.5", "-0.5"), ("10.50", "10.50"),
                                             ("0.000001", "0.000001")])
def test_the_written_form_reads_exactly(text: str, value: str) -> None:
    assert parse_amount(text) == Decimal(value)
    assert str(parse_amount(text)) == value


def test_a_field_is_named_and_whole_numbers_pass() -> None:
    with pytest.raises(Invalid) as refused:
        parse_amount("5e2", field="price")
    assert refused.value.field == "price"
    assert parse_amount(7) == Decimal(7)
    with pytest.raises(Invalid):
        parse_amount(True)


def test_an_infinite_or_nan_decimal_is_never_money() -> None:
    with pytest.raises(Invalid):
        Money(Decimal("Infinity"), "CNY")
    with pytest.raises(Invalid):
        Money(Decimal("NaN"), "CNY")
