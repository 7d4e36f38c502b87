"""Statements (SPEC section 5): what a creator is told, point by point, and the run summary.

A statement is built in two steps, because the amount depends on the whole market:
`draft_statement` (one creator: eligibility, points, breakdown, the prepared payout) and
`finish_statement` (with the market's settlement: the amount and its flags).
"""

import hashlib
import json
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bonus_engine.eligibility import EligibilityDecision
from bonus_engine.explanations import ExplanationLine, held_lines, render, statement_lines
from bonus_engine.money import format_decimal, format_minor, parse_decimal, to_minor_floor
from bonus_engine.payout import Payout, PayoutFlag, PreparedPayout, Settlement, pay, prepare
from bonus_engine.periods import Period
from bonus_engine.program_rules import LoadedProgram
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
    # Language-free lines (codes, decimal strings, minor units): the API renders them in
    # the reader's language. Revisions stored before the lines existed have none.
    explanation_lines: list[ExplanationLine] = Field(default_factory=list)
    explanation: list[str]  # the English rendering of the lines

    @model_validator(mode="before")
    @classmethod
    def _render_explanation(cls, data: Any) -> Any:
        """`explanation` defaults to the English rendering of `explanation_lines`."""
        if isinstance(data, dict) and "explanation" not in data:
            lines = [ExplanationLine.model_validate(x) for x in data.get("explanation_lines", [])]
            data = {**data, "explanation": render(lines, "en")}
        return data

    @cached_property
    def digest(self) -> str:
        """Identifies the content (never the revision number): equal digests, nothing to
        revise. Computed once (a statement is immutable)."""
        content = self.model_dump(mode="json", exclude={"revision"})
        canonical = json.dumps(content, sort_keys=True)
        return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


class StatementRevision(Statement):
    revision: int


def with_revision(statement: Statement, revision: int) -> StatementRevision:
    """The statement as revision `revision`, without validating it again (it was)."""
    fields = {name: getattr(statement, name) for name in Statement.model_fields}
    return StatementRevision.model_construct(**fields, revision=revision)


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
    held: bool = False  # the creator's computation failed (see held_draft)


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
    if draft.held:
        return held_statement(program, draft)
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
        explanation_lines=_explain(program, body, draft.prepared, amount, flags),
    )


HELD = "held"  # the flag of a statement whose computation failed (SPEC 4, isolation)


def held_draft(
    program: LoadedProgram, period: Period, creator_id: str, market: str | None = None
) -> StatementDraft:
    """The draft of a creator whose computation failed: no points, no part in any market,
    flagged `held` once finished. The run goes on for everyone else."""
    currency = program.rules.markets[market].currency if market in program.rules.markets else None
    body = StatementBody(
        creator_id=creator_id,
        program_id=program.rules.program_id,
        period=period.name,
        market=market,
        currency=currency,
        eligible=False,
        reasons=[],
        points="0",
        qualifying_posts=0,
        rules_hash=program.content_hash,
        breakdown=Breakdown(by_format={}, by_metric={}, post_adjustments="0", by_post=[]),
    )
    return StatementDraft(body=body, prepared=None, held=True)


def held_statement(program: LoadedProgram, draft: StatementDraft) -> Statement:
    """A held creator's statement: amount 0, flag `held`, and why in words."""
    body = draft.body
    amount = format_minor(0, body.currency) if body.currency else "0"
    return Statement(
        **body.model_dump(),
        amount=amount,
        amount_minor=0,
        flags=[HELD],
        explanation_lines=held_lines(body.currency),
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


def _explain(
    program: LoadedProgram,
    body: StatementBody,
    prepared: PreparedPart | None,
    amount: str,
    flags: list[str],
) -> list[ExplanationLine]:
    """Why the creator earned what they earned, as language-free lines (the breakdown
    holds the numbers behind them); the reason texts are in the message catalogs."""
    market = program.rules.markets.get(body.market) if body.market else None
    currency = market.currency if market is not None else None
    cap_minor = minimum_minor = None
    if market is not None and prepared is not None and prepared.cap is not None:
        cap_minor = to_minor_floor(parse_decimal(prepared.cap), market.currency)
    if market is not None and market.minimum_payout is not None:
        minimum_minor = to_minor_floor(market.minimum_payout, market.currency)
    return statement_lines(
        eligible=body.eligible,
        reasons=body.reasons,
        market=body.market,
        currency=currency,
        points=body.points,
        qualifying_posts=body.qualifying_posts,
        restricted_posts=sum(1 for post in body.breakdown.by_post if post.restricted),
        payout_model=market.payout.model if market is not None and prepared else None,
        min_qualifying_posts=market.min_qualifying_posts if market is not None else None,
        flags=flags,
        cap_minor=cap_minor,
        minimum_minor=minimum_minor,
        amount_minor=to_minor_floor(parse_decimal(amount), currency) if currency else 0,
    )
