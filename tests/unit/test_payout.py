"""Amounts (SPEC section 4, steps 3 to 7), hand-computed in USD, JPY and KRW: graduated
rates, milestones, pools shared again around caps, caps, budgets, rounding down and the
minimum payout; and the properties the sharded computation relies on."""

import textwrap
from decimal import Decimal
from fractions import Fraction

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bonus_engine.computation import MarketTotalsRecord
from bonus_engine.money import MINOR_DIGITS
from bonus_engine.payout import (
    MarketTotals,
    Payout,
    PayoutFlag,
    PreparedPayout,
    Settlement,
    compute_market,
    effective_cap,
    market_totals,
    milestone_amount,
    pay,
    pool_rate,
    prepare,
    rate_amount,
    settle,
)
from bonus_engine.program_rules import Market, MilestonesPayout, RatePayout, parse_program_rules

# --- builders --------------------------------------------------------------------------

PROGRAM_HEAD = """\
program_id: spring-bonus
period: month
grace_hours: 48
scoring:
  counted_quality: [organic]
  weights:
    reel:     {view: 1, like: 5, comment: 10, share: 20}
    carousel: {view: 1, like: 5, comment: 10, share: 20}
    standard: {view: 1, like: 5, comment: 10, share: 20}
markets:
"""

US_TIERS = (
    'payout: {model: rate, tiers: [{up_to: 1000000, per_1000_points: "0.40"}, '
    '{up_to: null, per_1000_points: "0.20"}]}'
)
JP_MILESTONES = (
    'payout: {model: milestones, milestones: [{points: 100000, amount: "5000"}, '
    '{points: 1000000, amount: "60000"}]}'
)


def market(body: str, country: str = "XX") -> Market:
    """One market of a program whose YAML is the SPEC section 3 example with `body`."""
    text = PROGRAM_HEAD + f"  {country}:\n" + textwrap.indent(textwrap.dedent(body), "    ")
    return parse_program_rules(text.encode(), "test.yaml").rules.markets[country]


def usd_rate(extra: str = "") -> Market:
    return market(f"currency: USD\n{US_TIERS}\n{extra}")


def jpy_milestones(extra: str = "") -> Market:
    return market(f"currency: JPY\n{JP_MILESTONES}\n{extra}")


def krw_pool(pool: str = "100000000", extra: str = "") -> Market:
    return market(f'currency: KRW\npayout: {{model: pool, pool: "{pool}"}}\n{extra}')


def usd_pool(pool: str, extra: str = "") -> Market:
    return market(f'currency: USD\npayout: {{model: pool, pool: "{pool}"}}\n{extra}')


def taking_part(
    rules: Market,
    points: int | str,
    bonus_cap: str | None = None,
    qualifying_posts: int = 1,
    eligible: bool = True,
) -> PreparedPayout:
    return prepare(
        rules,
        Decimal(points),
        qualifying_posts,
        eligible,
        None if bonus_cap is None else Decimal(bonus_cap),
    )


def rate_of(rules: Market) -> RatePayout:
    assert isinstance(rules.payout, RatePayout)
    return rules.payout


def milestones_of(rules: Market) -> MilestonesPayout:
    assert isinstance(rules.payout, MilestonesPayout)
    return rules.payout


CAPPED = PayoutFlag.CAPPED
SCALED = PayoutFlag.BUDGET_SCALED
BELOW_MINIMUM = PayoutFlag.BELOW_MINIMUM
BELOW_MIN_POSTS = PayoutFlag.BELOW_MIN_POSTS


# --- rate: graduated tiers ---------------------------------------------------------------


def test_graduated_tiers_pay_each_tier_at_its_own_rate_across_a_boundary() -> None:
    # Given 1,500,500 points on [1,000,000 @ 0.40, null @ 0.20]
    # When the raw amount is computed
    amount = rate_amount(rate_of(usd_rate()), Decimal(1_500_500))
    # Then 1,000,000 / 1000 x 0.40 = 400.00, plus 500,500 / 1000 x 0.20 = 100.10: 500.10
    assert amount == Decimal("500.10")


def test_a_creator_crossing_a_tier_boundary_is_paid_in_whole_cents() -> None:
    # Given 1,500,500 points in the USD rate market (400.00 + 100.10 = 500.10)
    rules = usd_rate()
    # When the market is computed / Then 50010 cents, no flag
    assert compute_market(rules, {"a": taking_part(rules, 1_500_500)}) == {"a": Payout(50010)}


def test_points_exactly_at_a_tier_boundary_are_paid_at_the_lower_tier_only() -> None:
    # Given 1,000,000 points / When rated / Then 1,000,000 / 1000 x 0.40 = 400.00
    assert rate_amount(rate_of(usd_rate()), Decimal(1_000_000)) == Decimal("400.00")


def test_points_within_the_first_tier_are_paid_at_its_rate() -> None:
    # Given 999,999 points / When rated / Then 999,999 / 1000 x 0.40 = 399.9996
    assert rate_amount(rate_of(usd_rate()), Decimal(999_999)) == Decimal("399.9996")


def test_decimal_points_are_rated_exactly() -> None:
    # Given 1.5 points / When rated / Then 1.5 / 1000 x 0.40 = 0.0006
    assert rate_amount(rate_of(usd_rate()), Decimal("1.5")) == Decimal("0.0006")


def test_no_points_earn_nothing() -> None:
    # Given 0 points / When rated / Then 0
    assert rate_amount(rate_of(usd_rate()), Decimal(0)) == Decimal(0)


def test_three_tiers_pay_each_slice_of_points_at_its_rate() -> None:
    # Given tiers [1000 @ 1.00, 3000 @ 0.50, null @ 0.10] and 5000 points
    rules = market(
        """\
        currency: USD
        payout: {model: rate, tiers: [{up_to: 1000, per_1000_points: "1.00"},
          {up_to: 3000, per_1000_points: "0.50"}, {up_to: null, per_1000_points: "0.10"}]}
        """
    )
    # When rated
    amount = rate_amount(rate_of(rules), Decimal(5000))
    # Then 1000/1000 x 1.00 + 2000/1000 x 0.50 + 2000/1000 x 0.10 = 1.00 + 1.00 + 0.20 = 2.20
    assert amount == Decimal("2.20")


def test_points_above_a_bounded_last_tier_earn_nothing_more() -> None:
    # Given tiers [1000 @ 1.00, 2000 @ 0.50] (the last one bounded) and 5000 points
    rules = market(
        """\
        currency: USD
        payout: {model: rate, tiers: [{up_to: 1000, per_1000_points: "1.00"},
          {up_to: 2000, per_1000_points: "0.50"}]}
        """
    )
    # When rated / Then 1000/1000 x 1.00 + 1000/1000 x 0.50 = 1.50; the 3000 above pay 0
    assert rate_amount(rate_of(rules), Decimal(5000)) == Decimal("1.50")


# --- milestones --------------------------------------------------------------------------


def test_a_milestone_exactly_reached_pays_its_amount() -> None:
    # Given exactly 100,000 points (the first milestone's points)
    # When the milestone amount is computed / Then 5000 yen
    assert milestone_amount(milestones_of(jpy_milestones()), Decimal(100_000)) == Decimal(5000)


def test_points_just_below_the_first_milestone_pay_nothing() -> None:
    # Given 99,999 points / When the milestone amount is computed / Then 0
    assert milestone_amount(milestones_of(jpy_milestones()), Decimal(99_999)) == Decimal(0)


def test_decimal_points_just_below_a_milestone_do_not_reach_it() -> None:
    # Given 99,999.5 points / When the milestone amount is computed / Then 0
    assert milestone_amount(milestones_of(jpy_milestones()), Decimal("99999.5")) == Decimal(0)


def test_points_just_below_the_second_milestone_pay_the_first() -> None:
    # Given 999,999 points / When the milestone amount is computed / Then the lower one, 5000
    assert milestone_amount(milestones_of(jpy_milestones()), Decimal(999_999)) == Decimal(5000)


def test_the_highest_milestone_reached_is_paid_not_the_sum() -> None:
    # Given exactly 1,000,000 points (both milestones reached)
    # When the milestone amount is computed / Then 60000 yen, not 5000 + 60000
    assert milestone_amount(milestones_of(jpy_milestones()), Decimal(1_000_000)) == Decimal(60000)


def test_points_beyond_the_last_milestone_pay_the_last_milestone() -> None:
    # Given 5,000,000 points / When the milestone amount is computed / Then 60000
    assert milestone_amount(milestones_of(jpy_milestones()), Decimal(5_000_000)) == Decimal(60000)


def test_a_milestone_market_pays_whole_yen() -> None:
    # Given two creators at exactly 100,000 and 99,999 points in the JPY milestone market
    rules = jpy_milestones()
    prepared = {"a": taking_part(rules, 100_000), "b": taking_part(rules, 99_999)}
    # When the market is computed / Then 5000 yen and 0 yen
    assert compute_market(rules, prepared) == {"a": Payout(5000), "b": Payout(0)}


# --- caps ----------------------------------------------------------------------------------


def test_the_lower_personal_cap_wins_over_the_market_cap() -> None:
    # Given creator_cap 2000.00 and a personal bonus_cap of 150.00
    # When the effective cap is taken / Then 150.00
    rules = usd_rate('creator_cap: "2000.00"')
    assert effective_cap(rules, Decimal("150.00")) == Decimal("150.00")


def test_the_lower_market_cap_wins_over_a_personal_cap() -> None:
    # Given creator_cap 2000.00 and a personal bonus_cap of 5000.00 / Then 2000.00
    rules = usd_rate('creator_cap: "2000.00"')
    assert effective_cap(rules, Decimal("5000.00")) == Decimal("2000.00")


def test_the_market_cap_applies_without_a_personal_cap() -> None:
    # Given creator_cap 2000.00 and no personal cap / Then 2000.00
    assert effective_cap(usd_rate('creator_cap: "2000.00"'), None) == Decimal("2000.00")


def test_a_personal_cap_applies_without_a_market_cap() -> None:
    # Given no creator_cap and a personal cap of 150.00 / Then 150.00
    assert effective_cap(usd_rate(), Decimal("150.00")) == Decimal("150.00")


def test_there_is_no_cap_without_either_cap() -> None:
    # Given neither cap / Then none
    assert effective_cap(usd_rate(), None) is None


def test_an_amount_above_the_market_cap_is_held_at_the_cap() -> None:
    # Given creator_cap 2000.00 and 10,000,000 points:
    # 1,000,000/1000 x 0.40 + 9,000,000/1000 x 0.20 = 400.00 + 1800.00 = 2200.00
    rules = usd_rate('creator_cap: "2000.00"')
    # When the market is computed / Then 2000.00 = 200000 cents, flagged capped
    payouts = compute_market(rules, {"a": taking_part(rules, 10_000_000)})
    assert payouts == {"a": Payout(200000, (CAPPED,))}


def test_an_amount_above_a_lower_personal_cap_is_held_at_the_personal_cap() -> None:
    # Given creator_cap 2000.00, a personal cap of 150.00 and 1,500,500 points (500.10)
    rules = usd_rate('creator_cap: "2000.00"')
    # When the market is computed / Then min(500.10, 150.00) = 150.00 = 15000 cents, capped
    payouts = compute_market(rules, {"a": taking_part(rules, 1_500_500, bonus_cap="150.00")})
    assert payouts == {"a": Payout(15000, (CAPPED,))}


def test_a_personal_cap_above_the_market_cap_does_not_lift_it() -> None:
    # Given creator_cap 2000.00, a personal cap of 5000.00 and 10,000,000 points (2200.00)
    rules = usd_rate('creator_cap: "2000.00"')
    # When the market is computed / Then 2000.00, capped
    payouts = compute_market(rules, {"a": taking_part(rules, 10_000_000, bonus_cap="5000.00")})
    assert payouts == {"a": Payout(200000, (CAPPED,))}


def test_an_amount_exactly_at_the_cap_is_paid_without_the_capped_flag() -> None:
    # Given creator_cap 2000.00 and 9,000,000 points: 400.00 + 8,000,000/1000 x 0.20 = 2000.00
    rules = usd_rate('creator_cap: "2000.00"')
    # When the market is computed / Then 200000 cents, no flag
    payouts = compute_market(rules, {"a": taking_part(rules, 9_000_000)})
    assert payouts == {"a": Payout(200000)}


def test_a_milestone_above_the_cap_is_held_at_the_cap() -> None:
    # Given creator_cap 50000 yen and 1,000,000 points (the 60000 milestone)
    rules = jpy_milestones('creator_cap: "50000"')
    # When the market is computed / Then 50000 yen, capped
    payouts = compute_market(rules, {"a": taking_part(rules, 1_000_000)})
    assert payouts == {"a": Payout(50000, (CAPPED,))}


def test_the_capped_amount_is_prepared_before_the_market_is_settled() -> None:
    # Given a personal cap of 150.00 and 1,500,500 points (500.10)
    rules = usd_rate('creator_cap: "2000.00"')
    # When prepared
    prepared = taking_part(rules, 1_500_500, bonus_cap="150.00")
    # Then it takes part with 150.00 and the lower cap, flagged capped
    assert prepared.takes_part is True
    assert prepared.cap == Decimal("150.00")
    assert prepared.capped_amount == Decimal("150.00")
    assert prepared.flags == frozenset({CAPPED})


# --- who takes part ---------------------------------------------------------------------


def test_an_ineligible_creator_earns_nothing_and_has_no_flag() -> None:
    # Given an ineligible creator with 1,500,500 points
    rules = usd_rate()
    # When the market is computed / Then 0, no flag
    payouts = compute_market(rules, {"a": taking_part(rules, 1_500_500, eligible=False)})
    assert payouts == {"a": Payout(0)}


def test_fewer_qualifying_posts_than_the_minimum_earn_nothing() -> None:
    # Given min_qualifying_posts 3 and a creator with 1,500,500 points on 2 qualifying posts
    rules = usd_rate("min_qualifying_posts: 3")
    # When the market is computed / Then 0, flagged below_min_posts
    payouts = compute_market(rules, {"a": taking_part(rules, 1_500_500, qualifying_posts=2)})
    assert payouts == {"a": Payout(0, (BELOW_MIN_POSTS,))}


def test_exactly_the_minimum_of_qualifying_posts_is_paid() -> None:
    # Given min_qualifying_posts 3 and 1,500,500 points on 3 qualifying posts (500.10)
    rules = usd_rate("min_qualifying_posts: 3")
    # When the market is computed / Then 50010 cents
    payouts = compute_market(rules, {"a": taking_part(rules, 1_500_500, qualifying_posts=3)})
    assert payouts == {"a": Payout(50010)}


def test_the_default_minimum_is_one_qualifying_post() -> None:
    # Given a market without min_qualifying_posts and a creator with no qualifying post
    rules = usd_rate()
    # When the market is computed / Then 0, flagged below_min_posts
    payouts = compute_market(rules, {"a": taking_part(rules, 0, qualifying_posts=0)})
    assert payouts == {"a": Payout(0, (BELOW_MIN_POSTS,))}


# --- budget ---------------------------------------------------------------------------------


def test_amounts_above_the_budget_are_all_scaled_down_and_rounded_down() -> None:
    # Given budget 1200.00 and three creators:
    #   a: 1,000,000 points -> 400.00
    #   b: 2,000,000 points -> 400.00 + 1,000,000/1000 x 0.20 = 600.00
    #   c: 3,000,000 points -> 400.00 + 2,000,000/1000 x 0.20 = 800.00
    # sum 1800.00 > 1200.00, so every amount x 1200/1800 = 2/3
    rules = usd_rate('budget: "1200.00"')
    prepared = {
        "a": taking_part(rules, 1_000_000),
        "b": taking_part(rules, 2_000_000),
        "c": taking_part(rules, 3_000_000),
    }
    # When the market is computed
    payouts = compute_market(rules, prepared)
    # Then a: 400 x 2/3 = 266.666... -> 266.66; b: 600 x 2/3 = 400.00; c: 533.333... -> 533.33
    assert payouts == {
        "a": Payout(26666, (SCALED,)),
        "b": Payout(40000, (SCALED,)),
        "c": Payout(53333, (SCALED,)),
    }
    # and 26666 + 40000 + 53333 = 119999 cents <= 120000
    assert sum(p.amount_minor for p in payouts.values()) == 119999


def test_the_budget_scale_is_the_exact_fraction_budget_over_sum() -> None:
    # Given budget 1200.00 and capped amounts summing to 1800.00
    rules = usd_rate('budget: "1200.00"')
    # When settled / Then the scale is 1200/1800 = 2/3 exactly
    settlement = settle(rules, MarketTotals(capped_sum=Decimal("1800.00")))
    assert settlement.budget_scale == Fraction(2, 3)


def test_amounts_summing_exactly_to_the_budget_are_not_scaled() -> None:
    # Given budget 1800.00 and the same three creators (400 + 600 + 800 = 1800.00)
    rules = usd_rate('budget: "1800.00"')
    prepared = {
        "a": taking_part(rules, 1_000_000),
        "b": taking_part(rules, 2_000_000),
        "c": taking_part(rules, 3_000_000),
    }
    # When the market is computed / Then each is paid in full, unflagged
    assert compute_market(rules, prepared) == {
        "a": Payout(40000),
        "b": Payout(60000),
        "c": Payout(80000),
    }


def test_the_budget_scales_the_capped_amounts() -> None:
    # Given creator_cap 500.00 and budget 600.00:
    #   a: 3,000,000 points -> 800.00, capped to 500.00
    #   b: 1,000,000 points -> 400.00
    # capped sum 900.00 > 600.00: scale 600/900 = 2/3
    rules = usd_rate('creator_cap: "500.00"\nbudget: "600.00"')
    prepared = {"a": taking_part(rules, 3_000_000), "b": taking_part(rules, 1_000_000)}
    # When the market is computed
    payouts = compute_market(rules, prepared)
    # Then a: 500 x 2/3 = 333.333... -> 333.33 (capped and scaled); b: 266.666... -> 266.66
    assert payouts == {
        "a": Payout(33333, (CAPPED, SCALED)),
        "b": Payout(26666, (SCALED,)),
    }


def test_creators_who_do_not_take_part_do_not_count_against_the_budget() -> None:
    # Given budget 400.00, a at 1,000,000 points (400.00), and b (ineligible) and
    # c (too few posts) who would have earned 600.00 each
    rules = usd_rate('budget: "400.00"\nmin_qualifying_posts: 2')
    prepared = {
        "a": taking_part(rules, 1_000_000, qualifying_posts=2),
        "b": taking_part(rules, 2_000_000, qualifying_posts=2, eligible=False),
        "c": taking_part(rules, 2_000_000, qualifying_posts=1),
    }
    # When the market is computed / Then a is paid in full: the sum 400.00 is the budget
    assert compute_market(rules, prepared) == {
        "a": Payout(40000),
        "b": Payout(0),
        "c": Payout(0, (BELOW_MIN_POSTS,)),
    }


def test_a_milestone_market_above_its_budget_is_scaled_to_whole_yen() -> None:
    # Given budget 10000 yen and three creators at the 5000 milestone: sum 15000
    rules = jpy_milestones('budget: "10000"')
    prepared = {name: taking_part(rules, 100_000) for name in ("a", "b", "c")}
    # When the market is computed
    payouts = compute_market(rules, prepared)
    # Then each 5000 x 10000/15000 = 3333.33... -> 3333 yen, flagged; total 9999 <= 10000
    assert payouts == {name: Payout(3333, (SCALED,)) for name in ("a", "b", "c")}


def test_a_rate_market_without_a_budget_is_never_scaled() -> None:
    # Given no budget and a capped sum of 10,000,000.00 / When settled / Then no scale
    settlement = settle(usd_rate(), MarketTotals(capped_sum=Decimal("10000000.00")))
    assert settlement == Settlement()


# --- rounding down and the minimum payout -----------------------------------------------


def test_a_rate_amount_is_rounded_down_to_a_whole_cent() -> None:
    # Given 2497.5 points: 2497.5 / 1000 x 0.40 = 0.999 USD
    rules = usd_rate()
    # When the market is computed / Then 0.99 (99 cents), never 1.00
    assert compute_market(rules, {"a": taking_part(rules, "2497.5")}) == {"a": Payout(99)}


def test_an_amount_below_the_minimum_payout_pays_nothing() -> None:
    # Given minimum_payout 10.00 and 24,999 points: 24,999 / 1000 x 0.40 = 9.9996 -> 9.99
    rules = usd_rate('minimum_payout: "10.00"')
    # When the market is computed / Then 0, flagged below_minimum
    payouts = compute_market(rules, {"a": taking_part(rules, 24_999)})
    assert payouts == {"a": Payout(0, (BELOW_MINIMUM,))}


def test_an_amount_of_exactly_the_minimum_payout_is_paid() -> None:
    # Given minimum_payout 10.00 and 25,000 points: 25,000 / 1000 x 0.40 = 10.00
    rules = usd_rate('minimum_payout: "10.00"')
    # When the market is computed / Then 1000 cents, no flag
    assert compute_market(rules, {"a": taking_part(rules, 25_000)}) == {"a": Payout(1000)}


def test_the_minimum_is_judged_after_rounding_down() -> None:
    # Given minimum_payout 10.00 and 24,999.99 points: x 0.40 / 1000 = 9.999996 -> 9.99
    rules = usd_rate('minimum_payout: "10.00"')
    # When the market is computed / Then 0, below_minimum
    payouts = compute_market(rules, {"a": taking_part(rules, "24999.99")})
    assert payouts == {"a": Payout(0, (BELOW_MINIMUM,))}


def test_nothing_earned_is_not_flagged_below_the_minimum() -> None:
    # Given minimum_payout 10.00, min_qualifying_posts 0 and a creator with 0 points
    rules = usd_rate('minimum_payout: "10.00"\nmin_qualifying_posts: 0')
    # When the market is computed / Then 0, no flag (nothing above 0 was due)
    payouts = compute_market(rules, {"a": taking_part(rules, 0, qualifying_posts=0)})
    assert payouts == {"a": Payout(0)}


def test_an_amount_scaled_below_the_minimum_pays_nothing() -> None:
    # Given minimum_payout 10.00, budget 100.00:
    #   a: 25,000 points -> 10.00;  b: 1,000,000 points -> 400.00;  sum 410.00
    # scale 100/410 = 10/41
    rules = usd_rate('minimum_payout: "10.00"\nbudget: "100.00"')
    prepared = {"a": taking_part(rules, 25_000), "b": taking_part(rules, 1_000_000)}
    # When the market is computed
    payouts = compute_market(rules, prepared)
    # Then a: 10 x 10/41 = 2.439... -> 2.43 < 10.00 -> 0; b: 400 x 10/41 = 97.5609... -> 97.56
    assert payouts == {
        "a": Payout(0, (SCALED, BELOW_MINIMUM)),
        "b": Payout(9756, (SCALED,)),
    }


def test_a_yen_minimum_payout_applies_to_milestones() -> None:
    # Given minimum_payout 6000 yen and a creator at the 5000 milestone
    rules = jpy_milestones('minimum_payout: "6000"')
    # When the market is computed / Then 0, below_minimum
    payouts = compute_market(rules, {"a": taking_part(rules, 100_000)})
    assert payouts == {"a": Payout(0, (BELOW_MINIMUM,))}


# --- pool -------------------------------------------------------------------------------


def test_a_pool_share_is_rounded_down_to_a_whole_won() -> None:
    # Given a pool of 100,000,000 KRW and three creators with 100 points each
    rules = krw_pool()
    prepared = {name: taking_part(rules, 100) for name in ("a", "b", "c")}
    # When the market is computed
    payouts = compute_market(rules, prepared)
    # Then each gets 100,000,000 x 100/300 = 33,333,333.33... -> 33,333,333 won
    assert payouts == {name: Payout(33_333_333) for name in ("a", "b", "c")}


def test_a_pool_is_shared_by_points() -> None:
    # Given a pool of 100,000,000 KRW, a with 100 points and b with 300
    rules = krw_pool()
    prepared = {"a": taking_part(rules, 100), "b": taking_part(rules, 300)}
    # When the market is computed / Then a: 100M x 100/400 = 25M; b: 100M x 300/400 = 75M
    assert compute_market(rules, prepared) == {
        "a": Payout(25_000_000),
        "b": Payout(75_000_000),
    }


def test_a_usd_pool_share_is_rounded_down_to_a_whole_cent() -> None:
    # Given a pool of 100.00 USD and three creators with 1.5 points each
    rules = usd_pool("100.00")
    prepared = {name: taking_part(rules, "1.5") for name in ("a", "b", "c")}
    # When the market is computed / Then each 100.00 / 3 = 33.333... -> 33.33
    assert compute_market(rules, prepared) == {name: Payout(3333) for name in ("a", "b", "c")}


def test_a_pool_whose_caps_bind_in_several_rounds_shares_the_rest_again() -> None:
    # Given a pool of 1,100,000 KRW and (points, personal cap):
    #   a (500, 100,000), b (300, 400,000), c (200, none), d (100, 300,000); 1100 points
    # Round 1: 1,100,000 / 1100 = 1000 per point: a 500,000 > 100,000 -> a capped;
    #          (b 300,000 <= 400,000 and d 100,000 <= 300,000 still fit)
    # Round 2: (1,100,000 - 100,000) / (1100 - 500) = 1,000,000 / 600 = 1666.67 per point:
    #          b 300 x 1666.67 = 500,000 > 400,000 -> b capped
    # Round 3: (1,000,000 - 400,000) / (600 - 300) = 600,000 / 300 = 2000 per point:
    #          c 200 x 2000 = 400,000; d 100 x 2000 = 200,000 <= 300,000: done
    rules = krw_pool("1100000")
    prepared = {
        "a": taking_part(rules, 500, bonus_cap="100000"),
        "b": taking_part(rules, 300, bonus_cap="400000"),
        "c": taking_part(rules, 200),
        "d": taking_part(rules, 100, bonus_cap="300000"),
    }
    # When the market is computed
    payouts = compute_market(rules, prepared)
    # Then a 100,000 (capped), b 400,000 (capped), c 400,000, d 200,000
    assert payouts == {
        "a": Payout(100_000, (CAPPED,)),
        "b": Payout(400_000, (CAPPED,)),
        "c": Payout(400_000),
        "d": Payout(200_000),
    }
    # and 100,000 + 400,000 + 400,000 + 200,000 = 1,100,000: the whole pool, not more
    assert sum(p.amount_minor for p in payouts.values()) == 1_100_000


def test_the_pool_rate_after_several_rounds_is_what_is_left_per_uncapped_point() -> None:
    # Given the same pool: 1,100,000 KRW, 1100 points, caps (500, 100,000),
    # (300, 400,000), (100, 300,000)
    caps = [
        (Decimal(500), Decimal(100_000)),
        (Decimal(300), Decimal(400_000)),
        (Decimal(100), Decimal(300_000)),
    ]
    # When the pool rate is found / Then 600,000 / 300 = 2000 per point (see above)
    assert pool_rate(Decimal(1_100_000), Decimal(1100), caps) == Fraction(2000)


def test_a_pool_capped_in_several_rounds_rounds_the_last_shares_down() -> None:
    # Given a pool of 1,000,000 KRW and (points, cap):
    #   a (300, 100,000), b (200, 299,999), c, d, e (100 each, no cap); 800 points
    # Round 1: 1,000,000 / 800 = 1250 per point: a 375,000 > 100,000 -> capped;
    #          (b 250,000 <= 299,999 fits)
    # Round 2: 900,000 / 500 = 1800 per point: b 360,000 > 299,999 -> capped
    # Round 3: 600,001 / 300 = 2000.00333... per point: c, d, e 200,000.33... each
    rules = krw_pool("1000000")
    prepared = {
        "a": taking_part(rules, 300, bonus_cap="100000"),
        "b": taking_part(rules, 200, bonus_cap="299999"),
        "c": taking_part(rules, 100),
        "d": taking_part(rules, 100),
        "e": taking_part(rules, 100),
    }
    # When the market is computed
    payouts = compute_market(rules, prepared)
    # Then c, d and e get 200,000 won each (rounded down)
    assert payouts == {
        "a": Payout(100_000, (CAPPED,)),
        "b": Payout(299_999, (CAPPED,)),
        "c": Payout(200_000),
        "d": Payout(200_000),
        "e": Payout(200_000),
    }
    # and 100,000 + 299,999 + 3 x 200,000 = 999,999 <= 1,000,000
    assert sum(p.amount_minor for p in payouts.values()) == 999_999


def test_a_lower_personal_cap_binds_in_a_pool_and_frees_its_share_for_the_others() -> None:
    # Given a pool of 100,000,000 KRW, creator_cap 50,000,000 and three creators at 100 points,
    # a with a personal cap of 10,000,000
    # Round 1: 100M / 300 = 33,333,333.33 each: a > 10M -> capped (the lower cap wins)
    # Round 2: 90M / 200 = 450,000 per point: b, c 45,000,000 <= 50,000,000
    rules = krw_pool(extra='creator_cap: "50000000"')
    prepared = {
        "a": taking_part(rules, 100, bonus_cap="10000000"),
        "b": taking_part(rules, 100),
        "c": taking_part(rules, 100),
    }
    # When the market is computed / Then 10M (capped), 45M, 45M
    assert compute_market(rules, prepared) == {
        "a": Payout(10_000_000, (CAPPED,)),
        "b": Payout(45_000_000),
        "c": Payout(45_000_000),
    }


def test_a_pool_where_every_creator_is_capped_pays_only_the_caps() -> None:
    # Given a pool of 1,000,000 KRW, a (100 points, cap 10,000) and b (100 points, cap 20,000)
    rules = krw_pool("1000000")
    prepared = {
        "a": taking_part(rules, 100, bonus_cap="10000"),
        "b": taking_part(rules, 100, bonus_cap="20000"),
    }
    # When the market is computed / Then each gets their cap; the rest is not paid
    assert compute_market(rules, prepared) == {
        "a": Payout(10_000, (CAPPED,)),
        "b": Payout(20_000, (CAPPED,)),
    }


def test_no_pool_rate_remains_when_every_creator_is_capped() -> None:
    # Given 200 points, all held by capped creators (100 @ 10,000 and 100 @ 20,000)
    caps = [(Decimal(100), Decimal(10_000)), (Decimal(100), Decimal(20_000))]
    # When the pool rate is found / Then there is none
    assert pool_rate(Decimal(1_000_000), Decimal(200), caps) is None


def test_only_creators_with_enough_qualifying_posts_share_the_pool() -> None:
    # Given min_qualifying_posts 2; a (100 points, 2 posts), b (300 points, 1 post)
    rules = krw_pool(extra="min_qualifying_posts: 2")
    prepared = {
        "a": taking_part(rules, 100, qualifying_posts=2),
        "b": taking_part(rules, 300, qualifying_posts=1),
    }
    # When the market is computed / Then a takes the whole 100,000,000; b 0, below_min_posts
    assert compute_market(rules, prepared) == {
        "a": Payout(100_000_000),
        "b": Payout(0, (BELOW_MIN_POSTS,)),
    }


def test_ineligible_creators_do_not_share_the_pool() -> None:
    # Given a (100 points) and b (300 points, ineligible)
    rules = krw_pool()
    prepared = {"a": taking_part(rules, 100), "b": taking_part(rules, 300, eligible=False)}
    # When the market is computed / Then a takes the whole pool
    assert compute_market(rules, prepared) == {"a": Payout(100_000_000), "b": Payout(0)}


def test_a_creator_without_points_gets_no_pool_share() -> None:
    # Given min_qualifying_posts 0, a with 0 points and b with 50
    rules = krw_pool(extra="min_qualifying_posts: 0")
    prepared = {
        "a": taking_part(rules, 0, qualifying_posts=0),
        "b": taking_part(rules, 50),
    }
    # When the market is computed / Then a 0, b the whole 100,000,000
    assert compute_market(rules, prepared) == {"a": Payout(0), "b": Payout(100_000_000)}


def test_a_pool_share_below_the_minimum_pays_nothing() -> None:
    # Given a pool of 100.00 USD, minimum_payout 10.00; a 1 point, b 99 points
    rules = usd_pool("100.00", 'minimum_payout: "10.00"')
    prepared = {"a": taking_part(rules, 1), "b": taking_part(rules, 99)}
    # When the market is computed / Then a: 100 x 1/100 = 1.00 < 10.00 -> 0; b: 99.00
    assert compute_market(rules, prepared) == {
        "a": Payout(0, (BELOW_MINIMUM,)),
        "b": Payout(9900),
    }


def test_pool_market_totals_keep_the_caps_of_creators_with_points() -> None:
    # Given a pool market, a (500 points, cap 100,000), b (200 points), c (0 points, cap 5)
    rules = krw_pool("1100000", "min_qualifying_posts: 0")
    prepared = [
        taking_part(rules, 500, bonus_cap="100000"),
        taking_part(rules, 200),
        taking_part(rules, 0, bonus_cap="5", qualifying_posts=0),
    ]
    # When the market's totals are added up / Then 700 points and a's cap only
    totals = market_totals(rules, prepared)
    assert totals.pool_points == Decimal(700)
    assert totals.pool_caps == ((Decimal(500), Decimal(100_000)),)


def test_market_totals_of_two_groups_merge_into_their_sum() -> None:
    # Given totals of two groups / When merged / Then sums, and the caps of both
    left = MarketTotals(Decimal("1.50"), Decimal(10), ((Decimal(1), Decimal(2)),))
    right = MarketTotals(Decimal("2.25"), Decimal(5), ((Decimal(3), Decimal(4)),))
    assert left.merge(right) == MarketTotals(
        Decimal("3.75"),
        Decimal(15),
        ((Decimal(1), Decimal(2)), (Decimal(3), Decimal(4))),
    )


# --- properties --------------------------------------------------------------------------

POINTS = st.one_of(
    st.integers(min_value=0, max_value=5_000_000).map(Decimal),
    st.decimals(min_value=0, max_value=5_000_000, places=2, allow_nan=False, allow_infinity=False),
)


def amount_text(minor: int, currency: str) -> str:
    """A decimal string of `minor` units in `currency`, for the YAML and the caps."""
    return str(Decimal(minor).scaleb(-MINOR_DIGITS[currency]))


@st.composite
def markets(draw: st.DrawFn, model: str | None = None, limits: bool = True) -> Market:
    """A market of any model and currency, with optional caps, minimum and budget."""
    model = model or draw(st.sampled_from(["rate", "milestones", "pool"]))
    currency = draw(st.sampled_from(["USD", "JPY", "KRW"]))
    scale = 10 ** MINOR_DIGITS[currency]
    lines = [f"currency: {currency}"]
    if model == "rate":
        lines.append(US_TIERS)
    elif model == "milestones":
        lines.append(JP_MILESTONES)
    else:
        pool = draw(st.integers(min_value=1, max_value=10**9))
        lines.append(f'payout: {{model: pool, pool: "{amount_text(pool, currency)}"}}')
    lines.append(f"min_qualifying_posts: {draw(st.integers(min_value=0, max_value=2))}")
    if limits:
        for name, highest in (("creator_cap", 5_000), ("minimum_payout", 100)):
            value = draw(st.none() | st.integers(min_value=0, max_value=highest * scale))
            if value is not None:
                lines.append(f'{name}: "{amount_text(value, currency)}"')
        if model != "pool":
            budget = draw(st.integers(min_value=0, max_value=10_000 * scale))
            lines.append(f'budget: "{amount_text(budget, currency)}"')
    return market("\n".join(lines) + "\n")


@st.composite
def creators(draw: st.DrawFn, rules: Market, caps: bool = True) -> dict[str, PreparedPayout]:
    """Prepared payouts of 0 to 12 creators, with any points, posts, eligibility, cap."""
    scale = 10 ** MINOR_DIGITS[rules.currency]
    count = draw(st.integers(min_value=0, max_value=12))
    prepared = {}
    for index in range(count):
        cap = draw(st.none() | st.integers(min_value=0, max_value=5_000 * scale)) if caps else None
        prepared[f"c{index:02d}"] = prepare(
            rules,
            draw(POINTS),
            draw(st.integers(min_value=0, max_value=3)),
            draw(st.booleans()),
            None if cap is None else Decimal(cap).scaleb(-MINOR_DIGITS[rules.currency]),
        )
    return prepared


def limit_minor(rules: Market) -> int:
    """The market's budget or pool in minor units, from its YAML text."""
    limit = rules.budget if rules.budget is not None else getattr(rules.payout, "pool", None)
    assert limit is not None
    return int(limit.scaleb(MINOR_DIGITS[rules.currency]))


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_a_market_never_pays_more_than_its_budget_or_its_pool(data: st.DataObject) -> None:
    # Given any market with a budget (rate, milestones) or a pool, and any creators
    rules = data.draw(markets())
    prepared = data.draw(creators(rules))
    # When the market is computed
    payouts = compute_market(rules, prepared)
    # Then the total paid is within the budget or the pool
    assert sum(payout.amount_minor for payout in payouts.values()) <= limit_minor(rules)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_amounts_are_never_negative_and_always_whole_minor_units(data: st.DataObject) -> None:
    # Given any market and any creators
    rules = data.draw(markets())
    prepared = data.draw(creators(rules))
    # When the market is computed
    payouts = compute_market(rules, prepared)
    # Then every creator gets an int of minor units >= 0, with known flags
    assert set(payouts) == set(prepared)
    for payout in payouts.values():
        assert type(payout.amount_minor) is int
        assert payout.amount_minor >= 0
        assert set(payout.flags) <= set(PayoutFlag)


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_rounding_alone_leaves_fewer_unpaid_units_of_a_pool_than_creators_sharing_it(
    data: st.DataObject,
) -> None:
    # Given a pool market with no cap and no minimum, and creators of whom some share it
    rules = data.draw(markets(model="pool", limits=False))
    prepared = data.draw(creators(rules, caps=False))
    sharing = sum(1 for item in prepared.values() if item.takes_part and item.points > 0)
    assume(sharing > 0)
    # When the market is computed
    paid = [payout.amount_minor for payout in compute_market(rules, prepared).values()]
    # Then rounding down left 0 <= pool - paid < the number of creators sharing the pool
    unpaid = limit_minor(rules) - sum(paid)
    assert 0 <= unpaid < sharing
    # and, when every creator sharing it was paid, fewer than the paid creators
    paid_creators = sum(1 for amount in paid if amount > 0)
    if paid_creators == sharing:
        assert unpaid < paid_creators


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_merging_the_totals_of_any_grouping_settles_a_market_as_computing_it_at_once(
    data: st.DataObject,
) -> None:
    # Given any market, any creators, and any split of the creators into up to 4 groups
    rules = data.draw(markets())
    prepared = data.draw(creators(rules))
    groups: dict[int, list[PreparedPayout]] = {}
    for item in prepared.values():
        groups.setdefault(data.draw(st.integers(min_value=0, max_value=3)), []).append(item)
    # When each group's totals are added up, sent as the shards send them, and merged
    merged = MarketTotals()
    for group in data.draw(st.permutations(list(groups.values()))):
        shard_totals = MarketTotalsRecord.of(market_totals(rules, group)).restore()
        merged = merged.merge(shard_totals)
    settlement = settle(rules, merged)
    # Then the settlement is the one of all creators at once
    assert settlement == settle(rules, market_totals(rules, prepared.values()))
    # and every creator is paid what compute_market pays them
    sharded = {creator: pay(rules, item, settlement) for creator, item in prepared.items()}
    assert sharded == compute_market(rules, prepared)
