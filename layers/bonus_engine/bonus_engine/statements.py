"""Statements (SPEC section 5): what a creator is told, point by point, and the run summary.

A statement is built in two steps, because the amount depends on the whole market:
`draft_statement` (one creator: eligibility, points, breakdown, the prepared payout) and
`finish_statement` (with the market's settlement: the amount and its flags).
"""

import hashlib
import json
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict

from bonus_engine.eligibility import EligibilityDecision
from bonus_engine.money import format_decimal, format_minor, parse_decimal, to_minor_floor
from bonus_engine.payout import Payout, PayoutFlag, PreparedPayout, Settlement, pay, prepare
from bonus_engine.periods import Period
from bonus_engine.program_rules import LoadedProgram, PoolPayout, RatePayout
from bonus_engine.scoring import CreatorPoints


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MetricPoints(_Out):
    format: str
    metric: str
    count: int
    points: str


class PostBreakdown(_Out):
    post_id: str
    points: str  # what the post earns
    weighted_points: str  # the sum of its metric lines, before the floor and the cap
    restricted: bool
    floored_at_zero: bool
    capped: bool
    metrics: list[MetricPoints]
    uncounted: dict[str, int]  # net counts of events whose quality does not count


class Breakdown(_Out):
    by_format: dict[str, str]  # weighted points of the counted, unrestricted posts
    by_metric: dict[str, str]
    post_adjustments: str  # floor at 0 and post cap: points = sum(by_format) + this
    by_post: list[PostBreakdown]


class StatementBody(_Out):
    """A statement without its amount and revision."""

    creator_id: str
    program_id: str
    period: str
    market: str | None
    currency: str | None
    eligible: bool
    reasons: list[str]
    points: str
    qualifying_posts: int
    rules_hash: str
    breakdown: Breakdown


class Statement(StatementBody):
    amount: str
    amount_minor: int
    flags: list[str]
    explanation: list[str]

    @property
    def digest(self) -> str:
        """Identifies the content (never the revision number): equal digests, nothing to
        revise."""
        content = self.model_dump(mode="json", exclude={"revision"})
        canonical = json.dumps(content, sort_keys=True)
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


class StatementRevision(Statement):
    revision: int


class PreparedPart(_Out):
    points: str
    takes_part: bool
    cap: str | None
    capped_amount: str
    flags: list[str]

    @classmethod
    def of(cls, prepared: PreparedPayout) -> "PreparedPart":
        return cls(
            points=format_decimal(prepared.points),
            takes_part=prepared.takes_part,
            cap=None if prepared.cap is None else format_decimal(prepared.cap),
            capped_amount=format_decimal(prepared.capped_amount),
            flags=[flag.value for flag in PayoutFlag if flag in prepared.flags],
        )

    def restore(self) -> PreparedPayout:
        return PreparedPayout(
            points=parse_decimal(self.points),
            takes_part=self.takes_part,
            cap=None if self.cap is None else parse_decimal(self.cap),
            capped_amount=parse_decimal(self.capped_amount),
            flags=frozenset(PayoutFlag(flag) for flag in self.flags),
        )


class StatementDraft(_Out):
    body: StatementBody
    prepared: PreparedPart | None  # None when the creator is in no market of the program


def draft_statement(
    program: LoadedProgram,
    period: Period,
    creator_id: str,
    decision: EligibilityDecision,
    points: CreatorPoints,
) -> StatementDraft:
    rules = program.rules
    market = rules.markets.get(decision.market) if decision.market else None
    prepared = None
    if market is not None:
        prepared = PreparedPart.of(
            prepare(
                market,
                points.points,
                points.qualifying_posts,
                decision.eligible,
                decision.bonus_cap,
            )
        )
    body = StatementBody(
        creator_id=creator_id,
        program_id=rules.program_id,
        period=period.name,
        market=decision.market,
        currency=market.currency if market else None,
        eligible=decision.eligible,
        reasons=[reason.value for reason in decision.reasons],
        points=format_decimal(points.points),
        qualifying_posts=points.qualifying_posts,
        rules_hash=program.content_hash,
        breakdown=_breakdown(points),
    )
    return StatementDraft(body=body, prepared=prepared)


def finish_statement(
    program: LoadedProgram, draft: StatementDraft, settlements: Mapping[str, Settlement]
) -> Statement:
    body = draft.body
    payout = Payout(0)
    market = program.rules.markets.get(body.market) if body.market else None
    if market is not None and draft.prepared is not None:
        payout = pay(market, draft.prepared.restore(), settlements[body.market or ""])
    currency = body.currency
    flags = [flag.value for flag in payout.flags]
    amount = format_minor(payout.amount_minor, currency) if currency else "0"
    return Statement(
        **body.model_dump(),
        amount=amount,
        amount_minor=payout.amount_minor,
        flags=flags,
        explanation=_explain(program, body, draft.prepared, amount, flags),
    )


def _breakdown(points: CreatorPoints) -> Breakdown:
    return Breakdown(
        by_format={key: format_decimal(value) for key, value in points.by_format.items()},
        by_metric={key: format_decimal(value) for key, value in points.by_metric.items()},
        post_adjustments=format_decimal(points.adjustment),
        by_post=[
            PostBreakdown(
                post_id=post.post_id,
                points=format_decimal(post.points),
                weighted_points=format_decimal(post.weighted),
                restricted=post.restricted,
                floored_at_zero=post.floored,
                capped=post.capped,
                metrics=[
                    MetricPoints(
                        format=line.format,
                        metric=line.metric,
                        count=line.count,
                        points=format_decimal(line.points),
                    )
                    for line in post.lines
                ],
                uncounted=dict(post.uncounted),
            )
            for post in points.posts
        ],
    )


_REASON_TEXT = {
    "no_profile": "no creator profile was known by the end of the period",
    "not_professional": "the account was not a professional account",
    "market_not_in_program": "the account's country is not a market of this program",
    "not_adult": "the account holder was not confirmed as an adult",
    "not_invited": "there was no standing invitation to this program",
    "policy_strikes": "the account had more active policy strikes than the program allows",
    "too_few_followers": "the account had fewer followers than the program requires",
}


def _explain(
    program: LoadedProgram,
    body: StatementBody,
    prepared: PreparedPart | None,
    amount: str,
    flags: list[str],
) -> list[str]:
    """Plain sentences for the creator; the breakdown holds the numbers behind them."""
    lines = []
    if not body.eligible:
        reasons = "; ".join(_REASON_TEXT[reason] for reason in body.reasons)
        lines.append(f"Not eligible this period: {reasons}.")
    else:
        lines.append(f"Eligible in market {body.market}.")
    restricted = sum(1 for post in body.breakdown.by_post if post.restricted)
    lines.append(
        f"{body.points} points from {body.qualifying_posts} qualifying "
        f"post{'s' * (body.qualifying_posts != 1)}"
        + (
            f"; {restricted} restricted post{'s' * (restricted != 1)} earned nothing"
            if restricted
            else ""
        )
        + "."
    )
    market = program.rules.markets.get(body.market) if body.market else None
    if body.eligible and market is not None and prepared is not None:
        if "below_min_posts" in flags:
            lines.append(
                f"The market pays from {market.min_qualifying_posts} qualifying posts; "
                "nothing is due."
            )
        elif isinstance(market.payout, PoolPayout):
            lines.append("Your share of the market's pool follows your share of its points.")
        elif isinstance(market.payout, RatePayout):
            lines.append("Paid by the market's graduated rate per 1,000 points.")
        else:
            lines.append("Paid the amount of the highest milestone your points reached.")
        if "capped" in flags:
            cap = format_minor(
                to_minor_floor(parse_decimal(prepared.cap or "0"), market.currency), market.currency
            )
            lines.append(f"Held at your cap of {cap} {body.currency}.")
        if "budget_scaled" in flags:
            lines.append("Scaled down with every creator's amount to fit the market's budget.")
        if "below_minimum" in flags:
            lines.append(
                f"Below the minimum payout of {market.minimum_payout} {body.currency}; "
                "nothing is paid."
            )
    lines.append(f"Amount: {amount} {body.currency or ''}".rstrip() + ", rounded down.")
    return lines
