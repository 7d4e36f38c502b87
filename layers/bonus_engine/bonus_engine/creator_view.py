"""What the creator and operator API shows (SPEC section 7), from plain data: pure.

No clock, no I/O: `now`, the facts, the events, the provisional settlement and the latest
statement are given. Every text for a person is in the requested locale; the machine
fields (codes, decimal strings, minor units) never change with it.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext
from typing import Any

from babel.numbers import format_currency

from bonus_engine import i18n
from bonus_engine.computation import RunSummary
from bonus_engine.eligibility import (
    IneligibilityReason,
    active_strikes,
    facts_before,
    judge_eligibility,
    latest_invitation,
    latest_profile,
    restricted_posts,
)
from bonus_engine.engagement import QUALITIES
from bonus_engine.explanations import ExplanationLine, line, render, render_line
from bonus_engine.facts import Fact, PolicyStrikeIssued, PolicyStrikeLifted
from bonus_engine.money import EXACT, format_decimal, format_minor, parse_decimal, to_minor_floor
from bonus_engine.payout import PayoutFlag, PreparedPayout, Settlement, pay
from bonus_engine.periods import Period
from bonus_engine.program_rules import (
    LoadedProgram,
    Market,
    MilestonesPayout,
    PoolPayout,
    ProgramRules,
    RatePayout,
)
from bonus_engine.scoring import Tally, score_creator
from bonus_engine.statements import Breakdown, StatementRevision, draft_statement
from bonus_engine.timestamps import from_utc_text, to_utc_text

Json = dict[str, Any]

RATE_SO_FAR = "rate_so_far"
MILESTONE = "milestone"
POOL_PROVISIONAL = "pool_provisional"
STATEMENT = "statement"


def money(amount_minor: int, currency: str, locale: str) -> Json:
    """An amount as every response gives it: major-unit decimal string, minor units, and
    its display in the reader's locale."""
    return {
        "amount": format_minor(amount_minor, currency),
        "amount_minor": amount_minor,
        "amount_display": i18n.format_money(amount_minor, currency, locale),
    }


def _money_of(amount: Decimal, currency: str, locale: str) -> Json:
    return money(to_minor_floor(amount, currency), currency, locale)


# --- GET /programs/{program_id}/criteria -----------------------------------------------


def criteria_view(program: LoadedProgram, locale: str) -> Json:
    """The rules a creator is judged and paid by: never a budget, a pool, or anything of
    a creator."""
    rules = program.rules
    wanted = rules.eligibility
    requirements: list[tuple[str, Any]] = [
        ("profile", True),
        ("account_type", wanted.account_type),
        ("market", sorted(rules.markets)),
        ("adult", wanted.adult_required),
        ("invitation", wanted.invitation_required),
        ("policy_strikes", wanted.max_active_strikes),
        ("followers", wanted.min_followers),
    ]
    return {
        "program_id": rules.program_id,
        "rules_hash": program.content_hash,
        "period": rules.period,
        **_season(rules),
        "eligibility": {
            "account_type": wanted.account_type,
            "invitation_required": wanted.invitation_required,
            "adult_required": wanted.adult_required,
            "max_active_strikes": wanted.max_active_strikes,
            "min_followers": wanted.min_followers,
            "criteria": [
                {
                    "criterion": name,
                    "label": i18n.text(locale, f"criterion.{name}"),
                    "required": required,
                }
                for name, required in requirements
            ],
        },
        "scoring": {
            "counted_quality": list(rules.scoring.counted_quality),
            "weights": {
                format_: {metric: format_decimal(weight) for metric, weight in weights.items()}
                for format_, weights in rules.scoring.weights.items()
            },
            "post_points_cap": _optional_decimal(rules.scoring.post_points_cap),
        },
        "markets": {
            name: _market_criteria(market, locale) for name, market in sorted(rules.markets.items())
        },
    }


def _season(rules: ProgramRules) -> Json:
    season = {}
    for name in ("starts", "ends"):
        value = getattr(rules, name, None)  # optional fields of the rules file
        if value is not None:
            season[name] = str(value)
    return season


def _optional_decimal(value: Decimal | None) -> str | None:
    return None if value is None else format_decimal(value)


def _market_criteria(market: Market, locale: str) -> Json:
    currency = market.currency
    payout = market.payout
    shown: Json = {"model": payout.model}
    if isinstance(payout, RatePayout):
        shown["tiers"] = [
            {
                "up_to": _optional_decimal(tier.up_to),
                "per_1000_points": format_decimal(tier.per_1000_points),
                "per_1000_points_display": str(
                    format_currency(
                        tier.per_1000_points, currency, locale=locale, decimal_quantization=False
                    )
                ),
            }
            for tier in payout.tiers
        ]
    elif isinstance(payout, MilestonesPayout):
        shown["milestones"] = [
            {"points": format_decimal(m.points), **_money_of(m.amount, currency, locale)}
            for m in payout.milestones
        ]
    return {
        "currency": currency,
        "min_qualifying_posts": market.min_qualifying_posts,
        "minimum_payout": None
        if market.minimum_payout is None
        else _money_of(market.minimum_payout, currency, locale),
        "creator_cap": None
        if market.creator_cap is None
        else _money_of(market.creator_cap, currency, locale),
        "payout": shown,
    }


# --- GET /creators/{creator_id}/programs/{program_id}/eligibility ------------------------


def eligibility_view(
    rules: ProgramRules, creator_id: str, facts: Sequence[Fact], now: datetime, locale: str
) -> Json:
    """Eligibility as of `now`: one line per rule of SPEC 4.1, as judged by
    `judge_eligibility`, with the creator's actual value beside the requirement."""
    decision = judge_eligibility(rules, facts, now)
    timeline = facts_before(facts, now)
    profile = latest_profile(timeline)
    invitation = latest_invitation(timeline, rules.program_id)
    strikes = active_strikes(timeline, now)
    wanted = rules.eligibility
    failed = set(decision.reasons)
    has_profile = profile is not None

    def criterion(
        name: str, reason: IneligibilityReason, actual: Any, required: Any, needs_profile: bool
    ) -> Json:
        met = reason not in failed and (has_profile or not needs_profile)
        return {
            "criterion": name,
            "label": i18n.text(locale, f"criterion.{name}"),
            "met": met,
            "actual": actual,
            "required": required,
            "reason": None if met else reason.value,
        }

    criteria = [
        criterion("profile", IneligibilityReason.NO_PROFILE, has_profile, True, False),
        criterion(
            "account_type",
            IneligibilityReason.NOT_PROFESSIONAL,
            profile.account_type if profile else None,
            wanted.account_type,
            True,
        ),
        criterion(
            "market",
            IneligibilityReason.MARKET_NOT_IN_PROGRAM,
            profile.country if profile else None,
            sorted(rules.markets),
            True,
        ),
        criterion(
            "adult",
            IneligibilityReason.NOT_ADULT,
            profile.adult if profile else None,
            wanted.adult_required,
            wanted.adult_required,
        ),
        criterion(
            "invitation",
            IneligibilityReason.NOT_INVITED,
            invitation is not None,
            wanted.invitation_required,
            False,
        ),
        criterion(
            "policy_strikes",
            IneligibilityReason.POLICY_STRIKES,
            strikes,
            wanted.max_active_strikes,
            False,
        ),
        criterion(
            "followers",
            IneligibilityReason.TOO_FEW_FOLLOWERS,
            profile.followers if profile else None,
            wanted.min_followers,
            True,
        ),
    ]
    market = rules.markets.get(decision.market) if decision.market else None
    shown_invitation = None
    if invitation is not None:
        cap: Json | None = None
        if invitation.bonus_cap is not None:
            cap = (
                _money_of(invitation.bonus_cap, market.currency, locale)
                if market is not None
                else {"amount": format_decimal(invitation.bonus_cap)}
            )
        shown_invitation = {
            "program_id": invitation.program_id,
            "invited_at": to_utc_text(invitation.occurred_at),
            "bonus_cap": cap,
        }
    return {
        "creator_id": creator_id,
        "program_id": rules.program_id,
        "as_of": to_utc_text(now),
        "eligible": decision.eligible,
        "reasons": [reason.value for reason in decision.reasons],
        "market": decision.market,
        "currency": market.currency if market is not None else None,
        "criteria": criteria,
        "active_strikes": _active_strike_list(timeline, now),
        "invitation": shown_invitation,
    }


def _active_strike_list(timeline: Iterable[Fact], at: datetime) -> list[Json]:
    """The strikes `active_strikes` counts, each with its expiry (same rule: the latest
    issue or lift decides; active until `expires_at`)."""
    state: dict[str, PolicyStrikeIssued | None] = {}
    for fact in timeline:
        if isinstance(fact, PolicyStrikeIssued):
            state[fact.strike_id] = fact
        elif isinstance(fact, PolicyStrikeLifted):
            state[fact.strike_id] = None
    return [
        {
            "strike_id": strike_id,
            "issued_at": to_utc_text(issued.occurred_at),
            "expires_at": to_utc_text(issued.expires_at) if issued.expires_at else None,
        }
        for strike_id, issued in sorted(state.items())
        if issued is not None and (issued.expires_at is None or issued.expires_at > at)
    ]


# --- GET .../periods/{period}/progress ----------------------------------------------------


@dataclass(frozen=True)
class ProvisionalRates:
    """A provisional run's settlement of each market, and when that run started."""

    as_of: datetime
    settlements: Mapping[str, Settlement]


def tally_of(events: Iterable[Mapping[str, Any]], period: Period) -> Tally:
    """Sum the stored events of a creator's month by (post, format, metric, quality)."""
    tally: dict[Any, int] = defaultdict(int)
    for event in events:
        if period.contains(from_utc_text(str(event["occurred_at"]))):
            key = (event["post_id"], event["format"], event["metric"], event["quality"])
            tally[key] += int(event["count"])
    return dict(tally)


def progress_view(
    program: LoadedProgram,
    period: Period,
    creator_id: str,
    events: Sequence[Mapping[str, Any]],
    facts: Sequence[Fact],
    now: datetime,
    locale: str,
    provisional: ProvisionalRates | None = None,
    statement: StatementRevision | None = None,
) -> Json:
    """Points so far and what they would earn. For a closed period with a statement,
    the statement is the progress (same points, posts and amount; basis `statement`)."""
    rules = program.rules
    tally = tally_of(events, period)
    if statement is not None:
        body_points, qualifying, breakdown = (
            statement.points,
            statement.qualifying_posts,
            statement.breakdown,
        )
        market_name, eligible, reasons = statement.market, statement.eligible, statement.reasons
        estimate = _statement_estimate(statement, locale)
    else:
        at = min(now, period.end)
        decision = judge_eligibility(rules, facts, at)
        points = score_creator(rules.scoring, tally, restricted_posts(facts))
        draft = draft_statement(program, period, creator_id, decision, points)
        body = draft.body
        body_points, qualifying, breakdown = body.points, body.qualifying_posts, body.breakdown
        market_name, eligible = body.market, body.eligible
        reasons = body.reasons
        market = rules.markets.get(market_name) if market_name else None
        estimate = None
        if market is not None and draft.prepared is not None:
            estimate = _estimate(
                market_name or "",
                market,
                draft.prepared.restore(),
                decision.eligible,
                now,
                provisional,
                locale,
            )
    market = rules.markets.get(market_name) if market_name else None
    minimum = market.min_qualifying_posts if market is not None else None
    return {
        "creator_id": creator_id,
        "program_id": rules.program_id,
        "period": period.name,
        "closed": period.end <= now,
        "as_of": to_utc_text(now),
        "market": market_name,
        "currency": market.currency if market is not None else None,
        "eligible": eligible,
        "reasons": reasons,
        "points": body_points,
        "qualifying_posts": {
            "count": qualifying,
            "minimum": minimum,
            "met": minimum is None or qualifying >= minimum,
        },
        "by_format": breakdown.by_format,
        "by_metric": breakdown.by_metric,
        "by_post": [post.model_dump(mode="json") for post in breakdown.by_post],
        "excluded": excluded_points(rules, tally, breakdown),
        "estimate": estimate,
    }


def excluded_points(rules: ProgramRules, tally: Tally, breakdown: Breakdown) -> Json:
    """Points that did not count, by cause: events of an uncounted quality (per post,
    floored at 0), restricted posts (what they would have earned) and post caps."""
    scoring = rules.scoring
    cap = scoring.post_points_cap
    with localcontext(EXACT):
        by_quality: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
        for (post_id, format_, metric, quality), count in tally.items():
            if quality not in scoring.counted_quality:
                by_quality[quality][post_id] += count * scoring.weight(format_, metric)
        quality_points = {
            quality: sum((max(p, Decimal(0)) for p in by_quality[quality].values()), Decimal(0))
            for quality in QUALITIES
            if quality in by_quality
        }
        restricted = Decimal(0)
        capped = Decimal(0)
        for post in breakdown.by_post:
            weighted = max(parse_decimal(post.weighted_points), Decimal(0))
            earnable = min(weighted, cap) if cap is not None else weighted
            if post.restricted:
                restricted += earnable
            elif post.capped:
                capped += weighted - parse_decimal(post.points)
        total_quality = sum(quality_points.values(), Decimal(0))
    return {
        "quality": format_decimal(total_quality),
        "quality_by_kind": {name: format_decimal(value) for name, value in quality_points.items()},
        "restricted_post": format_decimal(restricted),
        "post_cap": format_decimal(capped),
    }


def _estimate(
    market_name: str,
    market: Market,
    prepared: PreparedPayout,
    eligible: bool,
    now: datetime,
    provisional: ProvisionalRates | None,
    locale: str,
) -> Json | None:
    payout = market.payout
    currency = market.currency
    as_of = now
    extra: Json = {}
    if isinstance(payout, PoolPayout):
        settlement = provisional.settlements.get(market_name) if provisional else None
        if provisional is None or settlement is None:
            return None  # no provisional run yet: no pool rate to estimate with
        basis, as_of = POOL_PROVISIONAL, provisional.as_of
    else:
        settlement = Settlement()  # before any budget scaling
        basis = RATE_SO_FAR if isinstance(payout, RatePayout) else MILESTONE
    result = pay(market, prepared, settlement)
    amount = money(result.amount_minor, currency, locale)
    wording: ExplanationLine
    if not eligible:
        wording = line("estimate.not_eligible")
    elif PayoutFlag.BELOW_MIN_POSTS in result.flags:
        wording = line("estimate.below_min_posts", min_qualifying_posts=market.min_qualifying_posts)
    elif isinstance(payout, MilestonesPayout):
        following = [m for m in payout.milestones if m.points > prepared.points]
        if following:
            nxt = following[0]
            with localcontext(EXACT):
                needed = nxt.points - prepared.points
            next_minor = to_minor_floor(nxt.amount, currency)
            extra = {
                "next_milestone": {
                    "points": format_decimal(nxt.points),
                    **money(next_minor, currency, locale),
                },
                "points_needed": format_decimal(needed),
            }
            wording = line(
                "estimate.milestone",
                amount_minor=result.amount_minor,
                next_amount_minor=next_minor,
                points_needed=format_decimal(needed),
                currency=currency,
            )
        else:
            extra = {"next_milestone": None, "points_needed": None}
            wording = line(
                "estimate.milestone_top", amount_minor=result.amount_minor, currency=currency
            )
    else:
        message = "estimate.pool_provisional" if basis == POOL_PROVISIONAL else f"estimate.{basis}"
        wording = line(message, amount_minor=result.amount_minor, currency=currency)
    return {
        **amount,
        "currency": currency,
        "basis": basis,
        "as_of": to_utc_text(as_of),
        "flags": [flag.value for flag in result.flags],
        **extra,
        "text": render_line(wording, locale),
    }


def _statement_estimate(statement: StatementRevision, locale: str) -> Json | None:
    if statement.currency is None:
        return None
    return {
        **money(statement.amount_minor, statement.currency, locale),
        "currency": statement.currency,
        "basis": STATEMENT,
        "as_of": None,  # the revision's issue time is not read here
        "revision": statement.revision,
        "flags": statement.flags,
        "text": render_line(
            line(
                "estimate.statement",
                amount_minor=statement.amount_minor,
                currency=statement.currency,
            ),
            locale,
        ),
    }


# --- GET .../periods/{period}/statement ---------------------------------------------------


def statement_view(revisions: Sequence[StatementRevision], locale: str) -> Json:
    """The latest revision, its explanation in the reader's language, and every
    revision's number and amount."""
    latest = revisions[-1]
    shown = latest.model_dump(mode="json", exclude={"explanation_lines"})
    currency = latest.currency
    shown["explanation"] = (
        render(latest.explanation_lines, locale)
        if latest.explanation_lines
        else list(latest.explanation)  # a revision stored before the lines existed
    )
    shown["explanation_lines"] = [item.model_dump(mode="json") for item in latest.explanation_lines]
    if currency is not None:
        shown["amount_display"] = i18n.format_money(latest.amount_minor, currency, locale)
    shown["revisions"] = [
        {
            "revision": revision.revision,
            "amount": revision.amount,
            "amount_minor": revision.amount_minor,
            "amount_display": i18n.format_money(revision.amount_minor, currency, locale)
            if currency
            else None,
            "flags": revision.flags,
        }
        for revision in revisions
    ]
    return shown


def summary_view(revision: int, summary: RunSummary, locale: str) -> Json:
    """The latest run summary, with each market's total shown in the locale."""
    shown: Json = {"revision": revision, **summary.model_dump(mode="json")}
    for market in shown["markets"]:
        market["total_paid_display"] = i18n.format_money(
            int(market["total_paid_minor"]), market["currency"], locale
        )
    return shown
