"""Eligibility (SPEC section 4, step 1): a pure function of the rules, a creator's facts
and an instant. No clock, no I/O: the same inputs always give the same decision.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from bonus_engine.facts import (
    CreatorInvitationRevoked,
    CreatorInvited,
    CreatorProfileChanged,
    Fact,
    PolicyStrikeIssued,
    PolicyStrikeLifted,
    PostRestricted,
    sorted_timeline,
)
from bonus_engine.program_rules import ProgramRules


class IneligibilityReason(StrEnum):
    """In the order a statement lists them."""

    NO_PROFILE = "no_profile"
    NOT_PROFESSIONAL = "not_professional"
    MARKET_NOT_IN_PROGRAM = "market_not_in_program"
    NOT_ADULT = "not_adult"
    NOT_INVITED = "not_invited"
    POLICY_STRIKES = "policy_strikes"
    TOO_FEW_FOLLOWERS = "too_few_followers"


@dataclass(frozen=True)
class EligibilityDecision:
    eligible: bool
    reasons: tuple[IneligibilityReason, ...]
    market: str | None  # the profile's country, when there is a profile
    bonus_cap: Decimal | None  # the personal cap of the latest invitation, if it stands
    active_strikes: int
    followers: int | None


def facts_before(facts: Iterable[Fact], instant: datetime) -> list[Fact]:
    """The facts that had become true before `instant`, once each, in timeline order."""
    return sorted_timeline([fact for fact in facts if fact.occurred_at < instant])


def judge_eligibility(
    rules: ProgramRules, facts: Iterable[Fact], at: datetime
) -> EligibilityDecision:
    """Whether the creator is eligible for the program at instant `at`, and why not.

    Only facts with `occurred_at` < `at` count; their arrival order does not matter.
    """
    timeline = facts_before(facts, at)
    profile = latest_profile(timeline)
    invitation = latest_invitation(timeline, rules.program_id)
    strikes = active_strikes(timeline, at)
    wanted = rules.eligibility
    reasons: list[IneligibilityReason] = []

    if profile is None:
        reasons.append(IneligibilityReason.NO_PROFILE)
    else:
        if profile.account_type != wanted.account_type:
            reasons.append(IneligibilityReason.NOT_PROFESSIONAL)
        if profile.country not in rules.markets:
            reasons.append(IneligibilityReason.MARKET_NOT_IN_PROGRAM)
        if wanted.adult_required and not profile.adult:
            reasons.append(IneligibilityReason.NOT_ADULT)
    if wanted.invitation_required and invitation is None:
        reasons.append(IneligibilityReason.NOT_INVITED)
    if strikes > wanted.max_active_strikes:
        reasons.append(IneligibilityReason.POLICY_STRIKES)
    if profile is not None and profile.followers < wanted.min_followers:
        reasons.append(IneligibilityReason.TOO_FEW_FOLLOWERS)

    return EligibilityDecision(
        eligible=not reasons,
        reasons=tuple(reasons),
        market=profile.country if profile else None,
        bonus_cap=invitation.bonus_cap if invitation else None,
        active_strikes=strikes,
        followers=profile.followers if profile else None,
    )


def latest_profile(timeline: list[Fact]) -> CreatorProfileChanged | None:
    profiles = [fact for fact in timeline if isinstance(fact, CreatorProfileChanged)]
    return profiles[-1] if profiles else None


def latest_invitation(timeline: list[Fact], program_id: str) -> CreatorInvited | None:
    """The latest invitation to the program, unless a revocation came after it."""
    latest: CreatorInvited | None = None
    for fact in timeline:
        if isinstance(fact, CreatorInvited | CreatorInvitationRevoked) and (
            fact.program_id == program_id
        ):
            latest = fact if isinstance(fact, CreatorInvited) else None
    return latest


def active_strikes(timeline: list[Fact], at: datetime) -> int:
    """Strikes active at `at`: the latest issue or lift of each strike decides; an issued
    strike is active until its `expires_at` (not active at that instant itself)."""
    state: dict[str, PolicyStrikeIssued | None] = {}
    for fact in timeline:
        if isinstance(fact, PolicyStrikeIssued):
            state[fact.strike_id] = fact
        elif isinstance(fact, PolicyStrikeLifted):
            state[fact.strike_id] = None
    return sum(
        1
        for issued in state.values()
        if issued is not None and (issued.expires_at is None or issued.expires_at > at)
    )


def restricted_posts(facts: Iterable[Fact]) -> frozenset[str]:
    """Posts that broke a policy: they earn nothing in any period, whenever the
    restriction occurred (SPEC section 2): a restriction known at computing time applies
    to every period of the post, before and after it."""
    return frozenset(fact.post_id for fact in facts if isinstance(fact, PostRestricted))
