"""A period's computation as pure functions (SPEC section 4), from drafts to summary.

The sharded run (bonus_run) calls these where its data is; `compute_period` calls them
all in one process, and is what the sharded run is tested against.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from pydantic import BaseModel, ConfigDict

from bonus_engine.eligibility import judge_eligibility, restricted_posts
from bonus_engine.facts import Fact
from bonus_engine.money import (
    format_decimal,
    format_fraction,
    format_minor,
    parse_decimal,
    parse_fraction,
)
from bonus_engine.payout import (
    MarketTotals,
    PreparedPayout,
    Settlement,
    market_totals,
    settle,
)
from bonus_engine.periods import Period
from bonus_engine.program_rules import LoadedProgram, PoolPayout
from bonus_engine.scoring import Tally, score_creator
from bonus_engine.statements import (
    HELD,
    Statement,
    StatementDraft,
    draft_statement,
    finish_statement,
)


@dataclass(frozen=True)
class CreatorInputs:
    facts: list[Fact] = field(default_factory=list)
    tally: Tally = field(default_factory=dict)


def draft_creator(
    program: LoadedProgram, period: Period, creator_id: str, inputs: CreatorInputs
) -> StatementDraft:
    """Eligibility as of the period's end, points, and the payout prepared for settling."""
    decision = judge_eligibility(program.rules, inputs.facts, period.end)
    restricted = restricted_posts(inputs.facts)
    points = score_creator(program.rules.scoring, inputs.tally, restricted)
    return draft_statement(program, period, creator_id, decision, points)


def totals_by_market(
    program: LoadedProgram, drafts: Iterable[StatementDraft]
) -> dict[str, MarketTotals]:
    prepared: dict[str, list[PreparedPayout]] = defaultdict(list)
    for draft in drafts:
        if draft.prepared is not None and draft.body.market is not None:
            prepared[draft.body.market].append(draft.prepared.restore())
    return {
        name: market_totals(market, prepared[name])
        for name, market in program.rules.markets.items()
    }


def settle_markets(
    program: LoadedProgram, totals: Mapping[str, MarketTotals]
) -> dict[str, Settlement]:
    return {
        name: settle(market, totals.get(name, MarketTotals()))
        for name, market in program.rules.markets.items()
    }


def compute_period(
    program: LoadedProgram, period: Period, creators: Mapping[str, CreatorInputs]
) -> list[Statement]:
    """Every creator's statement for the period, sorted by creator_id, in one process."""
    drafts = [
        draft_creator(program, period, creator_id, inputs)
        for creator_id, inputs in sorted(creators.items())
    ]
    settlements = settle_markets(program, totals_by_market(program, drafts))
    return [finish_statement(program, draft, settlements) for draft in drafts]


# --- what the shards hand to each other, serialisable -------------------------------


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MarketTotalsRecord(_Record):
    capped_sum: str = "0"
    pool_points: str = "0"
    pool_caps: list[tuple[str, str]] = []

    @classmethod
    def of(cls, totals: MarketTotals) -> "MarketTotalsRecord":
        return cls(
            capped_sum=format_decimal(totals.capped_sum),
            pool_points=format_decimal(totals.pool_points),
            pool_caps=[(format_decimal(p), format_decimal(c)) for p, c in totals.pool_caps],
        )

    def restore(self) -> MarketTotals:
        return MarketTotals(
            capped_sum=parse_decimal(self.capped_sum),
            pool_points=parse_decimal(self.pool_points),
            pool_caps=tuple((parse_decimal(p), parse_decimal(c)) for p, c in self.pool_caps),
        )


class SettlementRecord(_Record):
    budget_scale: str | None = None
    pool_rate: str | None = None
    pool_total: str | None = None

    @classmethod
    def of(cls, settlement: Settlement) -> "SettlementRecord":
        return cls(
            budget_scale=_fraction_text(settlement.budget_scale),
            pool_rate=_fraction_text(settlement.pool_rate),
            pool_total=None
            if settlement.pool_total is None
            else format_decimal(settlement.pool_total),
        )

    def restore(self) -> Settlement:
        return Settlement(
            budget_scale=None if self.budget_scale is None else parse_fraction(self.budget_scale),
            pool_rate=None if self.pool_rate is None else parse_fraction(self.pool_rate),
            pool_total=None if self.pool_total is None else parse_decimal(self.pool_total),
        )


def _fraction_text(value: Fraction | None) -> str | None:
    return None if value is None else format_fraction(value)


class ScoredShard(_Record):
    """Phase 1's result for one shard: the market totals and the period's events."""

    markets: dict[str, MarketTotalsRecord]
    events_accepted: int
    events_late: int
    creators: int


class MarketTally(_Record):
    creators: int = 0
    eligible: int = 0
    paid: int = 0
    paid_minor: int = 0

    def add(self, other: "MarketTally") -> "MarketTally":
        return MarketTally(
            creators=self.creators + other.creators,
            eligible=self.eligible + other.eligible,
            paid=self.paid + other.paid,
            paid_minor=self.paid_minor + other.paid_minor,
        )


class IssuedShard(_Record):
    """Phase 2's result for one shard: what its statements add up to."""

    creators: int
    eligible: int
    paid: int
    markets: dict[str, MarketTally]
    revised: int  # statements of this shard whose latest revision this run wrote
    held: int = 0  # creators whose computation failed (statement flag `held`)


def tally_issued(statements: Iterable[Statement], revised: int) -> IssuedShard:
    markets: dict[str, MarketTally] = {}
    creators = eligible = paid = held = 0
    for statement in statements:
        creators += 1
        held += HELD in statement.flags
        eligible += statement.eligible
        paid += statement.amount_minor > 0
        if statement.market is not None and statement.currency is not None:
            line = MarketTally(
                creators=1,
                eligible=int(statement.eligible),
                paid=int(statement.amount_minor > 0),
                paid_minor=statement.amount_minor,
            )
            markets[statement.market] = markets.get(statement.market, MarketTally()).add(line)
    return IssuedShard(
        creators=creators,
        eligible=eligible,
        paid=paid,
        markets=markets,
        revised=revised,
        held=held,
    )


class MarketSummary(_Record):
    market: str
    currency: str
    model: str
    creators: int
    eligible: int
    paid: int
    total_paid: str
    total_paid_minor: int
    limit_kind: str | None  # "budget" or "pool": what the total is held against
    limit: str | None


class EventCounts(_Record):
    accepted: int  # distinct event_ids of the period
    rejected: int
    late: int  # accepted after the period was first computed


class RunSummary(_Record):
    program_id: str
    period: str
    rules_hash: str
    creators_evaluated: int
    creators_eligible: int
    creators_paid: int
    held: int = 0  # creators whose computation failed: paid 0, flag `held` (SPEC 4)
    markets: list[MarketSummary]
    events: EventCounts


def summarize(
    program: LoadedProgram,
    period: Period,
    issued: Iterable[IssuedShard],
    events: EventCounts,
) -> RunSummary:
    creators = eligible = paid = held = 0
    markets: dict[str, MarketTally] = {}
    for shard in issued:
        held += shard.held
        creators += shard.creators
        eligible += shard.eligible
        paid += shard.paid
        for name, tally in shard.markets.items():
            markets[name] = markets.get(name, MarketTally()).add(tally)
    lines = []
    for name, market in sorted(program.rules.markets.items()):
        tally = markets.get(name, MarketTally())
        payout = market.payout
        if isinstance(payout, PoolPayout):
            limit_kind, limit = "pool", format_decimal(payout.pool)
        elif market.budget is not None:
            limit_kind, limit = "budget", format_decimal(market.budget)
        else:
            limit_kind, limit = None, None
        lines.append(
            MarketSummary(
                market=name,
                currency=market.currency,
                model=payout.model,
                creators=tally.creators,
                eligible=tally.eligible,
                paid=tally.paid,
                total_paid=format_minor(tally.paid_minor, market.currency),
                total_paid_minor=tally.paid_minor,
                limit_kind=limit_kind,
                limit=limit,
            )
        )
    return RunSummary(
        program_id=program.rules.program_id,
        period=period.name,
        rules_hash=program.content_hash,
        creators_evaluated=creators,
        creators_eligible=eligible,
        creators_paid=paid,
        held=held,
        markets=lines,
        events=events,
    )
