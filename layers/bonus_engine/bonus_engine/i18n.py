"""Texts for people, in Korean, Japanese or English (SPEC section 7).

Messages live in gettext catalogs, `locales/<locale>/LC_MESSAGES/bonus.po`, read as they
are with Babel (no compile step: the layer ships the `.po` files and reads them once per
container). A message id is a stable code (`statement.amount`); its text has Python
`str.format` placeholders (`{amount}`), the same in every catalog (a unit test checks).
Amounts are formatted from integer minor units through `Decimal`, never a float.
"""

import gettext
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from babel.numbers import format_decimal as babel_format_decimal

from bonus_engine.money import minor_digits

LOCALES = ("en", "ko", "ja")
DEFAULT_LOCALE = "en"
CATALOG_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "bonus"

_LANGUAGE_RANGE = re.compile(r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*$")
_QUALITY = re.compile(r"^\s*q\s*=\s*([01](?:\.\d{0,3})?)\s*$", re.IGNORECASE)


def negotiate(accept_language: str | None) -> str:
    """The best of `ko`, `ja`, `en` for an `Accept-Language` header (q-values honoured;
    `ko-KR` matches `ko`); `en` when nothing matches or the header is absent or bad."""
    if not accept_language:
        return DEFAULT_LOCALE
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:32]):
        language, *parameters = part.split(";")
        match = _LANGUAGE_RANGE.match(language)
        if match is None:
            continue
        quality = 1.0
        for parameter in parameters:
            weight = _QUALITY.match(parameter)
            if weight is not None:
                quality = float(weight.group(1))  # a preference, never money
        if quality > 0:
            ranked.append((-quality, position, match.group(1).lower()))
    for _, _, tag in sorted(ranked):
        primary = tag.split("-", 1)[0]
        if primary in LOCALES:
            return primary
        if primary == "*":
            return DEFAULT_LOCALE
    return DEFAULT_LOCALE


@dataclass(frozen=True)
class _LoadedCatalog:
    catalog: Catalog
    plural: Callable[[int], int]


@cache
def _catalog(locale: str) -> _LoadedCatalog:
    if locale not in LOCALES:
        raise ValueError(f"unsupported locale {locale!r}")
    path = CATALOG_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as file:
        catalog = read_po(file, locale=locale, domain=DOMAIN)
    return _LoadedCatalog(catalog, gettext.c2py(catalog.plural_expr))


def catalog(locale: str) -> Catalog:
    """The locale's catalog, as read from its `.po` file (cached)."""
    return _catalog(locale).catalog


def message_ids(locale: str = DEFAULT_LOCALE) -> list[str]:
    return sorted(str(_singular(message.id)) for message in catalog(locale) if message.id)


def _singular(message_id: str | tuple[str, ...] | list[str]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def text(locale: str, message_id: str, count: int | None = None, **values: object) -> str:
    """The message in `locale` (falling back to English when a translation is empty),
    with its placeholders filled. `count` picks the plural form of plural messages."""
    for candidate in (locale, DEFAULT_LOCALE):
        loaded = _catalog(candidate)
        message = loaded.catalog.get(message_id)
        if message is None:
            continue
        string = message.string
        chosen: str | None
        if isinstance(string, tuple | list):
            index = loaded.plural(count if count is not None else 1)
            chosen = string[min(index, len(string) - 1)]
        else:
            chosen = string
        if chosen:
            return str(chosen).format(**values)
    raise KeyError(f"no message {message_id!r}")


def format_money(amount_minor: int, currency: str, locale: str) -> str:
    """`₩2,500,000`, `￥5,000`, `$261.17`: integer minor units shown in the locale."""
    amount = Decimal(amount_minor).scaleb(-minor_digits(currency))
    return str(format_currency(amount, currency, locale=locale))


def format_number(value: str | int, locale: str) -> str:
    """A decimal string (points, counts) grouped for the locale, every digit kept."""
    return str(babel_format_decimal(Decimal(value), locale=locale, decimal_quantization=False))


def placeholders(string: str) -> set[str]:
    """The `{name}` placeholders of a message text."""
    return set(re.findall(r"\{([a-z_]+)\}", string))


def texts(locale: str, message_ids_: Mapping[str, str]) -> dict[str, str]:
    """Several messages without placeholders at once, by key."""
    return {key: text(locale, message_id) for key, message_id in message_ids_.items()}
