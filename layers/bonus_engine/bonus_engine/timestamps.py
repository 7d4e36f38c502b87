"""RFC 3339 instants: parsed strictly, always timezone-aware, stored as sortable UTC text."""

import re
from datetime import UTC, datetime
from typing import Annotated

from pydantic import BeforeValidator

_RFC3339 = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:\d{2})$"
)


def parse_rfc3339(value: object) -> datetime:
    """Parse an RFC 3339 timestamp that carries an offset (`Z` or `+hh:mm`).

    Fractions beyond microseconds are truncated (Python's datetime holds microseconds).
    """
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 string with an offset")
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise ValueError("must be RFC 3339 with an offset, like 2026-03-01T12:00:00Z")
    day, time, fraction, offset = match.groups()
    micro = f".{(fraction or '0')[:6].ljust(6, '0')}"
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        return datetime.fromisoformat(f"{day}T{time}{micro}{offset}").astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise ValueError(f"not a valid instant: {error}") from None


Rfc3339 = Annotated[datetime, BeforeValidator(parse_rfc3339)]


def to_utc_text(instant: datetime) -> str:
    """Fixed-width UTC text, so that text order is time order (used in sort keys)."""
    if instant.tzinfo is None:
        raise ValueError("instant must be timezone-aware")
    utc = instant.astimezone(UTC)
    return f"{utc.year:04d}-" + utc.strftime("%m-%dT%H:%M:%S.%fZ")


def from_utc_text(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def utc_now() -> datetime:
    """The clock every handler reads (one seam: the local tools and tests can set it)."""
    return datetime.now(UTC)
