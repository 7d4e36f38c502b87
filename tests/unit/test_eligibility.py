"""Eligibility (SPEC section 4, step 1): a pure function of the rules, the facts and an
instant. Every expected value below is written by hand from the SPEC."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bonus_engine.eligibility import (
    IneligibilityReason,
    active_strikes,
    judge_eligibility,
    latest_invitation,
    restricted_posts,
)
from bonus_engine.facts import Fact, parse_fact, sorted_timeline
from bonus_engine.program_rules import ProgramRules, parse_program_rules

R = IneligibilityReason
PROGRAM = "spring-bonus"
CREATOR = "creator-1"
# The instant eligibility is judged at: the end of the period 2026-02.
END_TEXT = "2026-03-01T00:00:00Z"
END = datetime(2026, 3, 1, tzinfo=UTC)
BEFORE = "2026-02-10T00:00:00Z"
LATER = "2026-02-20T00:00:00Z"
AFTER_END = "2026-03-05T00:00:00Z"


# -- builders -------------------------------------------------------------------------


def rules(
    *,
    account_type: str = "professional",
    invitation_required: str = "true",
    adult_required: str = "true",
    max_active_strikes: int = 0,
    min_followers: int = 0,
) -> ProgramRules:
    """The SPEC's example program (markets US, JP, KR), with its eligibility block set."""
    text = f"""
program_id: {PROGRAM}
period: month
grace_hours: 48
eligibility:
  account_type: {account_type}
  invitation_required: {invitation_required}
  adult_required: {adult_required}
  max_active_strikes: {max_active_strikes}
  min_followers: {min_followers}
scoring:
  counted_quality: [organic]
  weights:
    reel:     {{view: 1, like: 5, comment: 10, share: 20}}
    carousel: {{view: 1, like: 5, comment: 10, share: 20}}
    standard: {{view: 1, like: 5, comment: 10, share: 20}}
markets:
  US:
    currency: USD
    payout: {{model: rate, tiers: [{{up_to: null, per_1000_points: "0.40"}}]}}
  JP:
    currency: JPY
    payout: {{model: milestones, milestones: [{{points: 100000, amount: "5000"}}]}}
  KR:
    currency: KRW
    payout: {{model: pool, pool: "100000000"}}
"""
    return parse_program_rules(text.encode(), "eligibility-test.yaml").rules


def fact(detail_type: str, occurred_at: str, **fields: Any) -> Fact:
    return parse_fact(detail_type, {"creator_id": CREATOR, "occurred_at": occurred_at, **fields})


def profile(
    occurred_at: str = BEFORE,
    *,
    account_type: str = "professional",
    country: str = "US",
    adult: bool = True,
    followers: int = 5000,
) -> Fact:
    return fact(
        "CreatorProfileChanged",
        occurred_at,
        account_type=account_type,
        country=country,
        adult=adult,
        followers=followers,
    )


def invited(
    occurred_at: str = BEFORE, program_id: str = PROGRAM, bonus_cap: str | None = None
) -> Fact:
    extra = {} if bonus_cap is None else {"bonus_cap": bonus_cap}
    return fact("CreatorInvited", occurred_at, program_id=program_id, **extra)


def revoked(occurred_at: str, program_id: str = PROGRAM) -> Fact:
    return fact("CreatorInvitationRevoked", occurred_at, program_id=program_id)


def strike(occurred_at: str = BEFORE, strike_id: str = "s1", expires_at: str | None = None) -> Fact:
    extra = {} if expires_at is None else {"expires_at": expires_at}
    return fact("PolicyStrikeIssued", occurred_at, strike_id=strike_id, **extra)


def lifted(occurred_at: str, strike_id: str = "s1") -> Fact:
    return fact("PolicyStrikeLifted", occurred_at, strike_id=strike_id)


def restricted(occurred_at: str, post_id: str) -> Fact:
    return fact("PostRestricted", occurred_at, post_id=post_id)


def eligible_creator() -> list[Fact]:
    """A professional adult in the US with followers, invited, no strike."""
    return [profile(), invited()]


# -- every reason alone, and combined ---------------------------------------------------


def test_a_creator_meeting_every_rule_is_eligible_with_no_reason() -> None:
    # Given a professional adult in a program market, invited, with no strike
    facts = eligible_creator()
    # When eligibility is judged at the end of the period
    decision = judge_eligibility(rules(), facts, END)
    # Then the creator is eligible and nothing is listed against them
    assert decision.eligible is True
    assert decision.reasons == ()
    assert decision.market == "US"
    assert decision.followers == 5000
    assert decision.active_strikes == 0


@pytest.mark.parametrize(
    ("program", "facts", "reason"),
    [
        pytest.param(rules(), [invited()], R.NO_PROFILE, id="no_profile"),
        pytest.param(
            rules(),
            [profile(account_type="personal"), invited()],
            R.NOT_PROFESSIONAL,
            id="not_professional",
        ),
        pytest.param(
            rules(),
            [profile(country="FR"), invited()],
            R.MARKET_NOT_IN_PROGRAM,
            id="market_not_in_program",
        ),
        pytest.param(rules(), [profile(adult=False), invited()], R.NOT_ADULT, id="not_adult"),
        pytest.param(rules(), [profile()], R.NOT_INVITED, id="not_invited"),
        pytest.param(
            rules(), [profile(), invited(), strike()], R.POLICY_STRIKES, id="policy_strikes"
        ),
        pytest.param(
            rules(min_followers=1000),
            [profile(followers=999), invited()],
            R.TOO_FEW_FOLLOWERS,
            id="too_few_followers",
        ),
    ],
)
def test_each_failing_rule_alone_gives_exactly_its_reason(
    program: ProgramRules, facts: list[Fact], reason: IneligibilityReason
) -> None:
    # Given a creator who fails exactly one rule
    # When eligibility is judged
    decision = judge_eligibility(program, facts, END)
    # Then they are ineligible for that one reason
    assert decision.eligible is False
    assert decision.reasons == (reason,)


@pytest.mark.parametrize(
    ("program", "facts", "reasons"),
    [
        pytest.param(
            rules(),
            [strike()],
            (R.NO_PROFILE, R.NOT_INVITED, R.POLICY_STRIKES),
            id="no_profile+not_invited+policy_strikes",
        ),
        pytest.param(
            rules(min_followers=10),
            [strike(), profile(account_type="personal", country="FR", adult=False, followers=3)],
            (
                R.NOT_PROFESSIONAL,
                R.MARKET_NOT_IN_PROGRAM,
                R.NOT_ADULT,
                R.NOT_INVITED,
                R.POLICY_STRIKES,
                R.TOO_FEW_FOLLOWERS,
            ),
            id="every-profile-rule-at-once",
        ),
        pytest.param(
            rules(),
            [invited(), profile(adult=False, account_type="personal")],
            (R.NOT_PROFESSIONAL, R.NOT_ADULT),
            id="not_adult+not_professional",
        ),
        pytest.param(
            rules(min_followers=100),
            [invited(), profile(country="DE", followers=99)],
            (R.MARKET_NOT_IN_PROGRAM, R.TOO_FEW_FOLLOWERS),
            id="market+too_few_followers",
        ),
        pytest.param(
            rules(),
            [strike(), profile(country="BR")],
            (R.MARKET_NOT_IN_PROGRAM, R.NOT_INVITED, R.POLICY_STRIKES),
            id="market+not_invited+policy_strikes",
        ),
    ],
)
def test_several_failing_rules_list_their_reasons_in_canonical_order(
    program: ProgramRules, facts: list[Fact], reasons: tuple[IneligibilityReason, ...]
) -> None:
    # Given a creator who fails several rules (facts listed in no particular order)
    # When eligibility is judged
    decision = judge_eligibility(program, facts, END)
    # Then every reason is listed once, in the order of the IneligibilityReason enum
    assert decision.eligible is False
    assert decision.reasons == reasons


def test_no_profile_replaces_the_reasons_that_need_a_profile() -> None:
    # Given rules with a follower minimum and a creator with an invitation but no profile
    program = rules(min_followers=100)
    # When eligibility is judged
    decision = judge_eligibility(program, [invited()], END)
    # Then only no_profile is given: no not_professional, not_adult, too_few_followers...
    assert decision.reasons == (R.NO_PROFILE,)
    assert decision.market is None
    assert decision.followers is None


def test_a_creator_with_no_facts_at_all_is_not_invited_and_has_no_profile() -> None:
    # Given no facts
    # When eligibility is judged
    decision = judge_eligibility(rules(), [], END)
    # Then the reasons are no_profile and not_invited
    assert decision.reasons == (R.NO_PROFILE, R.NOT_INVITED)


# -- rule switches ----------------------------------------------------------------------


def test_an_uninvited_creator_is_eligible_when_the_program_needs_no_invitation() -> None:
    # Given a program without invitation_required and a creator never invited
    program = rules(invitation_required="false")
    # When eligibility is judged
    decision = judge_eligibility(program, [profile()], END)
    # Then the creator is eligible
    assert decision.eligible is True


def test_a_minor_is_eligible_when_the_program_does_not_require_adults() -> None:
    # Given a program without adult_required and a creator who is not an adult
    program = rules(adult_required="false")
    # When eligibility is judged
    decision = judge_eligibility(program, [profile(adult=False), invited()], END)
    # Then the creator is eligible
    assert decision.eligible is True


def test_a_personal_account_is_eligible_for_a_program_that_asks_for_personal_accounts() -> None:
    # Given a program for personal accounts
    program = rules(account_type="personal")
    # When a professional and a personal account are judged
    professional = judge_eligibility(program, [profile(), invited()], END)
    personal = judge_eligibility(program, [profile(account_type="personal"), invited()], END)
    # Then only the personal one is eligible
    assert professional.reasons == (R.NOT_PROFESSIONAL,)
    assert personal.eligible is True


@pytest.mark.parametrize(
    ("followers", "reasons"),
    [
        pytest.param(999, (R.TOO_FEW_FOLLOWERS,), id="one-below"),
        pytest.param(1000, (), id="equal-is-enough"),
        pytest.param(1001, (), id="above"),
    ],
)
def test_min_followers_is_met_by_exactly_that_many_followers(
    followers: int, reasons: tuple[IneligibilityReason, ...]
) -> None:
    # Given a program asking for 1000 followers
    program = rules(min_followers=1000)
    # When a creator with around that many followers is judged
    decision = judge_eligibility(program, [profile(followers=followers), invited()], END)
    # Then equal is enough and one fewer is not
    assert decision.reasons == reasons
    assert decision.followers == followers


@pytest.mark.parametrize(
    ("strike_count", "eligible"),
    [pytest.param(1, True, id="one-strike-allowed"), pytest.param(2, False, id="two-too-many")],
)
def test_max_active_strikes_of_one_allows_one_strike_but_not_two(
    strike_count: int, eligible: bool
) -> None:
    # Given a program allowing 1 active strike
    program = rules(max_active_strikes=1)
    facts = eligible_creator() + [strike(strike_id=f"s{n}") for n in range(strike_count)]
    # When a creator with 1 or 2 active strikes is judged
    decision = judge_eligibility(program, facts, END)
    # Then 1 is allowed and 2 is not
    assert decision.eligible is eligible
    assert decision.active_strikes == strike_count


# -- strikes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "active"),
    [
        pytest.param([strike(expires_at=END_TEXT)], 0, id="expires-exactly-at-t"),
        pytest.param(
            [strike(expires_at="2026-03-01T09:00:00+09:00")], 0, id="expires-at-t-written-+09:00"
        ),
        pytest.param(
            [strike(expires_at="2026-03-01T00:00:00.000001Z")], 1, id="expires-just-after-t"
        ),
        pytest.param([strike(expires_at="2026-02-15T00:00:00Z")], 0, id="expired-before-t"),
        pytest.param([strike()], 1, id="never-expires"),
        pytest.param([strike(), lifted(LATER)], 0, id="lifted-before-t"),
        pytest.param([strike(), lifted(END_TEXT)], 1, id="lifted-exactly-at-t-still-active"),
        pytest.param([strike(), lifted(AFTER_END)], 1, id="lifted-after-t-still-active"),
        pytest.param([strike(END_TEXT)], 0, id="issued-exactly-at-t-not-yet-active"),
        pytest.param([strike("2026-02-28T23:59:59.999999Z")], 1, id="issued-just-before-t"),
        pytest.param([strike(AFTER_END)], 0, id="issued-after-t-ignored"),
        pytest.param([strike(BEFORE), lifted(BEFORE)], 0, id="issued-and-lifted-same-instant"),
        pytest.param([lifted(LATER), strike(BEFORE)], 0, id="lift-listed-before-its-issue"),
        pytest.param([strike(strike_id="s1"), lifted(LATER, "s2")], 1, id="other-strike-lifted"),
        pytest.param(
            [strike(strike_id="s1"), strike(strike_id="s2"), lifted(LATER, "s1")],
            1,
            id="one-of-two-lifted",
        ),
        pytest.param([strike(), strike()], 1, id="same-strike-delivered-twice"),
    ],
)
def test_a_strike_is_active_when_issued_before_t_not_lifted_before_t_and_expiring_after_t(
    facts: list[Fact], active: int
) -> None:
    # Given an otherwise eligible creator with these strike facts
    # When eligibility is judged at t = END with no strike allowed
    decision = judge_eligibility(rules(), eligible_creator() + facts, END)
    # Then the active strikes are counted as the SPEC defines them
    assert decision.active_strikes == active
    assert decision.reasons == (() if active == 0 else (R.POLICY_STRIKES,))


def test_a_strike_expiring_exactly_at_the_instant_is_not_active() -> None:
    # Given a strike whose expires_at is t
    timeline = sorted_timeline([strike(expires_at=END_TEXT)])
    # When the active strikes at t are counted
    count = active_strikes(timeline, END)
    # Then it does not count
    assert count == 0


def test_a_strike_expiring_one_microsecond_after_the_instant_is_active() -> None:
    # Given a strike whose expires_at is t + 1 µs
    timeline = sorted_timeline([strike(expires_at="2026-03-01T00:00:00.000001Z")])
    # When the active strikes at t are counted
    count = active_strikes(timeline, END)
    # Then it counts
    assert count == 1


# -- invitations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "invited_at_t"),
    [
        pytest.param([invited()], True, id="invited"),
        pytest.param([invited(BEFORE), revoked(LATER)], False, id="invite-then-revoke"),
        pytest.param([revoked(LATER), invited(BEFORE)], False, id="revoke-listed-first"),
        pytest.param([revoked(BEFORE), invited(LATER)], True, id="revoke-then-re-invite"),
        pytest.param(
            [invited("2026-01-05T00:00:00Z"), revoked(BEFORE), invited(LATER)],
            True,
            id="invite-revoke-re-invite",
        ),
        pytest.param([invited(BEFORE), revoked(BEFORE)], False, id="same-instant-revoke-wins"),
        pytest.param([revoked(BEFORE), invited(BEFORE)], False, id="same-instant-reversed"),
        pytest.param(
            [invited("2026-02-10T09:00:00+09:00"), revoked("2026-02-10T00:00:00Z")],
            False,
            id="same-instant-different-offsets",
        ),
        pytest.param([invited(program_id="autumn-bonus")], False, id="other-program"),
        pytest.param(
            [invited(), revoked(LATER, program_id="autumn-bonus")],
            True,
            id="other-program-revoked",
        ),
        pytest.param([invited(END_TEXT)], False, id="invited-exactly-at-t"),
        pytest.param([invited(AFTER_END)], False, id="invited-after-t"),
        pytest.param([invited(BEFORE), revoked(END_TEXT)], True, id="revoked-exactly-at-t"),
        pytest.param([invited(BEFORE), revoked(AFTER_END)], True, id="revoked-after-t"),
    ],
)
def test_a_creator_is_invited_when_the_latest_invitation_before_t_was_not_revoked(
    facts: list[Fact], invited_at_t: bool
) -> None:
    # Given a professional adult in the US with these invitation facts
    # When eligibility is judged at t = END
    decision = judge_eligibility(rules(), [profile(), *facts], END)
    # Then not_invited is given exactly when no invitation stands at t
    assert decision.reasons == (() if invited_at_t else (R.NOT_INVITED,))


def test_an_invitation_and_a_revocation_at_the_same_instant_leave_no_invitation() -> None:
    # Given an invitation and a revocation of the same program at the same instant
    timeline = sorted_timeline([revoked(BEFORE), invited(BEFORE)])
    # When the latest standing invitation is looked up
    invitation = latest_invitation(timeline, PROGRAM)
    # Then there is none: the revocation wins
    assert invitation is None


def test_the_latest_invitation_ignores_invitations_to_other_programs() -> None:
    # Given an invitation to this program, then a later one to another program
    timeline = sorted_timeline(
        [invited(BEFORE, bonus_cap="100"), invited(LATER, "autumn-bonus", bonus_cap="900")]
    )
    # When the latest invitation to this program is looked up
    invitation = latest_invitation(timeline, PROGRAM)
    # Then it is this program's invitation
    assert invitation is not None
    assert invitation.bonus_cap == Decimal("100")


@pytest.mark.parametrize(
    ("facts", "bonus_cap"),
    [
        pytest.param([invited(bonus_cap="150.50")], Decimal("150.50"), id="one-invitation"),
        pytest.param(
            [invited(LATER, bonus_cap="250"), invited(BEFORE, bonus_cap="100")],
            Decimal("250"),
            id="latest-of-two-by-occurred_at",
        ),
        pytest.param(
            [invited(BEFORE, bonus_cap="100"), invited(LATER)],
            None,
            id="latest-has-no-cap",
        ),
        pytest.param(
            [invited(BEFORE, bonus_cap="100"), invited(AFTER_END, bonus_cap="999")],
            Decimal("100"),
            id="invitation-after-t-ignored",
        ),
        pytest.param([invited(BEFORE, bonus_cap="100"), revoked(LATER)], None, id="revoked-no-cap"),
        pytest.param(
            [invited("2026-01-05T00:00:00Z", bonus_cap="100"), revoked(BEFORE), invited(LATER)],
            None,
            id="re-invited-without-cap",
        ),
        pytest.param(
            [invited(BEFORE, bonus_cap="100"), invited(LATER, "autumn-bonus", bonus_cap="5")],
            Decimal("100"),
            id="other-program-cap-ignored",
        ),
    ],
)
def test_the_personal_bonus_cap_comes_from_the_latest_standing_invitation(
    facts: list[Fact], bonus_cap: Decimal | None
) -> None:
    # Given a creator with these invitations
    # When eligibility is judged at t = END
    decision = judge_eligibility(rules(), [profile(), *facts], END)
    # Then the personal cap is the one of the latest invitation that still stands
    assert decision.bonus_cap == bonus_cap


# -- profiles ---------------------------------------------------------------------------


def test_the_latest_profile_by_occurred_at_decides_whatever_the_list_order() -> None:
    # Given a personal profile, later changed to professional, listed newest first
    facts = [profile(LATER), profile(BEFORE, account_type="personal", country="JP"), invited()]
    # When eligibility is judged
    decision = judge_eligibility(rules(), facts, END)
    # Then the later profile decides
    assert decision.eligible is True
    assert decision.market == "US"


def test_a_profile_change_at_or_after_the_instant_is_ignored() -> None:
    # Given a professional profile, then changes to personal at t and after t
    facts = [
        profile(BEFORE),
        profile(END_TEXT, account_type="personal"),
        profile(AFTER_END, adult=False),
        invited(),
    ]
    # When eligibility is judged at t
    decision = judge_eligibility(rules(), facts, END)
    # Then only the profile from before t counts
    assert decision.eligible is True


def test_a_profile_first_known_at_the_instant_counts_as_no_profile() -> None:
    # Given the only profile occurred exactly at t
    facts = [profile(END_TEXT), invited()]
    # When eligibility is judged at t
    decision = judge_eligibility(rules(), facts, END)
    # Then the creator has no profile yet
    assert decision.reasons == (R.NO_PROFILE,)


def test_the_market_is_the_country_of_the_latest_profile() -> None:
    # Given a creator who moved from the US to Japan before t
    facts = [profile(BEFORE, country="US"), profile(LATER, country="JP"), invited()]
    # When eligibility is judged
    decision = judge_eligibility(rules(), facts, END)
    # Then the market is Japan
    assert decision.market == "JP"


# -- restricted posts -------------------------------------------------------------------


def test_a_post_restricted_at_any_time_is_restricted_in_every_period() -> None:
    # Given posts restricted before a period's end, exactly at it and after it
    facts = [
        profile(),
        restricted(BEFORE, "post-a"),
        restricted(LATER, "post-b"),
        restricted(END_TEXT, "post-c"),
        restricted(AFTER_END, "post-d"),
        invited(),
    ]
    # When the restricted posts are listed
    posts = restricted_posts(facts)
    # Then every one of them is restricted, whenever the restriction occurred
    assert posts == frozenset({"post-a", "post-b", "post-c", "post-d"})


def test_a_post_restricted_twice_is_listed_once() -> None:
    # Given the same post restricted twice
    facts = [restricted(BEFORE, "post-a"), restricted(LATER, "post-a")]
    # When the restricted posts are listed
    posts = restricted_posts(facts)
    # Then it is there once
    assert posts == frozenset({"post-a"})


def test_a_creator_with_no_restriction_has_no_restricted_posts() -> None:
    # Given no PostRestricted fact
    # When the restricted posts are listed
    posts = restricted_posts(eligible_creator())
    # Then there are none
    assert posts == frozenset()


# -- property: arrival order and redelivery never matter --------------------------------

_GRID_START = datetime(2026, 2, 1, tzinfo=UTC)
_GRID_STEPS = 6  # facts happen on the hour, 0..5 hours after the grid start: ties happen
_OFFSETS = ("Z", "+09:00", "-05:00")


def _text(step: int, offset: str) -> str:
    """The grid instant `step` hours after the start, written with the given offset."""
    instant = _GRID_START + timedelta(hours=step)
    if offset == "Z":
        return instant.strftime("%Y-%m-%dT%H:%M:%SZ")
    sign = 1 if offset[0] == "+" else -1
    local = instant + sign * timedelta(hours=int(offset[1:3]))
    return local.strftime("%Y-%m-%dT%H:%M:%S") + offset


_step = st.integers(0, _GRID_STEPS - 1)
_offset = st.sampled_from(_OFFSETS)
_program = st.sampled_from([PROGRAM, "autumn-bonus"])
_strike_id = st.sampled_from(["s1", "s2"])

# A fact as (detail-type, step, extra fields); the offset is chosen per delivery.
_fact_spec = st.one_of(
    st.tuples(
        st.just("CreatorProfileChanged"),
        _step,
        st.fixed_dictionaries(
            {
                "account_type": st.sampled_from(["professional", "personal"]),
                "country": st.sampled_from(["US", "FR"]),
                "adult": st.booleans(),
                "followers": st.sampled_from([0, 10]),
            }
        ),
    ),
    st.tuples(
        st.just("CreatorInvited"),
        _step,
        st.fixed_dictionaries(
            {"program_id": _program}, optional={"bonus_cap": st.sampled_from(["100", "250"])}
        ),
    ),
    st.tuples(
        st.just("CreatorInvitationRevoked"), _step, st.fixed_dictionaries({"program_id": _program})
    ),
    st.tuples(
        st.just("PolicyStrikeIssued"),
        _step,
        st.fixed_dictionaries(
            {"strike_id": _strike_id},
            optional={"expires_at": _step.map(lambda step: _text(step, "Z"))},
        ),
    ),
    st.tuples(
        st.just("PolicyStrikeLifted"), _step, st.fixed_dictionaries({"strike_id": _strike_id})
    ),
    st.tuples(
        st.just("PostRestricted"),
        _step,
        st.fixed_dictionaries({"post_id": st.sampled_from(["p1", "p2"])}),
    ),
)


@st.composite
def _two_deliveries(draw: st.DrawFn) -> tuple[list[Fact], list[Fact]]:
    """The same facts delivered twice: once in order, once shuffled with redeliveries
    (re-parsed, with the instants written in other offsets)."""
    specs = draw(st.lists(_fact_spec, min_size=0, max_size=8))

    def deliver(spec: tuple[str, int, dict[str, Any]], offset: str) -> Fact:
        detail_type, step, extra = spec
        return fact(detail_type, _text(step, offset), **extra)

    first = [deliver(spec, "Z") for spec in specs]
    repeated = draw(st.lists(st.sampled_from(specs), max_size=6)) if specs else []
    second = [deliver(spec, draw(_offset)) for spec in [*specs, *repeated]]
    return first, draw(st.permutations(second))


_instant = st.builds(
    lambda half_hours: _GRID_START + timedelta(minutes=30 * half_hours),
    st.integers(-1, 2 * _GRID_STEPS + 1),
)


_PROPERTY_RULES = {n: rules(max_active_strikes=n, min_followers=5) for n in (0, 1)}


@settings(max_examples=200, deadline=None)
@given(deliveries=_two_deliveries(), at=_instant, max_strikes=st.sampled_from([0, 1]))
def test_permuting_and_redelivering_facts_changes_neither_timeline_nor_decision(
    deliveries: tuple[list[Fact], list[Fact]], at: datetime, max_strikes: int
) -> None:
    # Given the same facts delivered in order, and shuffled with duplicates
    first, second = deliveries
    program = _PROPERTY_RULES[max_strikes]
    # When each delivery is put on a timeline and judged at an instant around the facts
    timeline_first = [item.fact_id for item in sorted_timeline(first)]
    timeline_second = [item.fact_id for item in sorted_timeline(second)]
    decision_first = judge_eligibility(program, first, at)
    decision_second = judge_eligibility(program, second, at)
    # Then both give the same timeline (each fact once) and the same decision
    assert timeline_first == timeline_second
    assert len(timeline_first) == len(set(timeline_first))
    assert decision_first == decision_second
