"""Exact money: decimal amounts in the major unit, integer minor units, ISO 4217 digits.

Nothing here touches binary floating point. Intermediate results that are not
terminating decimals (a pool share, a budget scale) are `Fraction`s and are only
rounded, down, at the very end.
"""

import math
from decimal import (
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
)
from fractions import Fraction

# Decimal arithmetic that must stay exact: any rounding raises instead of passing silently.
# 100 digits hold any product of bounded inputs (rules: 15 + 6 digits; counts: 1e9 an
# event); a creator whose sums still outgrew it would be held, never rounded.
EXACT = Context(prec=100, traps=[Inexact, Rounded, InvalidOperation, DivisionByZero, Overflow])

# ISO 4217 minor-unit digits of the currencies the program pays in.
MINOR_DIGITS: dict[str, int] = {"USD": 2, "JPY": 0, "KRW": 0}


class UnsupportedCurrency(ValueError):
    pass


def minor_digits(currency: str) -> int:
    try:
        return MINOR_DIGITS[currency]
    except KeyError:
        supported = ", ".join(sorted(MINOR_DIGITS))
        raise UnsupportedCurrency(
            f"unsupported currency {currency!r} (supported: {supported})"
        ) from None


def parse_decimal(value: object) -> Decimal:
    """A finite decimal from a string, an int or a Decimal; never from a float or a bool."""
    if isinstance(value, bool | float):
        raise ValueError("must be a decimal string, not a binary float")
    if isinstance(value, Decimal):
        parsed = value
    elif isinstance(value, int):
        parsed = Decimal(value)
    elif isinstance(value, str):
        try:
            parsed = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {value!r}") from None
    else:
        raise ValueError(f"must be a decimal string, got {type(value).__name__}")
    if not parsed.is_finite():
        raise ValueError(f"must be a finite number: {value!r}")
    return parsed


def decimal_places(amount: Decimal) -> int:
    exponent = amount.normalize(EXACT).as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


def check_amount(amount: Decimal, currency: str) -> Decimal:
    """An amount in `currency` may not have more decimals than its minor unit."""
    digits = minor_digits(currency)
    if decimal_places(amount) > digits:
        if digits == 0:
            raise ValueError(f"{currency} has no minor unit: {format_decimal(amount)} has decimals")
        raise ValueError(f"{currency} has {digits} decimals: {format_decimal(amount)} has more")
    return amount


def to_minor_floor(amount: Fraction | Decimal, currency: str) -> int:
    """Round down to a whole number of minor units."""
    scale: int = 10 ** minor_digits(currency)
    return math.floor(Fraction(amount) * scale)


def to_minor_exact(amount: Decimal, currency: str) -> int:
    return to_minor_floor(check_amount(amount, currency), currency)


def format_minor(minor: int, currency: str) -> str:
    """Minor units as a major-unit decimal string with the currency's digits: 493 -> 4.93."""
    digits = minor_digits(currency)
    if digits == 0:
        return str(minor)
    sign = "-" if minor < 0 else ""
    whole, part = divmod(abs(minor), 10**digits)
    return f"{sign}{whole}.{part:0{digits}d}"


def format_decimal(value: Decimal) -> str:
    """Plain decimal text, never scientific notation, no trailing zeros: 12.50 -> 12.5."""
    if value == 0:
        return "0"
    return format(value.normalize(EXACT), "f")


def format_fraction(value: Fraction) -> str:
    return f"{value.numerator}/{value.denominator}"


def parse_fraction(text: str) -> Fraction:
    numerator, denominator = text.split("/")
    return Fraction(int(numerator), int(denominator))
