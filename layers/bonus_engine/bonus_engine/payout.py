"""Amounts (SPEC section 4, steps 3 to 7): pure and exact.

A market's payout depends on every creator in it (the pool is shared, the budget scales
everyone), so the arithmetic comes in three steps that the sharded computation runs
where the data is:

1. `prepare`: one creator alone: qualification, personal cap, the capped raw amount;
2. `MarketTotals` / `settle`: what the whole market needs, added up over all creators
   (in any grouping: totals merge) and turned into one `Settlement` per market;
3. `pay`: one creator again, with the market's settlement: scale, round down, minimum.

`compute_market` runs the three in one go; the tests and the local tools use it, and it
is the definition the sharded run must agree with.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from enum import StrEnum
from fractions import Fraction

from bonus_engine.money import EXACT, to_minor_exact, to_minor_floor
from bonus_engine.program_rules import Market, MilestonesPayout, PoolPayout, RatePayout


class PayoutFlag(StrEnum):
    """In the order a statement lists them."""

    BELOW_MIN_POSTS = "below_min_posts"
    CAPPED = "capped"
    BUDGET_SCALED = "budget_scaled"
    BELOW_MINIMUM = "below_minimum"


@dataclass(frozen=True)
class PreparedPayout:
    """One creator's part of a market, before the market is settled."""

    points: Decimal
    takes_part: bool  # eligible, in this market, with enough qualifying posts
    cap: Decimal | None  # the lower of the market's creator_cap and the personal bonus_cap
    capped_amount: Decimal  # rate and milestones: the raw amount after the cap; pool: 0
    flags: frozenset[PayoutFlag] = frozenset()


@dataclass(frozen=True)
class MarketTotals:
    """What settling a market needs; totals of disjoint groups of creators merge."""

    capped_sum: Decimal = Decimal(0)  # rate, milestones: the sum of capped amounts
    pool_points: Decimal = Decimal(0)  # pool: the points of the creators taking part
    pool_caps: tuple[tuple[Decimal, Decimal], ...] = ()  # pool: (points, cap) of capped ones

    def merge(self, other: "MarketTotals") -> "MarketTotals":
        with localcontext(EXACT):
            return MarketTotals(
                capped_sum=self.capped_sum + other.capped_sum,
                pool_points=self.pool_points + other.pool_points,
                pool_caps=self.pool_caps + other.pool_caps,
            )


@dataclass(frozen=True)
class Settlement:
    """The market-wide outcome every creator's amount is finished with."""

    budget_scale: Fraction | None = None  # budget / sum, when the sum is above the budget
    pool_rate: Fraction | None = None  # pool: the amount per point of uncapped creators
    pool_total: Decimal | None = None


@dataclass(frozen=True)
class Payout:
    amount_minor: int
    flags: tuple[PayoutFlag, ...] = field(default_factory=tuple)


def effective_cap(market: Market, bonus_cap: Decimal | None) -> Decimal | None:
    caps = [cap for cap in (market.creator_cap, bonus_cap) if cap is not None]
    return min(caps) if caps else None


def rate_amount(payout: RatePayout, points: Decimal) -> Decimal:
    """Graduated tiers: each tier's own points / 1000 x its rate."""
    total = Decimal(0)
    floor = Decimal(0)
    with localcontext(EXACT):
        for tier in payout.tiers:
            ceiling = points if tier.up_to is None else min(points, tier.up_to)
            if ceiling > floor:
                total += (ceiling - floor) * tier.per_1000_points / 1000
            if tier.up_to is None or points <= tier.up_to:
                break
            floor = tier.up_to
    return total


def milestone_amount(payout: MilestonesPayout, points: Decimal) -> Decimal:
    """The amount of the highest milestone whose points were reached."""
    reached = [milestone.amount for milestone in payout.milestones if points >= milestone.points]
    return reached[-1] if reached else Decimal(0)


def prepare(
    market: Market,
    points: Decimal,
    qualifying_posts: int,
    eligible: bool,
    bonus_cap: Decimal | None,
) -> PreparedPayout:
    """Step 2's minimum posts, step 3's raw amount (rate, milestones) and step 4's cap."""
    cap = effective_cap(market, bonus_cap)
    if not eligible:
        return PreparedPayout(points, takes_part=False, cap=cap, capped_amount=Decimal(0))
    if qualifying_posts < market.min_qualifying_posts:
        return PreparedPayout(
            points,
            takes_part=False,
            cap=cap,
            capped_amount=Decimal(0),
            flags=frozenset({PayoutFlag.BELOW_MIN_POSTS}),
        )
    payout = market.payout
    if isinstance(payout, PoolPayout):
        return PreparedPayout(points, takes_part=True, cap=cap, capped_amount=Decimal(0))
    raw = (
        rate_amount(payout, points)
        if isinstance(payout, RatePayout)
        else milestone_amount(payout, points)
    )
    if cap is not None and raw > cap:
        return PreparedPayout(
            points, True, cap, capped_amount=cap, flags=frozenset({PayoutFlag.CAPPED})
        )
    return PreparedPayout(points, takes_part=True, cap=cap, capped_amount=raw)


def market_totals(market: Market, prepared: Iterable[PreparedPayout]) -> MarketTotals:
    totals = MarketTotals()
    is_pool = isinstance(market.payout, PoolPayout)
    for item in prepared:
        if not item.takes_part:
            continue
        if is_pool:
            caps = ((item.points, item.cap),) if item.cap is not None and item.points > 0 else ()
            totals = totals.merge(MarketTotals(pool_points=item.points, pool_caps=caps))
        else:
            totals = totals.merge(MarketTotals(capped_sum=item.capped_amount))
    return totals


def settle(market: Market, totals: MarketTotals) -> Settlement:
    payout = market.payout
    if isinstance(payout, PoolPayout):
        return Settlement(
            pool_rate=pool_rate(payout.pool, totals.pool_points, totals.pool_caps),
            pool_total=payout.pool,
        )
    if market.budget is not None and totals.capped_sum > market.budget:
        return Settlement(budget_scale=Fraction(market.budget) / Fraction(totals.capped_sum))
    return Settlement()


def pool_rate(
    pool: Decimal, points: Decimal, caps: Iterable[tuple[Decimal, Decimal]]
) -> Fraction | None:
    """The amount per point that shares `pool` by points, with every creator whose share
    would pass their cap held at the cap and the rest shared again among the others,
    until no share is above its cap. None when every creator with points is capped."""
    remaining_pool = Fraction(pool)
    remaining_points = Fraction(points)
    by_ratio = sorted(
        (Fraction(cap) / Fraction(pts), Fraction(pts), Fraction(cap)) for pts, cap in caps
    )
    for ratio, pts, cap in by_ratio:
        if remaining_points == 0 or ratio >= remaining_pool / remaining_points:
            break  # sorted: no later cap binds either
        remaining_pool -= cap
        remaining_points -= pts
    if remaining_points == 0:
        return None
    return remaining_pool / remaining_points


def pay(market: Market, prepared: PreparedPayout, settlement: Settlement) -> Payout:
    """Steps 4 (pool caps), 5, 6 and 7 for one creator."""
    flags = set(prepared.flags)
    currency = market.currency
    exact: Fraction
    if not prepared.takes_part or (prepared.points <= 0 and isinstance(market.payout, PoolPayout)):
        exact = Fraction(0)
    elif isinstance(market.payout, PoolPayout):
        share = (
            None
            if settlement.pool_rate is None
            else settlement.pool_rate * Fraction(prepared.points)
        )
        if prepared.cap is not None and (share is None or Fraction(prepared.cap) < share):
            flags.add(PayoutFlag.CAPPED)
            exact = Fraction(prepared.cap)
        else:
            assert share is not None
            exact = share
    else:
        exact = Fraction(prepared.capped_amount)
        if settlement.budget_scale is not None and exact > 0:
            flags.add(PayoutFlag.BUDGET_SCALED)
            exact *= settlement.budget_scale
    amount_minor = to_minor_floor(exact, currency)
    if market.minimum_payout is not None and 0 < amount_minor < to_minor_exact(
        market.minimum_payout, currency
    ):
        flags.add(PayoutFlag.BELOW_MINIMUM)
        amount_minor = 0
    return Payout(amount_minor, tuple(flag for flag in PayoutFlag if flag in flags))


def compute_market(market: Market, prepared: Mapping[str, PreparedPayout]) -> dict[str, Payout]:
    """Every creator's payout in one market, in one go (the sharded run's definition)."""
    settlement = settle(market, market_totals(market, prepared.values()))
    return {creator: pay(market, item, settlement) for creator, item in prepared.items()}
