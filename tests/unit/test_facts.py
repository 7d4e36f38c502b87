"""Creator facts (SPEC section 2): parsed strictly, identified by what they say, and
applied by occurred_at with a fixed tie rule. Expected values are written by hand."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from bonus_engine.facts import (
    CreatorInvitationRevoked,
    CreatorInvited,
    CreatorProfileChanged,
    Fact,
    InvalidFact,
    PolicyStrikeIssued,
    PolicyStrikeLifted,
    PostRestricted,
    UnknownFactType,
    fact_id,
    parse_fact,
    sorted_timeline,
)

CREATOR = "creator-1"
T0 = "2026-02-10T00:00:00Z"
T1 = "2026-02-11T00:00:00Z"
T2 = "2026-02-12T00:00:00Z"

PROFILE = {"account_type": "professional", "country": "US", "adult": True, "followers": 1200}


def detail(occurred_at: str = T0, **fields: Any) -> dict[str, Any]:
    return {"creator_id": CREATOR, "occurred_at": occurred_at, **fields}


def fact(detail_type: str, occurred_at: str = T0, **fields: Any) -> Fact:
    return parse_fact(detail_type, detail(occurred_at, **fields))


# -- parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("detail_type", "fields", "model"),
    [
        pytest.param("CreatorProfileChanged", PROFILE, CreatorProfileChanged, id="profile"),
        pytest.param("CreatorInvited", {"program_id": "spring-bonus"}, CreatorInvited, id="invite"),
        pytest.param(
            "CreatorInvitationRevoked",
            {"program_id": "spring-bonus"},
            CreatorInvitationRevoked,
            id="revoke",
        ),
        pytest.param("PolicyStrikeIssued", {"strike_id": "s-1"}, PolicyStrikeIssued, id="strike"),
        pytest.param("PolicyStrikeLifted", {"strike_id": "s-1"}, PolicyStrikeLifted, id="lift"),
        pytest.param("PostRestricted", {"post_id": "post-9"}, PostRestricted, id="restricted"),
    ],
)
def test_each_detail_type_of_the_spec_parses_into_its_fact(
    detail_type: str, fields: dict[str, Any], model: type
) -> None:
    # Given a detail of each SPEC detail-type
    # When it is parsed
    parsed = parse_fact(detail_type, detail(T0, **fields))
    # Then it is that fact, for that creator, at that instant
    assert type(parsed) is model
    assert parsed.creator_id == CREATOR
    assert parsed.occurred_at == datetime(2026, 2, 10, tzinfo=UTC)


def test_a_profile_fact_keeps_every_field_of_the_detail() -> None:
    # Given a profile detail
    # When it is parsed
    parsed = fact("CreatorProfileChanged", **PROFILE)
    # Then its fields are those of the detail
    assert isinstance(parsed, CreatorProfileChanged)
    assert (parsed.account_type, parsed.country, parsed.adult, parsed.followers) == (
        "professional",
        "US",
        True,
        1200,
    )


def test_an_invitation_bonus_cap_is_an_exact_decimal() -> None:
    # Given an invitation with a personal cap written as a decimal string
    # When it is parsed
    parsed = fact("CreatorInvited", program_id="spring-bonus", bonus_cap="150.10")
    # Then the cap is exactly that decimal
    assert isinstance(parsed, CreatorInvited)
    assert parsed.bonus_cap == Decimal("150.10")


def test_an_invitation_without_bonus_cap_has_none() -> None:
    # Given an invitation with no bonus_cap
    # When it is parsed
    parsed = fact("CreatorInvited", program_id="spring-bonus")
    # Then it has no personal cap
    assert isinstance(parsed, CreatorInvited)
    assert parsed.bonus_cap is None


def test_occurred_at_with_an_offset_is_held_in_utc() -> None:
    # Given a fact written with a +09:00 offset
    # When it is parsed
    parsed = fact("PostRestricted", "2026-02-10T09:30:00+09:00", post_id="post-1")
    # Then occurred_at is the same instant, in UTC
    assert parsed.occurred_at == datetime(2026, 2, 10, 0, 30, tzinfo=UTC)
    assert parsed.occurred_at.utcoffset() is not None
    assert parsed.occurred_at.utcoffset().total_seconds() == 0


def test_a_strike_expiry_with_an_offset_is_held_in_utc() -> None:
    # Given a strike whose expires_at carries a -05:00 offset
    # When it is parsed
    parsed = fact("PolicyStrikeIssued", strike_id="s-1", expires_at="2026-03-31T19:00:00-05:00")
    # Then expires_at is the same instant in UTC
    assert isinstance(parsed, PolicyStrikeIssued)
    assert parsed.expires_at == datetime(2026, 4, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "detail_type",
    [
        pytest.param("CreatorDeleted", id="unknown-name"),
        pytest.param("creatorinvited", id="wrong-case"),
        pytest.param("", id="empty"),
        pytest.param(None, id="missing"),
        pytest.param(7, id="not-a-string"),
    ],
)
def test_a_detail_type_outside_the_spec_is_an_unknown_fact_type(detail_type: object) -> None:
    # Given a detail-type the SPEC does not list
    # When it is parsed
    # Then it is refused as an unknown fact type
    with pytest.raises(UnknownFactType):
        parse_fact(detail_type, detail(T0, program_id="spring-bonus"))


@pytest.mark.parametrize(
    ("detail_type", "payload", "field"),
    [
        pytest.param("CreatorInvited", ["not", "a", "dict"], "detail", id="detail-not-object"),
        pytest.param(
            "CreatorInvited",
            {"occurred_at": T0, "program_id": "spring-bonus"},
            "creator_id",
            id="missing-creator_id",
        ),
        pytest.param(
            "CreatorInvited",
            {"creator_id": CREATOR, "program_id": "p"},
            "occurred_at",
            id="no-time",
        ),
        pytest.param(
            "CreatorInvited",
            detail("2026-02-10T00:00:00", program_id="p"),
            "occurred_at",
            id="occurred_at-without-offset",
        ),
        pytest.param(
            "CreatorInvited", detail(T0, program_id="p", colour="red"), "colour", id="unknown-field"
        ),
        pytest.param("CreatorInvited", detail(T0), "program_id", id="missing-program_id"),
        pytest.param(
            "CreatorInvited", detail(T0, program_id="a#b"), "program_id", id="program_id-with-hash"
        ),
        pytest.param(
            "CreatorInvited",
            detail(T0, program_id="p", bonus_cap=100),
            "bonus_cap",
            id="bonus_cap-not-a-string",
        ),
        pytest.param(
            "CreatorInvited",
            detail(T0, program_id="p", bonus_cap="-1"),
            "bonus_cap",
            id="bonus_cap-negative",
        ),
        pytest.param(
            "CreatorInvited",
            detail(T0, program_id="p", bonus_cap="lots"),
            "bonus_cap",
            id="bonus_cap-not-a-number",
        ),
        pytest.param(
            "CreatorProfileChanged",
            detail(T0, **{**PROFILE, "account_type": "business"}),
            "account_type",
            id="account_type-unknown",
        ),
        pytest.param(
            "CreatorProfileChanged",
            detail(T0, **{**PROFILE, "country": "usa"}),
            "country",
            id="country-not-alpha-2",
        ),
        pytest.param(
            "CreatorProfileChanged",
            detail(T0, **{**PROFILE, "adult": "yes"}),
            "adult",
            id="adult-not-a-bool",
        ),
        pytest.param(
            "CreatorProfileChanged",
            detail(T0, **{**PROFILE, "followers": -1}),
            "followers",
            id="followers-negative",
        ),
        pytest.param(
            "CreatorProfileChanged",
            detail(T0, **{**PROFILE, "followers": "10"}),
            "followers",
            id="followers-a-string",
        ),
        pytest.param(
            "CreatorProfileChanged",
            detail(T0, **{**PROFILE, "followers": True}),
            "followers",
            id="followers-a-bool",
        ),
        pytest.param(
            "PolicyStrikeIssued",
            detail(T0, strike_id="s1", expires_at="2026-04-01"),
            "expires_at",
            id="expires_at-date-only",
        ),
        pytest.param("PolicyStrikeLifted", detail(T0), "strike_id", id="missing-strike_id"),
        pytest.param(
            "PostRestricted", detail(T0, post_id="a post"), "post_id", id="post_id-with-space"
        ),
    ],
)
def test_a_malformed_detail_is_an_invalid_fact_naming_the_field(
    detail_type: str, payload: object, field: str
) -> None:
    # Given a detail that breaks a rule of the SPEC
    # When it is parsed
    with pytest.raises(InvalidFact) as raised:
        parse_fact(detail_type, payload)
    # Then it is refused with a reason that names the field
    assert field in str(raised.value)


def test_an_instant_that_leaves_the_calendar_in_utc_is_an_invalid_fact() -> None:
    # Given a fact at 0001-01-01T00:00:00+01:00 (in UTC, the year 0, which has no datetime)
    payload = detail("0001-01-01T00:00:00+01:00", post_id="post-1")
    # When it is parsed
    # Then it is an invalid fact (rejected with a reason), not an uncaught error
    with pytest.raises(InvalidFact, match="occurred_at"):
        parse_fact("PostRestricted", payload)


# -- fact ids ---------------------------------------------------------------------------


def test_the_same_fact_delivered_twice_has_the_same_id() -> None:
    # Given the same detail parsed twice
    first = fact("CreatorInvited", program_id="spring-bonus", bonus_cap="100")
    second = fact("CreatorInvited", program_id="spring-bonus", bonus_cap="100")
    # When their ids are taken
    # Then they are equal
    assert fact_id(first) == fact_id(second)
    assert first.fact_id == fact_id(first)


def test_the_same_instant_written_with_another_offset_gives_the_same_id() -> None:
    # Given one strike, delivered once in UTC and once with +09:00 (also its expiry)
    utc = fact("PolicyStrikeIssued", T0, strike_id="s1", expires_at="2026-03-01T00:00:00Z")
    tokyo = fact(
        "PolicyStrikeIssued",
        "2026-02-10T09:00:00+09:00",
        strike_id="s1",
        expires_at="2026-03-01T09:00:00+09:00",
    )
    # When their ids are taken
    # Then they are the same fact
    assert fact_id(utc) == fact_id(tokyo)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        pytest.param(
            ("CreatorInvited", T0, {"program_id": "spring-bonus"}),
            ("CreatorInvitationRevoked", T0, {"program_id": "spring-bonus"}),
            id="invite-vs-revoke-same-fields",
        ),
        pytest.param(
            ("PolicyStrikeIssued", T0, {"strike_id": "s1"}),
            ("PolicyStrikeLifted", T0, {"strike_id": "s1"}),
            id="issue-vs-lift-same-fields",
        ),
        pytest.param(
            ("CreatorInvited", T0, {"program_id": "spring-bonus"}),
            ("CreatorInvited", T1, {"program_id": "spring-bonus"}),
            id="other-instant",
        ),
        pytest.param(
            ("CreatorInvited", T0, {"program_id": "spring-bonus", "bonus_cap": "100"}),
            ("CreatorInvited", T0, {"program_id": "spring-bonus", "bonus_cap": "200"}),
            id="other-bonus_cap",
        ),
        pytest.param(
            ("CreatorInvited", T0, {"program_id": "spring-bonus"}),
            ("CreatorInvited", T0, {"program_id": "spring-bonus", "bonus_cap": "100"}),
            id="with-and-without-cap",
        ),
        pytest.param(
            ("PolicyStrikeIssued", T0, {"strike_id": "s1"}),
            ("PolicyStrikeIssued", T0, {"strike_id": "s1", "expires_at": T2}),
            id="with-and-without-expiry",
        ),
        pytest.param(
            ("CreatorProfileChanged", T0, PROFILE),
            ("CreatorProfileChanged", T0, {**PROFILE, "followers": 1201}),
            id="other-followers",
        ),
    ],
)
def test_facts_that_say_different_things_have_different_ids(
    left: tuple[str, str, dict[str, Any]], right: tuple[str, str, dict[str, Any]]
) -> None:
    # Given two facts that differ in type or in one field
    first = fact(left[0], left[1], **left[2])
    second = fact(right[0], right[1], **right[2])
    # When their ids are taken
    # Then the ids differ
    assert fact_id(first) != fact_id(second)


def test_the_same_fact_of_another_creator_has_another_id() -> None:
    # Given the same invitation for two creators
    first = parse_fact("CreatorInvited", {**detail(T0, program_id="p"), "creator_id": "a"})
    second = parse_fact("CreatorInvited", {**detail(T0, program_id="p"), "creator_id": "b"})
    # When their ids are taken
    # Then they differ
    assert fact_id(first) != fact_id(second)


# -- the timeline -----------------------------------------------------------------------


def test_the_timeline_orders_facts_by_occurred_at_not_by_arrival() -> None:
    # Given facts that arrived newest first
    late = fact("PostRestricted", T2, post_id="p3")
    middle = fact("CreatorInvited", T1, program_id="spring-bonus")
    early = fact("CreatorProfileChanged", T0, **PROFILE)
    # When they are put on the timeline
    timeline = sorted_timeline([late, middle, early])
    # Then they are in the order they became true
    assert timeline == [early, middle, late]


def test_the_timeline_holds_a_redelivered_fact_once() -> None:
    # Given a fact delivered three times, once with an offset
    first = fact("CreatorInvited", T0, program_id="spring-bonus")
    again = fact("CreatorInvited", T0, program_id="spring-bonus")
    offset = fact("CreatorInvited", "2026-02-09T19:00:00-05:00", program_id="spring-bonus")
    other = fact("CreatorInvitationRevoked", T1, program_id="spring-bonus")
    # When they are put on the timeline
    timeline = sorted_timeline([first, other, again, offset])
    # Then the invitation is there once, before the revocation
    assert [type(item) for item in timeline] == [CreatorInvited, CreatorInvitationRevoked]


@pytest.mark.parametrize(
    ("granting", "taking"),
    [
        pytest.param(
            ("CreatorInvited", {"program_id": "spring-bonus"}),
            ("CreatorInvitationRevoked", {"program_id": "spring-bonus"}),
            id="revocation-after-invitation",
        ),
        pytest.param(
            ("PolicyStrikeIssued", {"strike_id": "s1"}),
            ("PolicyStrikeLifted", {"strike_id": "s1"}),
            id="lift-after-issue",
        ),
    ],
)
@pytest.mark.parametrize("arrival", ["granting-first", "taking-first"])
def test_at_one_instant_the_fact_that_takes_away_applies_last(
    granting: tuple[str, dict[str, Any]], taking: tuple[str, dict[str, Any]], arrival: str
) -> None:
    # Given two facts at the same instant, one that grants and one that takes away
    grant = fact(granting[0], T0, **granting[1])
    take = fact(taking[0], T0, **taking[1])
    arrived = [grant, take] if arrival == "granting-first" else [take, grant]
    # When they are put on the timeline
    timeline = sorted_timeline(arrived)
    # Then whatever the arrival order, the one that takes away comes last
    assert timeline == [grant, take]


def test_the_tie_rule_holds_when_the_same_instant_is_written_with_different_offsets() -> None:
    # Given an invitation in +09:00 and a revocation in UTC at the same instant
    invite = fact("CreatorInvited", "2026-02-10T09:00:00+09:00", program_id="spring-bonus")
    revoke = fact("CreatorInvitationRevoked", T0, program_id="spring-bonus")
    # When they are put on the timeline
    timeline = sorted_timeline([revoke, invite])
    # Then the revocation comes last
    assert timeline == [invite, revoke]


def test_the_tie_rule_does_not_move_a_revocation_before_an_earlier_invitation() -> None:
    # Given a revocation that occurred one microsecond before an invitation
    revoke = fact("CreatorInvitationRevoked", "2026-02-09T23:59:59.999999Z", program_id="p")
    invite = fact("CreatorInvited", T0, program_id="p")
    # When they are put on the timeline
    timeline = sorted_timeline([invite, revoke])
    # Then occurred_at decides: the revocation first
    assert timeline == [revoke, invite]


def test_an_empty_list_of_facts_gives_an_empty_timeline() -> None:
    # Given no facts
    # When they are put on the timeline
    # Then it is empty
    assert sorted_timeline([]) == []
