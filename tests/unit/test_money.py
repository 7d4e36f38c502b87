"""Exact money (SPEC sections 3 and 4): ISO 4217 digits, decimals never from floats,
amounts that fit their currency, rounding down to whole minor units, plain text."""

from decimal import Decimal
from fractions import Fraction

import pytest

from bonus_engine.money import (
    UnsupportedCurrency,
    check_amount,
    format_decimal,
    format_fraction,
    format_minor,
    minor_digits,
    parse_decimal,
    parse_fraction,
    to_minor_exact,
    to_minor_floor,
)

# --- minor digits ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("currency", "digits"),
    [("USD", 2), ("JPY", 0), ("KRW", 0)],
)
def test_each_currency_has_its_iso_4217_minor_digits(currency: str, digits: int) -> None:
    # Given a currency of the program / When its minor digits are asked / Then ISO 4217's
    assert minor_digits(currency) == digits


def test_a_currency_outside_the_program_is_refused_by_name() -> None:
    # Given EUR, which no market pays in
    # When its minor digits are asked / Then it is refused, naming it
    with pytest.raises(UnsupportedCurrency, match="EUR"):
        minor_digits("EUR")


# --- parse_decimal ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12.50", Decimal("12.50")),
        ("0.40", Decimal("0.40")),
        ("100000000", Decimal(100000000)),
        (" 7 ", Decimal(7)),
        ("-3.5", Decimal("-3.5")),
    ],
)
def test_a_decimal_string_is_read_exactly(text: str, expected: Decimal) -> None:
    # Given a decimal string / When parsed / Then the exact decimal, digits kept
    parsed = parse_decimal(text)
    assert parsed == expected
    assert str(parsed) == str(expected)


def test_an_int_is_read_as_the_same_decimal() -> None:
    # Given a Python int / When parsed / Then the same whole decimal
    assert parse_decimal(1_000_000) == Decimal(1000000)


def test_a_decimal_is_passed_through_unchanged() -> None:
    # Given a Decimal with trailing zeros / When parsed / Then it is kept as is
    assert str(parse_decimal(Decimal("2000.00"))) == "2000.00"


@pytest.mark.parametrize("value", [0.1, 1.0, 0.0])
def test_a_binary_float_is_refused(value: object) -> None:
    # Given a float (inexact by nature) / When parsed / Then refused, saying why
    with pytest.raises(ValueError, match="float"):
        parse_decimal(value)


@pytest.mark.parametrize("value", [True, False])
def test_a_bool_is_refused_even_though_it_is_an_int(value: bool) -> None:
    # Given a bool (an int subclass in Python) / When parsed / Then refused
    with pytest.raises(ValueError, match="decimal"):
        parse_decimal(value)


@pytest.mark.parametrize("text", ["abc", "", "1,000", "12.5.0", "ten"])
def test_text_that_is_not_a_number_is_refused(text: str) -> None:
    # Given text that is no number / When parsed / Then refused
    with pytest.raises(ValueError, match="not a decimal number"):
        parse_decimal(text)


@pytest.mark.parametrize(
    "value", ["NaN", "Infinity", "-Infinity", "sNaN", Decimal("NaN"), Decimal("Infinity")]
)
def test_a_value_that_is_not_finite_is_refused(value: object) -> None:
    # Given NaN or an infinity / When parsed / Then refused as not finite
    with pytest.raises(ValueError, match="finite"):
        parse_decimal(value)


@pytest.mark.parametrize("value", [None, [1], {"amount": "1"}, b"1"])
def test_a_value_of_another_type_is_refused(value: object) -> None:
    # Given null, a list, a mapping or bytes / When parsed / Then refused
    with pytest.raises(ValueError, match="decimal string"):
        parse_decimal(value)


# --- check_amount ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("2000.00", "USD"),
        ("10.5", "USD"),
        ("10", "USD"),
        ("10.10", "USD"),
        ("5000", "JPY"),
        ("100000000", "KRW"),
        ("0", "KRW"),
    ],
)
def test_an_amount_within_the_currency_digits_is_accepted(amount: str, currency: str) -> None:
    # Given an amount with no more decimals than the currency has
    # When checked / Then it is returned unchanged
    assert check_amount(Decimal(amount), currency) == Decimal(amount)


def test_a_usd_amount_with_three_decimals_is_refused() -> None:
    # Given 10.001 USD (USD has cents, not tenths of cents)
    # When checked / Then refused, saying USD has 2 decimals
    with pytest.raises(ValueError, match="USD has 2 decimals"):
        check_amount(Decimal("10.001"), "USD")


@pytest.mark.parametrize("currency", ["JPY", "KRW"])
def test_a_yen_or_won_amount_with_decimals_is_refused(currency: str) -> None:
    # Given 5000.5 in a currency without a minor unit
    # When checked / Then refused, saying it has no minor unit
    with pytest.raises(ValueError, match=f"{currency} has no minor unit"):
        check_amount(Decimal("5000.5"), currency)


def test_a_large_usd_amount_with_three_decimals_is_refused() -> None:
    # Given 12345678901234567890123456789.001 USD (29 integer digits, 3 decimals)
    # When checked / Then refused: USD has 2 decimals, however large the amount
    with pytest.raises(ValueError, match="USD has 2 decimals"):
        check_amount(Decimal("12345678901234567890123456789.001"), "USD")


def test_an_exact_conversion_refuses_an_amount_finer_than_the_minor_unit() -> None:
    # Given 0.5 JPY / When converted exactly to minor units / Then refused, not rounded
    with pytest.raises(ValueError, match="JPY has no minor unit"):
        to_minor_exact(Decimal("0.5"), "JPY")


def test_an_exact_conversion_gives_the_minor_units() -> None:
    # Given 10.00 USD / When converted exactly / Then 1000 cents
    assert to_minor_exact(Decimal("10.00"), "USD") == 1000


# --- to_minor_floor --------------------------------------------------------------------


def test_a_usd_amount_is_rounded_down_to_a_whole_cent() -> None:
    # Given 0.999 USD / When rounded to minor units / Then 99 cents (down, never up)
    assert to_minor_floor(Decimal("0.999"), "USD") == 99


def test_a_pool_share_is_rounded_down_to_a_whole_won() -> None:
    # Given a third of 100,000,000 KRW = 33,333,333.33... / When rounded / Then 33,333,333
    assert to_minor_floor(Fraction(100_000_000, 3), "KRW") == 33_333_333


def test_a_yen_amount_just_below_a_whole_yen_is_rounded_down() -> None:
    # Given 4999.999 JPY / When rounded / Then 4999 yen
    assert to_minor_floor(Decimal("4999.999"), "JPY") == 4999


def test_a_fraction_of_a_cent_rounds_down_to_nothing() -> None:
    # Given 0.009 USD / When rounded / Then 0 cents
    assert to_minor_floor(Decimal("0.009"), "USD") == 0


def test_an_amount_already_in_whole_cents_is_unchanged() -> None:
    # Given 500.10 USD / When rounded / Then 50010 cents exactly
    assert to_minor_floor(Decimal("500.10"), "USD") == 50010


def test_an_amount_is_rounded_without_a_detour_through_floats() -> None:
    # Given 0.29 USD (as a binary float, 0.29 x 100 = 28.999999999999996)
    # When rounded / Then 29 cents, not 28
    assert to_minor_floor(Decimal("0.29"), "USD") == 29


def test_an_exact_fraction_of_whole_cents_is_not_rounded_away() -> None:
    # Given 2/3 of 1200.00 USD = 800.00 exactly (as a Fraction)
    # When rounded / Then 80000 cents
    assert to_minor_floor(Fraction(2, 3) * Fraction(1200), "USD") == 80000


def test_the_result_is_an_int() -> None:
    # Given an amount / When rounded / Then an int of minor units (never a float)
    assert type(to_minor_floor(Decimal("1.23"), "USD")) is int


# --- format_minor ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (493, "USD", "4.93"),
        (5, "USD", "0.05"),
        (0, "USD", "0.00"),
        (50010, "USD", "500.10"),
        (200000, "USD", "2000.00"),
        (-5, "USD", "-0.05"),
        (5000, "JPY", "5000"),
        (0, "JPY", "0"),
        (33_333_333, "KRW", "33333333"),
    ],
)
def test_minor_units_are_written_with_the_currency_decimals(
    minor: int, currency: str, text: str
) -> None:
    # Given minor units / When formatted / Then major-unit text with exactly the digits
    assert format_minor(minor, currency) == text


# --- format_decimal --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("12.50"), "12.5"),
        (Decimal("1500500"), "1500500"),
        (Decimal("1E+3"), "1000"),
        (Decimal("1.5"), "1.5"),
        (Decimal("0.0006"), "0.0006"),
        (Decimal("1.5E-7"), "0.00000015"),
        (Decimal("0.00"), "0"),
        (Decimal("-0"), "0"),
        (Decimal("-10.0"), "-10"),
    ],
)
def test_a_decimal_is_written_plainly_without_trailing_zeros(value: Decimal, text: str) -> None:
    # Given a decimal / When formatted / Then plain text: no exponent, no trailing zeros
    assert format_decimal(value) == text


def test_a_decimal_with_thirty_significant_digits_is_written_exactly() -> None:
    # Given 1234567890.12345678901234567890 (30 significant digits, one trailing zero)
    value = Decimal("1234567890.12345678901234567890")
    # When formatted
    text = format_decimal(value)
    # Then only the trailing zero goes: 1234567890.1234567890123456789
    assert text == "1234567890.1234567890123456789"


def test_a_fraction_survives_its_text_form() -> None:
    # Given 2/3 (a budget scale) / When written and read back / Then the same fraction
    text = format_fraction(Fraction(1200, 1800))
    assert text == "2/3"
    assert parse_fraction(text) == Fraction(2, 3)
