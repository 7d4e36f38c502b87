"""Bonus periods: calendar months in UTC, named YYYY-MM, as the half-open [start, end)."""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_NAME = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass(frozen=True, order=True)
class Period:
    year: int
    month: int

    @classmethod
    def parse(cls, name: str) -> "Period":
        match = _NAME.fullmatch(name)
        if match is None:
            raise ValueError(f"not a period (YYYY-MM): {name!r}")
        return cls(int(match.group(1)), int(match.group(2)))

    @classmethod
    def containing(cls, instant: datetime) -> "Period":
        utc = instant.astimezone(UTC)
        return cls(utc.year, utc.month)

    @property
    def name(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.next().start

    def next(self) -> "Period":
        return Period(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> "Period":
        return Period(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end

    def is_due(self, now: datetime, grace_hours: int) -> bool:
        """The scheduled run computes a period once its end plus the grace has passed."""
        return now >= self.end + timedelta(hours=grace_hours)

    def __str__(self) -> str:
        return self.name


def due_periods(now: datetime, grace_hours: int, window_months: int) -> list[Period]:
    """The most recent `window_months` periods that are due at `now`, oldest first."""
    period = Period.containing(now).previous()
    while not period.is_due(now, grace_hours):
        period = period.previous()
    due = [period]
    for _ in range(window_months - 1):
        due.append(due[-1].previous())
    return sorted(due)


def closed_periods_since(instant: datetime, now: datetime, limit: int) -> list[Period]:
    """The periods whose end is after `instant` and at or before `now` (at most `limit`,
    the most recent): the closed periods a fact that occurred at `instant` can change."""
    periods: list[Period] = []
    period = Period.containing(now).previous()
    while len(periods) < limit and period.end > instant:
        periods.append(period)
        period = period.previous()
    return sorted(periods)
