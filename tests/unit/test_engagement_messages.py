"""Engagement messages (SPEC section 1): one event or an envelope of 1 to 500, each event
judged on its own, rejected with a reason code that never blocks the valid ones."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bonus_engine.engagement import (
    EngagementEvent,
    MessageContext,
    ParsedMessage,
    parse_message,
    rejection_for_conflict,
)
from bonus_engine.periods import Period
from bonus_engine.rejections import RejectionReason

# --- builders --------------------------------------------------------------------------

NOW = datetime(2026, 3, 15, 12, 0, 0, tzinfo=UTC)
RECEIVED = datetime(2026, 3, 15, 11, 59, 0, tzinfo=UTC)
CONTEXT = MessageContext(message_id="msg-1", received_at=RECEIVED)
MISSING = object()


def event(**changes: Any) -> dict[str, Any]:
    """A valid event; a field set to MISSING is left out."""
    fields: dict[str, Any] = {
        "event_id": "evt-1",
        "creator_id": "creator-1",
        "post_id": "post-1",
        "format": "reel",
        "metric": "view",
        "count": 3,
        "occurred_at": "2026-03-10T09:30:00Z",
    }
    fields.update(changes)
    return {name: value for name, value in fields.items() if value is not MISSING}


def parse(document: Any, now: datetime = NOW) -> ParsedMessage:
    return parse_message(json.dumps(document), CONTEXT, now)


def reasons(parsed: ParsedMessage) -> list[str]:
    return [rejection.reason.value for rejection in parsed.rejections]


def accepted_one(parsed: ParsedMessage) -> bool:
    return len(parsed.events) == 1 and parsed.rejections == []


def rejected_one_invalid_event(parsed: ParsedMessage) -> bool:
    return parsed.events == [] and reasons(parsed) == ["invalid_event"]


# --- one event -----------------------------------------------------------------------------


def test_a_single_event_body_is_accepted_with_its_fields() -> None:
    # Given a body holding one valid event
    # When parsed
    parsed = parse(event(count=7, quality="paid"))
    # Then one event with its fields; occurred_at an instant in UTC
    assert parsed.rejections == []
    (accepted,) = parsed.events
    assert (accepted.event_id, accepted.creator_id, accepted.post_id) == (
        "evt-1",
        "creator-1",
        "post-1",
    )
    assert (accepted.format, accepted.metric, accepted.count) == ("reel", "view", 7)
    assert accepted.quality == "paid"
    assert accepted.occurred_at == datetime(2026, 3, 10, 9, 30, tzinfo=UTC)


def test_quality_defaults_to_organic() -> None:
    # Given an event without quality / When parsed / Then its quality is organic
    (accepted,) = parse(event()).events
    assert accepted.quality == "organic"


@pytest.mark.parametrize("quality", ["organic", "self", "paid", "invalid"])
def test_each_quality_of_the_contract_is_accepted(quality: str) -> None:
    # Given an event of each quality / When parsed / Then accepted with it
    (accepted,) = parse(event(quality=quality)).events
    assert accepted.quality == quality


@pytest.mark.parametrize("quality", ["boosted", "Organic", "", None])
def test_an_unknown_quality_is_rejected(quality: object) -> None:
    # Given an event with a quality outside the contract / When parsed / Then rejected
    assert rejected_one_invalid_event(parse(event(quality=quality)))


@pytest.mark.parametrize("format_", ["reel", "carousel", "standard"])
def test_each_format_of_the_contract_is_accepted(format_: str) -> None:
    # Given an event of each format / When parsed / Then accepted
    assert accepted_one(parse(event(format=format_)))


@pytest.mark.parametrize("format_", ["story", "Reel", "", 1])
def test_an_unknown_format_is_rejected(format_: object) -> None:
    # Given an event with a format outside the contract / When parsed / Then rejected
    assert rejected_one_invalid_event(parse(event(format=format_)))


@pytest.mark.parametrize("metric", ["view", "like", "comment", "share"])
def test_each_metric_of_the_contract_is_accepted(metric: str) -> None:
    # Given an event of each metric / When parsed / Then accepted
    assert accepted_one(parse(event(metric=metric)))


@pytest.mark.parametrize("metric", ["save", "views", "LIKE"])
def test_an_unknown_metric_is_rejected(metric: str) -> None:
    # Given an event with a metric outside the contract / When parsed / Then rejected
    assert rejected_one_invalid_event(parse(event(metric=metric)))


@pytest.mark.parametrize(
    "field", ["event_id", "creator_id", "post_id", "format", "metric", "count", "occurred_at"]
)
def test_an_event_missing_a_required_field_is_rejected(field: str) -> None:
    # Given an event without one required field
    # When parsed / Then rejected, the detail naming the field
    parsed = parse(event(**{field: MISSING}))
    assert rejected_one_invalid_event(parsed)
    assert field in parsed.rejections[0].detail


def test_an_unknown_field_is_rejected() -> None:
    # Given an event with a field the contract does not define
    # When parsed / Then rejected as an unknown field
    parsed = parse(event(campaign="spring"))
    assert rejected_one_invalid_event(parsed)
    assert "campaign: unknown field" in parsed.rejections[0].detail


# --- identifiers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "event_id", ["a", "E.v_t:1-2", "x" * 128, "2026-03-10T09:30:00Z", "ABCxyz019"]
)
def test_an_event_id_of_1_to_128_allowed_characters_is_accepted(event_id: str) -> None:
    # Given an event_id of A-Za-z0-9._:- of 1 to 128 chars / When parsed / Then accepted
    (accepted,) = parse(event(event_id=event_id)).events
    assert accepted.event_id == event_id


@pytest.mark.parametrize(
    "event_id", ["", "x" * 129, "evt#1", "evt 1", "évt", "evt/1", "evt-1\n", "evt@1", 12]
)
def test_an_event_id_outside_the_charset_or_length_is_rejected(event_id: object) -> None:
    # Given an empty, too long, or foreign-character event_id (or not a string)
    # When parsed / Then rejected
    assert rejected_one_invalid_event(parse(event(event_id=event_id)))


@pytest.mark.parametrize("field", ["creator_id", "post_id"])
@pytest.mark.parametrize("value", ["a", "Ab.c_d-9", "x" * 64])
def test_a_creator_or_post_id_of_1_to_64_allowed_characters_is_accepted(
    field: str, value: str
) -> None:
    # Given a creator_id or post_id of A-Za-z0-9._- of 1 to 64 chars / Then accepted
    (accepted,) = parse(event(**{field: value})).events
    assert getattr(accepted, field) == value


@pytest.mark.parametrize("field", ["creator_id", "post_id"])
@pytest.mark.parametrize("value", ["", "x" * 65, "a:b", "a#b", "a b", "a/b", "ü", "a\n"])
def test_a_creator_or_post_id_outside_the_charset_or_length_is_rejected(
    field: str, value: str
) -> None:
    # Given a creator_id or post_id that is empty, 65 chars, or holds ':' '#' ' ' '/' ...
    # When parsed / Then rejected (':' is allowed in an event_id only)
    assert rejected_one_invalid_event(parse(event(**{field: value})))


# --- count ---------------------------------------------------------------------------------


@pytest.mark.parametrize("count", [1, -1, 42, -7, 1_000_000_000, -1_000_000_000])
def test_a_non_zero_count_up_to_a_billion_either_way_is_accepted(count: int) -> None:
    # Given a count of absolute value 1 to 1,000,000,000 (negative: a retraction)
    # When parsed / Then accepted with its sign
    (accepted,) = parse(event(count=count)).events
    assert accepted.count == count


def test_a_zero_count_is_rejected() -> None:
    # Given a count of 0 / When parsed / Then rejected: it must not be zero
    parsed = parse(event(count=0))
    assert rejected_one_invalid_event(parsed)
    assert "count: must not be zero" in parsed.rejections[0].detail


@pytest.mark.parametrize("count", [1_000_000_001, -1_000_000_001, 10**30])
def test_a_count_beyond_a_billion_is_rejected(count: int) -> None:
    # Given a count of absolute value above 1,000,000,000 / When parsed / Then rejected
    assert rejected_one_invalid_event(parse(event(count=count)))


@pytest.mark.parametrize("count", [True, False, 3.0, 2.5, "3", None, [3]])
def test_a_count_that_is_not_a_json_integer_is_rejected(count: object) -> None:
    # Given a bool, a float, a numeric string, null or a list as the count
    # When parsed / Then rejected, never coerced
    assert rejected_one_invalid_event(parse(event(count=count)))


# --- occurred_at ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-03-10T09:30:00Z", datetime(2026, 3, 10, 9, 30, tzinfo=UTC)),
        ("2026-03-10T18:30:00+09:00", datetime(2026, 3, 10, 9, 30, tzinfo=UTC)),
        ("2026-03-10T04:30:00-05:00", datetime(2026, 3, 10, 9, 30, tzinfo=UTC)),
        ("2026-03-10T09:30:00.250Z", datetime(2026, 3, 10, 9, 30, 0, 250000, tzinfo=UTC)),
        ("2026-03-10T09:30:00+00:00", datetime(2026, 3, 10, 9, 30, tzinfo=UTC)),
    ],
)
def test_an_rfc_3339_time_with_an_offset_is_accepted_as_that_instant(
    text: str, instant: datetime
) -> None:
    # Given occurred_at in RFC 3339 with Z or a numeric offset
    # When parsed / Then the same instant, in UTC
    (accepted,) = parse(event(occurred_at=text)).events
    assert accepted.occurred_at == instant
    assert accepted.occurred_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "text",
    [
        "2026-03-10T09:30:00",  # no offset
        "2026-03-10",  # a date only
        "2026-03-10 09:30:00Z",  # a space, not T
        "10/03/2026 09:30",  # not RFC 3339
        "2026-02-30T09:30:00Z",  # no such day
        "2026-03-10T25:00:00Z",  # no such hour
        "",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
        1773135000,  # epoch seconds
    ],
)
def test_an_occurred_at_that_is_not_rfc_3339_with_an_offset_is_rejected(text: object) -> None:
    # Given occurred_at without an offset, in another format, or impossible
    # When parsed / Then rejected
    assert rejected_one_invalid_event(parse(event(occurred_at=text)))


def test_an_event_exactly_five_minutes_ahead_is_accepted() -> None:
    # Given now 12:00:00Z and occurred_at 12:05:00Z / When parsed / Then accepted
    assert accepted_one(parse(event(occurred_at="2026-03-15T12:05:00Z")))


def test_five_minutes_ahead_written_with_another_offset_is_accepted() -> None:
    # Given now 12:00:00Z and occurred_at 21:05:00+09:00 (= 12:05:00Z) / Then accepted
    assert accepted_one(parse(event(occurred_at="2026-03-15T21:05:00+09:00")))


@pytest.mark.parametrize(
    "text", ["2026-03-15T12:05:00.000001Z", "2026-03-15T12:05:01Z", "2026-04-01T00:00:00Z"]
)
def test_an_event_more_than_five_minutes_ahead_is_rejected_as_in_the_future(text: str) -> None:
    # Given now 12:00:00Z and occurred_at after 12:05:00Z
    # When parsed / Then rejected as occurred_in_future
    parsed = parse(event(occurred_at=text))
    assert parsed.events == []
    assert reasons(parsed) == ["occurred_in_future"]


def test_a_future_event_is_rejected_in_the_period_it_claims() -> None:
    # Given now 2026-03-31T23:58Z and an event at 2026-04-01T00:10Z (12 minutes ahead)
    now = datetime(2026, 3, 31, 23, 58, tzinfo=UTC)
    # When parsed / Then rejected, kept under April, the period it would have counted in
    parsed = parse(event(occurred_at="2026-04-01T00:10:00Z"), now=now)
    assert parsed.rejections[0].period == Period(2026, 4)


def test_an_event_of_a_past_month_is_accepted() -> None:
    # Given now in March and an event of January / When parsed / Then accepted
    assert accepted_one(parse(event(occurred_at="2026-01-31T23:59:59Z")))


# --- envelopes -----------------------------------------------------------------------------


def test_an_envelope_of_events_is_accepted_in_order() -> None:
    # Given an envelope of three valid events
    body = {"events": [event(event_id=f"evt-{index}") for index in range(3)]}
    # When parsed / Then three events, in the order they came
    parsed = parse(body)
    assert parsed.rejections == []
    assert [accepted.event_id for accepted in parsed.events] == ["evt-0", "evt-1", "evt-2"]


def test_an_envelope_of_one_event_is_accepted() -> None:
    # Given an envelope of one event / When parsed / Then one event
    assert accepted_one(parse({"events": [event()]}))


def test_an_envelope_of_500_events_is_accepted() -> None:
    # Given an envelope of 500 events / When parsed / Then all 500 are accepted
    parsed = parse({"events": [event(event_id=f"evt-{index}") for index in range(500)]})
    assert parsed.rejections == []
    assert len(parsed.events) == 500


def test_an_envelope_of_501_events_is_rejected_whole() -> None:
    # Given an envelope of 501 valid events / When parsed
    parsed = parse({"events": [event(event_id=f"evt-{index}") for index in range(501)]})
    # Then no event is accepted, and one invalid_envelope rejection says why
    assert parsed.events == []
    assert reasons(parsed) == ["invalid_envelope"]
    assert "501" in parsed.rejections[0].detail


def test_an_empty_envelope_is_rejected() -> None:
    # Given {"events": []} / When parsed / Then invalid_envelope
    parsed = parse({"events": []})
    assert parsed.events == []
    assert reasons(parsed) == ["invalid_envelope"]


def test_an_envelope_with_a_key_beside_events_is_rejected() -> None:
    # Given an envelope with "source" beside "events" / When parsed / Then invalid_envelope
    parsed = parse({"events": [event()], "source": "upstream"})
    assert parsed.events == []
    assert reasons(parsed) == ["invalid_envelope"]
    assert "source" in parsed.rejections[0].detail


@pytest.mark.parametrize("events", [event(), "evt-1", None, 3])
def test_an_envelope_whose_events_is_not_a_list_is_rejected(events: object) -> None:
    # Given "events" holding an object, a string, null or a number / Then invalid_envelope
    parsed = parse({"events": events})
    assert parsed.events == []
    assert reasons(parsed) == ["invalid_envelope"]


@pytest.mark.parametrize("document", [[event()], "evt-1", 42, None, True])
def test_a_body_that_is_not_a_json_object_is_rejected_as_an_invalid_envelope(
    document: object,
) -> None:
    # Given a body that is JSON but not an object (an array, a string, a number, ...)
    # When parsed / Then invalid_envelope, and no event
    parsed = parse(document)
    assert parsed.events == []
    assert reasons(parsed) == ["invalid_envelope"]


@pytest.mark.parametrize("body", ["not json", "", '{"event_id": "evt-1"', "{'a': 1}", "[1,]"])
def test_a_body_that_is_not_json_is_rejected_as_invalid_json(body: str) -> None:
    # Given a body that is not JSON / When parsed / Then invalid_json, with the raw body kept
    parsed = parse_message(body, CONTEXT, NOW)
    assert parsed.events == []
    assert reasons(parsed) == ["invalid_json"]
    assert parsed.rejections[0].raw == body


def test_deeply_nested_json_is_rejected_as_invalid_json_not_a_crash() -> None:
    # Given a body nested 100,000 levels deep / When parsed / Then invalid_json
    parsed = parse_message("[" * 100_000 + "]" * 100_000, CONTEXT, NOW)
    assert reasons(parsed) == ["invalid_json"]


# --- one bad event among good ones -----------------------------------------------------------


def test_one_bad_event_among_good_ones_is_rejected_alone_with_its_position() -> None:
    # Given an envelope of three events, the second with a count of 0
    body = {
        "events": [
            event(event_id="evt-0"),
            event(event_id="evt-1", count=0),
            event(event_id="evt-2"),
        ]
    }
    # When parsed
    parsed = parse(body)
    # Then the first and third are accepted; the second is rejected at position 1
    assert [accepted.event_id for accepted in parsed.events] == ["evt-0", "evt-2"]
    (rejection,) = parsed.rejections
    assert rejection.reason is RejectionReason.INVALID_EVENT
    assert rejection.position == 1
    assert rejection.event_id == "evt-1"
    assert rejection.creator_id == "creator-1"


def test_a_future_event_among_good_ones_is_rejected_alone_with_its_position() -> None:
    # Given an envelope whose third event is an hour ahead
    body = {
        "events": [
            event(event_id="evt-0"),
            event(event_id="evt-1"),
            event(event_id="evt-2", occurred_at="2026-03-15T13:00:00Z"),
        ]
    }
    # When parsed / Then two accepted, the third rejected as occurred_in_future at position 2
    parsed = parse(body)
    assert [accepted.event_id for accepted in parsed.events] == ["evt-0", "evt-1"]
    assert [(r.reason.value, r.position) for r in parsed.rejections] == [("occurred_in_future", 2)]


def test_an_envelope_item_that_is_not_an_object_is_rejected_alone() -> None:
    # Given an envelope of an event, the number 42 and another event
    parsed = parse({"events": [event(event_id="evt-0"), 42, event(event_id="evt-2")]})
    # When parsed / Then both events accepted, the 42 rejected as invalid_event at position 1
    assert [accepted.event_id for accepted in parsed.events] == ["evt-0", "evt-2"]
    assert [(r.reason.value, r.position) for r in parsed.rejections] == [("invalid_event", 1)]


def test_every_bad_event_of_an_envelope_is_rejected_with_its_own_position() -> None:
    # Given an envelope whose events 0 and 3 are bad (unknown field, float count)
    body = {
        "events": [
            event(event_id="evt-0", campaign="x"),
            event(event_id="evt-1"),
            event(event_id="evt-2"),
            event(event_id="evt-3", count=1.5),
        ]
    }
    # When parsed / Then 1 and 2 accepted; 0 and 3 rejected each at its position
    parsed = parse(body)
    assert [accepted.event_id for accepted in parsed.events] == ["evt-1", "evt-2"]
    assert [(r.position, r.event_id) for r in parsed.rejections] == [(0, "evt-0"), (3, "evt-3")]


def test_a_rejected_single_event_has_no_position() -> None:
    # Given a single-event body with a count of 0 / When parsed / Then no position
    assert parse(event(count=0)).rejections[0].position is None


def test_a_rejection_names_the_message_it_came_in() -> None:
    # Given a bad event in message msg-1, received at 11:59Z
    rejection = parse(event(count=0)).rejections[0]
    # When parsed / Then the rejection keeps the message id and the time it was received
    assert rejection.message_id == "msg-1"
    assert rejection.received_at == RECEIVED


def test_a_rejected_event_is_kept_under_the_period_of_its_readable_time() -> None:
    # Given a bad event (count 0) that occurred in January, received in March
    parsed = parse(event(count=0, occurred_at="2026-01-20T10:00:00Z"))
    # When parsed / Then the rejection is kept under January
    assert parsed.rejections[0].period == Period(2026, 1)


def test_a_rejection_without_a_readable_time_is_kept_under_the_period_received() -> None:
    # Given a bad event with no readable occurred_at, received in March 2026
    parsed = parse(event(occurred_at="yesterday"))
    # When parsed / Then the rejection is kept under March 2026
    assert parsed.rejections[0].period == Period(2026, 3)


# --- duplicates ------------------------------------------------------------------------------


def test_a_conflicting_duplicate_in_one_envelope_is_left_to_the_store_to_judge() -> None:
    # Given an envelope with the same event_id twice, with different counts
    body = {"events": [event(count=3), event(count=4)]}
    # When parsed / Then both are valid events here: which one stands is decided on storage
    parsed = parse(body)
    assert [accepted.count for accepted in parsed.events] == [3, 4]
    assert parsed.rejections == []


def test_a_conflicting_duplicate_is_rejected_with_its_own_reason() -> None:
    # Given an accepted event that arrives again with other content
    (accepted,) = parse(event(count=4)).events
    # When the store rejects it as a conflict
    rejection = rejection_for_conflict(accepted, CONTEXT, position=2)
    # Then the reason is conflicting_duplicate, in the event's period, at its position
    assert rejection.reason.value == "conflicting_duplicate"
    assert rejection.event_id == "evt-1"
    assert rejection.period == Period(2026, 3)
    assert rejection.position == 2


# --- content digest --------------------------------------------------------------------------


def one_event(**changes: Any) -> EngagementEvent:
    (accepted,) = parse(event(**changes)).events
    return accepted


def test_the_same_event_written_with_another_offset_has_the_same_digest() -> None:
    # Given one event written in UTC and in +09:00 (the same instant)
    in_utc = one_event(occurred_at="2026-03-10T09:30:00Z")
    in_tokyo = one_event(occurred_at="2026-03-10T18:30:00+09:00")
    # When their digests are taken / Then they are equal
    assert in_utc.content_digest == in_tokyo.content_digest


def test_the_same_event_with_and_without_the_default_quality_has_the_same_digest() -> None:
    # Given one event without quality and with quality "organic" / Then equal digests
    assert one_event().content_digest == one_event(quality="organic").content_digest


@pytest.mark.parametrize(
    "change",
    [
        {"count": 4},
        {"quality": "paid"},
        {"occurred_at": "2026-03-10T09:30:01Z"},
        {"post_id": "post-2"},
        {"creator_id": "creator-2"},
        {"metric": "like"},
        {"format": "carousel"},
        {"event_id": "evt-2"},
    ],
)
def test_an_event_saying_something_else_has_another_digest(change: dict[str, Any]) -> None:
    # Given an event and a copy that differs in one field / Then their digests differ
    assert one_event().content_digest != one_event(**change).content_digest


def test_an_event_belongs_to_the_utc_month_of_its_time() -> None:
    # Given an event at 2026-03-01T08:00+09:00 (= 2026-02-28T23:00Z)
    # When its period is asked / Then February 2026, the UTC month
    assert one_event(occurred_at="2026-03-01T08:00:00+09:00").period == Period(2026, 2)
