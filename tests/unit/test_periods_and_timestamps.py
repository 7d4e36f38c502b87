"""Bonus periods (calendar months in UTC, named YYYY-MM, half-open [start, end)) and RFC
3339 instants. Expected values are written by hand."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bonus_engine.periods import Period, closed_periods_since, due_periods
from bonus_engine.timestamps import from_utc_text, parse_rfc3339, to_utc_text

TOKYO = timezone(timedelta(hours=9))
NEW_YORK = timezone(timedelta(hours=-5))
MICROSECOND = timedelta(microseconds=1)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def months(*names: str) -> list[Period]:
    return [Period.parse(name) for name in names]


# -- naming -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "year", "month"),
    [
        pytest.param("2026-03", 2026, 3, id="march"),
        pytest.param("2025-12", 2025, 12, id="december"),
        pytest.param("2027-01", 2027, 1, id="january"),
    ],
)
def test_a_period_name_parses_into_its_year_and_month(name: str, year: int, month: int) -> None:
    # Given a YYYY-MM name
    # When it is parsed
    period = Period.parse(name)
    # Then it is that month, and is named as it was written
    assert (period.year, period.month) == (year, month)
    assert period.name == name
    assert str(period) == name


@pytest.mark.parametrize(
    "name",
    ["2026-13", "2026-00", "2026-3", "26-03", "2026-03-01", "2026/03", " 2026-03", "2026-03\n", ""],
)
def test_a_name_that_is_not_yyyy_mm_is_refused(name: str) -> None:
    # Given a name that is not a month in YYYY-MM
    # When it is parsed
    # Then it is refused
    with pytest.raises(ValueError, match="YYYY-MM"):
        Period.parse(name)


def test_a_period_name_pads_the_month_with_a_zero() -> None:
    # Given the period of March 2026
    # When it is named
    # Then the month has two digits
    assert Period(2026, 3).name == "2026-03"


# -- bounds -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        pytest.param("2026-03", utc(2026, 3, 1), utc(2026, 4, 1), id="march"),
        pytest.param("2026-12", utc(2026, 12, 1), utc(2027, 1, 1), id="december-into-next-year"),
        pytest.param("2024-02", utc(2024, 2, 1), utc(2024, 3, 1), id="leap-february"),
        pytest.param("2026-01", utc(2026, 1, 1), utc(2026, 2, 1), id="january"),
    ],
)
def test_a_period_runs_from_the_first_of_its_month_to_the_first_of_the_next_in_utc(
    name: str, start: datetime, end: datetime
) -> None:
    # Given a period
    period = Period.parse(name)
    # When its bounds are asked
    # Then they are midnight UTC on the first of the month and of the next month
    assert period.start == start
    assert period.end == end
    assert period.start.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("name", "following", "preceding"),
    [
        pytest.param("2026-12", "2027-01", "2026-11", id="december"),
        pytest.param("2027-01", "2027-02", "2026-12", id="january"),
        pytest.param("2026-06", "2026-07", "2026-05", id="june"),
        pytest.param("2026-11", "2026-12", "2026-10", id="november"),
        pytest.param("2026-02", "2026-03", "2026-01", id="february"),
    ],
)
def test_next_and_previous_cross_year_boundaries(name: str, following: str, preceding: str) -> None:
    # Given a period
    period = Period.parse(name)
    # When the next and previous periods are asked
    # Then they are the adjacent calendar months
    assert period.next().name == following
    assert period.previous().name == preceding


def test_periods_sort_in_time_order() -> None:
    # Given periods across a year boundary, out of order
    periods = months("2027-01", "2026-02", "2026-12", "2026-11")
    # When they are sorted
    # Then they are in time order
    assert [p.name for p in sorted(periods)] == ["2026-02", "2026-11", "2026-12", "2027-01"]


@pytest.mark.parametrize(
    ("instant", "inside"),
    [
        pytest.param(utc(2026, 3, 1), True, id="start-is-inside"),
        pytest.param(utc(2026, 3, 15, 12), True, id="middle"),
        pytest.param(utc(2026, 4, 1) - MICROSECOND, True, id="just-before-end"),
        pytest.param(utc(2026, 4, 1), False, id="end-is-outside"),
        pytest.param(utc(2026, 3, 1) - MICROSECOND, False, id="just-before-start"),
        pytest.param(datetime(2026, 4, 1, 8, 59, tzinfo=TOKYO), True, id="tokyo-still-march-utc"),
        pytest.param(datetime(2026, 4, 1, 9, 0, tzinfo=TOKYO), False, id="tokyo-at-end"),
        pytest.param(
            datetime(2026, 2, 28, 19, 0, tzinfo=NEW_YORK), True, id="new-york-already-march-utc"
        ),
    ],
)
def test_a_period_contains_its_start_but_not_its_end(instant: datetime, inside: bool) -> None:
    # Given the period 2026-03
    period = Period(2026, 3)
    # When it is asked whether it contains an instant
    # Then [start, end) is half-open, compared in UTC
    assert period.contains(instant) is inside


@pytest.mark.parametrize(
    ("instant", "name"),
    [
        pytest.param(utc(2026, 3, 31, 23, 59, 59), "2026-03", id="utc"),
        pytest.param(datetime(2026, 4, 1, 5, 0, tzinfo=TOKYO), "2026-03", id="tokyo-morning"),
        pytest.param(datetime(2026, 12, 31, 20, 0, tzinfo=NEW_YORK), "2027-01", id="new-year"),
    ],
)
def test_the_period_containing_an_instant_is_its_utc_month(instant: datetime, name: str) -> None:
    # Given an instant, possibly with an offset
    # When the period containing it is asked
    # Then it is the month the instant falls in, in UTC
    assert Period.containing(instant).name == name


# -- due periods ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "due"),
    [
        pytest.param(utc(2026, 3, 1), False, id="at-end"),
        pytest.param(utc(2026, 3, 3) - MICROSECOND, False, id="just-before-grace-ends"),
        pytest.param(utc(2026, 3, 3), True, id="grace-just-ended"),
        pytest.param(utc(2026, 6, 1), True, id="long-after"),
    ],
)
def test_a_period_is_due_once_its_end_plus_grace_has_passed(now: datetime, due: bool) -> None:
    # Given the period 2026-02 (ends 2026-03-01) and a 48 hour grace
    period = Period(2026, 2)
    # When it is asked whether it is due at `now`
    # Then it is due from end + 48h on
    assert period.is_due(now, grace_hours=48) is due


def test_with_no_grace_a_period_is_due_at_its_end() -> None:
    # Given the period 2026-02 and no grace
    period = Period(2026, 2)
    # When asked at its end, and just before
    # Then it is due at the end and not before
    assert period.is_due(utc(2026, 3, 1), grace_hours=0) is True
    assert period.is_due(utc(2026, 3, 1) - MICROSECOND, grace_hours=0) is False


def test_due_periods_lists_the_window_oldest_first_across_a_year_boundary() -> None:
    # Given 2026-02 became due at 2026-03-03 (48h grace)
    # When the 3 most recent due periods are asked on 2026-03-03
    due = due_periods(utc(2026, 3, 3), grace_hours=48, window_months=3)
    # Then they are 2025-12, 2026-01, 2026-02, oldest first
    assert due == months("2025-12", "2026-01", "2026-02")


def test_due_periods_skips_the_last_month_while_its_grace_runs() -> None:
    # Given it is 2026-03-02 12:00, inside the 48h grace of 2026-02
    # When the 3 most recent due periods are asked
    due = due_periods(utc(2026, 3, 2, 12), grace_hours=48, window_months=3)
    # Then 2026-02 is not among them: the window ends at 2026-01
    assert due == months("2025-11", "2025-12", "2026-01")


def test_due_periods_with_no_grace_includes_the_month_that_just_ended() -> None:
    # Given no grace and the first instant of 2026
    # When the 2 most recent due periods are asked
    due = due_periods(utc(2026, 1, 1), grace_hours=0, window_months=2)
    # Then they are 2025-11 and 2025-12
    assert due == months("2025-11", "2025-12")


def test_due_periods_with_a_grace_longer_than_a_month_goes_back_further() -> None:
    # Given a 40 day grace (960 hours) on 2026-03-05:
    # 2026-02 is due on 2026-04-10, 2026-01 on 2026-03-13, 2025-12 on 2026-02-10
    # When the most recent due period is asked
    due = due_periods(utc(2026, 3, 5), grace_hours=960, window_months=1)
    # Then it is 2025-12
    assert due == months("2025-12")


# -- closed periods a late fact can change ----------------------------------------------


def test_closed_periods_since_lists_every_closed_period_ending_after_the_instant() -> None:
    # Given a fact from 2026-01-15, seen on 2026-03-10
    # When the closed periods it can change are asked
    periods = closed_periods_since(utc(2026, 1, 15), utc(2026, 3, 10), limit=12)
    # Then they are 2026-01 and 2026-02 (2026-03 is not closed), oldest first
    assert periods == months("2026-01", "2026-02")


def test_a_fact_at_the_end_of_a_period_does_not_change_that_period() -> None:
    # Given a fact at 2026-02-01T00:00Z, the end of 2026-01, seen on 2026-03-10
    # When the closed periods it can change are asked
    periods = closed_periods_since(utc(2026, 2, 1), utc(2026, 3, 10), limit=12)
    # Then only 2026-02 (eligibility of 2026-01 counts facts before its end only)
    assert periods == months("2026-02")


def test_closed_periods_since_keeps_only_the_most_recent_within_the_limit() -> None:
    # Given a fact from mid 2025, seen on 2026-03-10
    # When at most 3 closed periods are asked
    periods = closed_periods_since(utc(2025, 6, 1), utc(2026, 3, 10), limit=3)
    # Then they are the 3 most recent, across the year boundary, oldest first
    assert periods == months("2025-12", "2026-01", "2026-02")


def test_a_fact_in_the_open_period_changes_no_closed_period() -> None:
    # Given a fact from the current month
    # When the closed periods it can change are asked
    periods = closed_periods_since(utc(2026, 3, 2), utc(2026, 3, 10), limit=12)
    # Then there are none
    assert periods == []


def test_a_period_ending_exactly_now_is_closed() -> None:
    # Given a fact from 2026-02-10, seen exactly at 2026-03-01T00:00Z
    # When the closed periods it can change are asked
    periods = closed_periods_since(utc(2026, 2, 10), utc(2026, 3, 1), limit=12)
    # Then 2026-02 is closed (its end is at or before now)
    assert periods == months("2026-02")


# -- RFC 3339 ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        pytest.param("2026-03-01T12:00:00Z", utc(2026, 3, 1, 12), id="Z"),
        pytest.param("2026-03-01t12:00:00z", utc(2026, 3, 1, 12), id="lower-case-t-and-z"),
        pytest.param("2026-03-01T12:00:00+00:00", utc(2026, 3, 1, 12), id="+00:00"),
        pytest.param("2026-03-01T09:00:00+09:00", utc(2026, 3, 1), id="+09:00"),
        pytest.param("2026-03-01T03:00:00+09:00", utc(2026, 2, 28, 18), id="+09:00-day-before"),
        pytest.param("2026-02-28T19:30:00-05:00", utc(2026, 3, 1, 0, 30), id="-05:00-day-after"),
        pytest.param("2026-12-31T23:00:00-02:00", utc(2027, 1, 1, 1), id="-02:00-next-year"),
        pytest.param("2024-02-29T00:00:00Z", utc(2024, 2, 29), id="leap-day"),
    ],
)
def test_an_rfc3339_instant_with_an_offset_parses_to_utc(text: str, instant: datetime) -> None:
    # Given an RFC 3339 timestamp with an offset
    # When it is parsed
    parsed = parse_rfc3339(text)
    # Then it is that instant, held in UTC
    assert parsed == instant
    assert parsed.utcoffset() == timedelta(0)
    assert (parsed.year, parsed.month, parsed.day, parsed.hour, parsed.minute) == (
        instant.year,
        instant.month,
        instant.day,
        instant.hour,
        instant.minute,
    )


@pytest.mark.parametrize(
    ("fraction", "microseconds"),
    [
        pytest.param("1", 100000, id="1-digit"),
        pytest.param("12", 120000, id="2-digits"),
        pytest.param("123", 123000, id="3-digits"),
        pytest.param("1234", 123400, id="4-digits"),
        pytest.param("12345", 123450, id="5-digits"),
        pytest.param("123456", 123456, id="6-digits"),
        pytest.param("1234567", 123456, id="7-digits-truncated"),
        pytest.param("12345678", 123456, id="8-digits-truncated"),
        pytest.param("123456789", 123456, id="9-digits-truncated"),
        pytest.param("999999999", 999999, id="9-nines-truncated-not-rounded"),
        pytest.param("000001", 1, id="one-microsecond"),
    ],
)
def test_fractions_of_one_to_nine_digits_are_read_to_the_microsecond(
    fraction: str, microseconds: int
) -> None:
    # Given a timestamp with a fraction of a second
    # When it is parsed
    parsed = parse_rfc3339(f"2026-03-01T12:00:00.{fraction}Z")
    # Then the microseconds are the fraction's first six digits
    assert parsed == utc(2026, 3, 1, 12) + timedelta(microseconds=microseconds)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("2026-03-01T12:00:00", id="missing-offset"),
        pytest.param("2026-03-01", id="date-only"),
        pytest.param("2026-03-01 12:00:00Z", id="space-separator"),
        pytest.param("2026-03-01T12:00Z", id="no-seconds"),
        pytest.param("2026-03-01T12:00:00.Z", id="empty-fraction"),
        pytest.param("2026-03-01T12:00:00.1234567890Z", id="10-digit-fraction"),
        pytest.param("2026-03-01T12:00:00+0900", id="offset-without-colon"),
        pytest.param("2026-03-01T12:00:00+09", id="offset-hours-only"),
        pytest.param("2026-03-01T12:00:00 Z", id="space-before-Z"),
        pytest.param("2026-03-01T12:00:00Z\n", id="trailing-newline"),
        pytest.param(" 2026-03-01T12:00:00Z", id="leading-space"),
        pytest.param("2026-02-30T00:00:00Z", id="no-such-day"),
        pytest.param("2026-03-01T24:00:00Z", id="hour-24"),
        pytest.param("2026-03-01T12:00:00+24:00", id="offset-24h"),
        pytest.param("20260301T120000Z", id="basic-format"),
        pytest.param("", id="empty"),
    ],
)
def test_a_string_that_is_not_rfc3339_with_an_offset_is_refused(text: str) -> None:
    # Given a string that is not an RFC 3339 instant with an offset
    # When it is parsed
    # Then it is refused
    with pytest.raises(ValueError, match=r"RFC 3339|not a valid instant"):
        parse_rfc3339(text)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(1772366400, id="epoch-seconds"),
        pytest.param(1772366400.5, id="float"),
        pytest.param(None, id="none"),
        pytest.param(b"2026-03-01T12:00:00Z", id="bytes"),
        pytest.param(utc(2026, 3, 1, 12), id="datetime"),
    ],
)
def test_a_value_that_is_not_a_string_is_refused(value: object) -> None:
    # Given something other than a string
    # When it is parsed
    # Then it is refused as not an RFC 3339 string
    with pytest.raises(ValueError, match="RFC 3339 string"):
        parse_rfc3339(value)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("0001-01-01T00:00:00+01:00", id="before-year-1-in-utc"),
        pytest.param("9999-12-31T23:59:59-01:00", id="after-year-9999-in-utc"),
    ],
)
def test_an_instant_outside_the_calendar_once_in_utc_is_refused_as_a_value_error(
    text: str,
) -> None:
    # Given a well-formed timestamp whose UTC instant is outside years 1..9999
    # When it is parsed
    # Then it is refused like any other invalid instant (a ValueError)
    with pytest.raises(ValueError, match="not a valid instant"):
        parse_rfc3339(text)


# -- sortable UTC text ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "text"),
    [
        pytest.param(utc(2026, 3, 1, 12), "2026-03-01T12:00:00.000000Z", id="utc"),
        pytest.param(
            datetime(2026, 3, 1, 9, tzinfo=TOKYO), "2026-03-01T00:00:00.000000Z", id="tokyo"
        ),
        pytest.param(
            datetime(2026, 2, 28, 19, 30, 0, 5, tzinfo=NEW_YORK),
            "2026-03-01T00:30:00.000005Z",
            id="new-york-with-microseconds",
        ),
    ],
)
def test_to_utc_text_writes_a_fixed_width_utc_instant(instant: datetime, text: str) -> None:
    # Given an aware instant
    # When it is written as UTC text
    written = to_utc_text(instant)
    # Then it is the instant in UTC, to the microsecond, ending in Z
    assert written == text


def test_to_utc_text_refuses_a_naive_datetime() -> None:
    # Given a datetime with no timezone
    naive = datetime(2026, 3, 1, 12)  # noqa: DTZ001 (the point of the test)
    # When it is written as UTC text
    # Then it is refused
    with pytest.raises(ValueError, match="timezone-aware"):
        to_utc_text(naive)


_zones = st.sampled_from([UTC, TOKYO, NEW_YORK, timezone(timedelta(hours=5, minutes=45))])
_aware = st.datetimes(
    min_value=datetime(1000, 1, 2),  # noqa: DTZ001 (hypothesis bounds are naive)
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=_zones,
)


@settings(max_examples=200, deadline=None)
@given(first=_aware, second=_aware)
def test_utc_text_is_fixed_width_and_sorts_like_time(first: datetime, second: datetime) -> None:
    # Given two aware instants in any offsets
    # When both are written as UTC text
    first_text, second_text = to_utc_text(first), to_utc_text(second)
    # Then both have the same width and text order is time order
    assert len(first_text) == len(second_text) == len("2026-03-01T12:00:00.000000Z")
    assert (first_text < second_text) == (first < second)
    assert (first_text == second_text) == (first == second)


@settings(max_examples=100, deadline=None)
@given(instant=_aware)
def test_utc_text_reads_back_as_the_same_instant(instant: datetime) -> None:
    # Given an aware instant
    # When it is written as UTC text and read back
    # Then it is the same instant
    assert from_utc_text(to_utc_text(instant)) == instant


def test_utc_text_of_a_year_before_1000_keeps_four_digits() -> None:
    # Given an instant in the year 999, which parse_rfc3339 accepts as "0999-..."
    instant = parse_rfc3339("0999-01-01T00:00:00Z")
    # When it is written as UTC text
    text = to_utc_text(instant)
    # Then the year keeps four digits, so the text sorts before any later instant
    assert text == "0999-01-01T00:00:00.000000Z"
    assert text < "2026-01-01T00:00:00.000000Z"
