"""A period computed end to end in memory (SPEC sections 4 and 5): facts and tallies in,
one statement per creator out, each market settled on its own; the run summary."""

import hashlib
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bonus_engine.computation import (
    CreatorInputs,
    EventCounts,
    compute_period,
    draft_creator,
    settle_markets,
    summarize,
    tally_issued,
    totals_by_market,
)
from bonus_engine.facts import Fact, parse_fact
from bonus_engine.periods import Period
from bonus_engine.program_rules import LoadedProgram, parse_program_rules
from bonus_engine.statements import Statement, finish_statement

# --- builders --------------------------------------------------------------------------

# The example of the contract (docs/CONTRACT.md section 3), line for line.
SPEC_RULES = (Path(__file__).parent / "data" / "spec-example.yaml").read_text()

MARCH = Period(2026, 3)
US_TIERS = '[{up_to: 1000000, per_1000_points: "0.40"}, {up_to: null, per_1000_points: "0.20"}]'


def program(text: str = SPEC_RULES) -> LoadedProgram:
    return parse_program_rules(text.encode(), "spring-bonus.yaml")


SPEC_PROGRAM = program()


def fact(detail_type: str, creator_id: str, occurred_at: str, **detail: Any) -> Fact:
    return parse_fact(detail_type, {"creator_id": creator_id, "occurred_at": occurred_at, **detail})


def profile(creator_id: str, country: str = "US") -> Fact:
    return fact(
        "CreatorProfileChanged",
        creator_id,
        "2026-01-05T00:00:00Z",
        account_type="professional",
        country=country,
        adult=True,
        followers=1000,
    )


def invitation(
    creator_id: str, bonus_cap: str | None = None, at: str = "2026-01-06T00:00:00Z"
) -> Fact:
    extra = {} if bonus_cap is None else {"bonus_cap": bonus_cap}
    return fact("CreatorInvited", creator_id, at, program_id="spring-bonus", **extra)


def eligible_in(creator_id: str, country: str, bonus_cap: str | None = None) -> list[Fact]:
    return [profile(creator_id, country), invitation(creator_id, bonus_cap)]


def views(count: int, post_id: str = "p1", format_: str = "reel") -> dict[Any, int]:
    return {(post_id, format_, "view", "organic"): count}


def creator(
    creator_id: str, country: str, tally: dict[Any, int], bonus_cap: str | None = None
) -> CreatorInputs:
    return CreatorInputs(facts=eligible_in(creator_id, country, bonus_cap), tally=tally)


def only(statements: list[Statement], creator_id: str) -> Statement:
    (found,) = [s for s in statements if s.creator_id == creator_id]
    return found


# --- one creator's statement -----------------------------------------------------------


def test_a_us_creator_crossing_a_tier_boundary_gets_a_statement_of_500_10_dollars() -> None:
    # Given an eligible US creator with 1,500,500 reel views (x 1 point each)
    creators = {"alice": creator("alice", "US", views(1_500_500))}
    # When March is computed
    (statement,) = compute_period(SPEC_PROGRAM, MARCH, creators)
    # Then 1,000,000/1000 x 0.40 + 500,500/1000 x 0.20 = 400.00 + 100.10 = 500.10 USD
    assert statement.amount == "500.10"
    assert statement.amount_minor == 50010
    assert statement.flags == []
    # and the statement says who, what and why
    assert statement.creator_id == "alice"
    assert statement.program_id == "spring-bonus"
    assert statement.period == "2026-03"
    assert (statement.market, statement.currency) == ("US", "USD")
    assert (statement.eligible, statement.reasons) == (True, [])
    assert (statement.points, statement.qualifying_posts) == ("1500500", 1)


def test_a_statement_records_the_content_hash_of_the_rules_file() -> None:
    # Given the SPEC's rules file / When a period is computed
    (statement,) = compute_period(SPEC_PROGRAM, MARCH, {"alice": creator("alice", "US", views(10))})
    # Then the statement carries sha256 of the file's bytes
    expected = "sha256:" + hashlib.sha256(SPEC_RULES.encode()).hexdigest()
    assert statement.rules_hash == expected


def test_a_japanese_creator_exactly_at_a_milestone_is_paid_it_in_yen() -> None:
    # Given a JP creator with 20,000 likes x 5 = 100,000 points (the first milestone)
    tally = {("p1", "carousel", "like", "organic"): 20_000}
    # When March is computed
    (statement,) = compute_period(SPEC_PROGRAM, MARCH, {"kenji": creator("kenji", "JP", tally)})
    # Then 5000 yen, written without decimals
    assert (statement.amount, statement.amount_minor, statement.currency) == ("5000", 5000, "JPY")


def test_a_japanese_creator_one_point_short_of_a_milestone_is_paid_nothing() -> None:
    # Given a JP creator with 19,999 likes x 5 + 4 views = 99,995 + 4 = 99,999 points
    tally = {
        ("p1", "carousel", "like", "organic"): 19_999,
        ("p1", "carousel", "view", "organic"): 4,
    }
    # When March is computed
    (statement,) = compute_period(SPEC_PROGRAM, MARCH, {"kenji": creator("kenji", "JP", tally)})
    # Then 0 yen, eligible, no flag
    assert (statement.points, statement.amount, statement.amount_minor) == ("99999", "0", 0)
    assert statement.eligible is True
    assert statement.flags == []


def test_korean_creators_share_the_pool_rounded_down_to_the_won() -> None:
    # Given three eligible KR creators with 100 views each
    creators = {name: creator(name, "KR", views(100)) for name in ("ji", "min", "seo")}
    # When March is computed
    statements = compute_period(SPEC_PROGRAM, MARCH, creators)
    # Then each gets 100,000,000 x 100/300 = 33,333,333.33... -> 33,333,333 won
    assert [(s.amount, s.amount_minor) for s in statements] == [("33333333", 33_333_333)] * 3


def test_each_market_is_settled_on_its_own() -> None:
    # Given one KR creator (100 views) and one US creator (1,500,500 views)
    creators = {
        "ji": creator("ji", "KR", views(100)),
        "alice": creator("alice", "US", views(1_500_500)),
    }
    # When March is computed
    statements = compute_period(SPEC_PROGRAM, MARCH, creators)
    # Then the KR creator takes the whole pool; the US creator is paid by the rate
    assert only(statements, "ji").amount == "100000000"
    assert only(statements, "alice").amount == "500.10"


def test_statements_are_sorted_by_creator_id() -> None:
    # Given creators handed in no particular order
    creators = {name: creator(name, "US", views(30_000)) for name in ("zoe", "al", "mo", "Bo")}
    # When March is computed / Then their statements come sorted by creator_id
    statements = compute_period(SPEC_PROGRAM, MARCH, creators)
    assert [s.creator_id for s in statements] == ["Bo", "al", "mo", "zoe"]


# --- ineligible creators ------------------------------------------------------------------


def test_an_uninvited_creator_earns_nothing_and_does_not_share_the_pool() -> None:
    # Given two KR creators: ji invited (100 views), min not invited (300 views)
    creators = {
        "ji": creator("ji", "KR", views(100)),
        "min": CreatorInputs(facts=[profile("min", "KR")], tally=views(300)),
    }
    # When March is computed
    statements = compute_period(SPEC_PROGRAM, MARCH, creators)
    # Then min is told why, and earns 0; ji takes the whole 100,000,000
    uninvited = only(statements, "min")
    assert (uninvited.eligible, uninvited.reasons) == (False, ["not_invited"])
    assert (uninvited.amount, uninvited.amount_minor, uninvited.points) == ("0", 0, "300")
    assert only(statements, "ji").amount_minor == 100_000_000


def test_a_creator_with_engagement_but_no_profile_gets_a_statement_saying_so() -> None:
    # Given a creator with 1,500,500 views and no fact at all
    creators = {"ghost": CreatorInputs(tally=views(1_500_500))}
    # When March is computed
    (statement,) = compute_period(SPEC_PROGRAM, MARCH, creators)
    # Then an ineligible statement with no_profile, no market, and nothing paid
    assert statement.eligible is False
    assert "no_profile" in statement.reasons
    assert (statement.market, statement.currency) == (None, None)
    assert statement.amount_minor == 0
    assert statement.points == "1500500"


def test_a_creator_of_a_country_outside_the_program_is_told_so() -> None:
    # Given an invited creator in FR (not a market of the program) with 1,500,500 views
    creators = {"zoe": creator("zoe", "FR", views(1_500_500))}
    # When March is computed
    (statement,) = compute_period(SPEC_PROGRAM, MARCH, creators)
    # Then ineligible with market_not_in_program, and nothing paid
    assert (statement.eligible, statement.reasons) == (False, ["market_not_in_program"])
    assert statement.market == "FR"
    assert statement.amount_minor == 0


# --- caps, minimum, budget end to end ------------------------------------------------------


def test_a_personal_bonus_cap_from_the_invitation_holds_the_amount() -> None:
    # Given a US creator invited with bonus_cap 150.00 and 1,500,500 views (500.10 due)
    creators = {"alice": creator("alice", "US", views(1_500_500), bonus_cap="150.00")}
    # When March is computed / Then min(500.10, 150.00, creator_cap 2000.00) = 150.00, capped
    (statement,) = compute_period(SPEC_PROGRAM, MARCH, creators)
    assert (statement.amount, statement.flags) == ("150.00", ["capped"])


def test_the_bonus_cap_of_the_latest_invitation_applies() -> None:
    # Given invitations with cap 150.00 (January) then 300.00 (February); 500.10 due
    facts = [
        profile("alice"),
        invitation("alice", "150.00", at="2026-01-06T00:00:00Z"),
        invitation("alice", "300.00", at="2026-02-06T00:00:00Z"),
    ]
    creators = {"alice": CreatorInputs(facts=facts, tally=views(1_500_500))}
    # When March is computed / Then 300.00, capped
    (statement,) = compute_period(SPEC_PROGRAM, MARCH, creators)
    assert (statement.amount, statement.flags) == ("300.00", ["capped"])


def test_the_market_cap_holds_an_amount_above_it() -> None:
    # Given 10,000,000 views: 400.00 + 9,000,000/1000 x 0.20 = 2200.00 > creator_cap 2000.00
    creators = {"alice": creator("alice", "US", views(10_000_000))}
    # When March is computed / Then 2000.00, capped
    (statement,) = compute_period(SPEC_PROGRAM, MARCH, creators)
    assert (statement.amount, statement.amount_minor, statement.flags) == (
        "2000.00",
        200000,
        ["capped"],
    )


def test_an_amount_below_the_minimum_payout_is_not_paid() -> None:
    # Given 24,999 views: 24,999/1000 x 0.40 = 9.9996 -> 9.99 < minimum 10.00
    creators = {"alice": creator("alice", "US", views(24_999))}
    # When March is computed / Then 0.00, below_minimum
    (statement,) = compute_period(SPEC_PROGRAM, MARCH, creators)
    assert (statement.amount, statement.amount_minor, statement.flags) == (
        "0.00",
        0,
        ["below_minimum"],
    )


def test_a_creator_without_a_qualifying_post_is_flagged_below_min_posts() -> None:
    # Given an eligible US creator whose only post was all retracted (+5 likes -5 likes net 0)
    tally = {("p1", "reel", "like", "organic"): 0}
    # When March is computed / Then 0.00, below_min_posts
    (statement,) = compute_period(SPEC_PROGRAM, MARCH, {"alice": creator("alice", "US", tally)})
    assert (statement.qualifying_posts, statement.flags) == (0, ["below_min_posts"])
    assert statement.amount_minor == 0


def test_a_budget_scales_every_amount_of_the_market() -> None:
    # Given a US budget of 1200.00 (no cap, no minimum) and creators at
    #   1,000,000 views -> 400.00; 2,000,000 -> 600.00; 3,000,000 -> 800.00; sum 1800.00
    text = (
        SPEC_RULES.replace('    creator_cap: "2000.00"\n', "")
        .replace('    minimum_payout: "10.00"\n', "")
        .replace('budget: "500000.00"', 'budget: "1200.00"')
    )
    creators = {
        "a": creator("a", "US", views(1_000_000)),
        "b": creator("b", "US", views(2_000_000)),
        "c": creator("c", "US", views(3_000_000)),
    }
    # When March is computed
    statements = compute_period(program(text), MARCH, creators)
    # Then x 1200/1800 = 2/3: 266.666... -> 266.66; 400.00; 533.333... -> 533.33
    assert [(s.amount, s.flags) for s in statements] == [
        ("266.66", ["budget_scaled"]),
        ("400.00", ["budget_scaled"]),
        ("533.33", ["budget_scaled"]),
    ]


# --- restricted posts and the breakdown ----------------------------------------------------


def test_a_post_restricted_before_the_period_ends_earns_nothing() -> None:
    # Given p1 (1,000,000 views) restricted on March 20 and p2 (500,000 views)
    facts = [
        *eligible_in("alice", "US"),
        fact("PostRestricted", "alice", "2026-03-20T00:00:00Z", post_id="p1"),
    ]
    tally = {**views(1_000_000, "p1"), **views(500_000, "p2")}
    # When March is computed
    (statement,) = compute_period(
        SPEC_PROGRAM, MARCH, {"alice": CreatorInputs(facts=facts, tally=tally)}
    )
    # Then only p2 earns: 500,000/1000 x 0.40 = 200.00
    assert (statement.points, statement.qualifying_posts, statement.amount) == (
        "500000",
        1,
        "200.00",
    )
    assert [(p.post_id, p.restricted, p.points) for p in statement.breakdown.by_post] == [
        ("p1", True, "0"),
        ("p2", False, "500000"),
    ]


def test_a_post_restricted_after_the_period_ended_earns_nothing_in_it_either() -> None:
    # Given p1 (1,000,000 views) restricted on April 2, after March ended, and p2 (500,000)
    facts = [
        *eligible_in("alice", "US"),
        fact("PostRestricted", "alice", "2026-04-02T00:00:00Z", post_id="p1"),
    ]
    tally = {**views(1_000_000, "p1"), **views(500_000, "p2")}
    # When March is computed
    (statement,) = compute_period(
        SPEC_PROGRAM, MARCH, {"alice": CreatorInputs(facts=facts, tally=tally)}
    )
    # Then p1 never earns, whenever it was restricted: 500,000 points -> 200.00
    assert (statement.points, statement.amount) == ("500000", "200.00")


def test_the_breakdown_shows_what_earned_what() -> None:
    # Given (weights view 1, like 5, comment 10, share 20):
    #   p1 reel: 1000 views + 20 shares = 1000 + 400 = 1400
    #   p2 carousel: 10 views - 5 likes = 10 - 25 = -15 -> floored at 0
    #   p3 standard: 30 comments = 300
    #   p4 reel: 50 paid views, not counted
    tally = {
        ("p1", "reel", "view", "organic"): 1000,
        ("p1", "reel", "share", "organic"): 20,
        ("p2", "carousel", "view", "organic"): 10,
        ("p2", "carousel", "like", "organic"): -5,
        ("p3", "standard", "comment", "organic"): 30,
        ("p4", "reel", "view", "paid"): 50,
    }
    # When March is computed
    (statement,) = compute_period(SPEC_PROGRAM, MARCH, {"alice": creator("alice", "US", tally)})
    breakdown = statement.breakdown
    # Then 1400 + 0 + 300 = 1700 points from 2 qualifying posts
    assert (statement.points, statement.qualifying_posts) == ("1700", 2)
    # by format: reel 1400, carousel -15, standard 300 (sum 1685; the floor adds 15)
    assert breakdown.by_format == {"reel": "1400", "carousel": "-15", "standard": "300"}
    assert breakdown.by_metric == {"view": "1010", "like": "-25", "comment": "300", "share": "400"}
    assert breakdown.post_adjustments == "15"
    # and post by post
    assert [
        (p.post_id, p.points, p.weighted_points, p.floored_at_zero, p.uncounted)
        for p in breakdown.by_post
    ] == [
        ("p1", "1400", "1400", False, {}),
        ("p2", "0", "-15", True, {}),
        ("p3", "300", "300", False, {}),
        ("p4", "0", "0", False, {"paid": 50}),
    ]
    assert [(m.metric, m.count, m.points) for m in breakdown.by_post[0].metrics] == [
        ("share", 20, "400"),
        ("view", 1000, "1000"),
    ]
    # and 1700 / 1000 x 0.40 = 0.68 USD is below the 10.00 minimum
    assert (statement.amount, statement.flags) == ("0.00", ["below_minimum"])


def test_decimal_weights_appear_as_decimal_points_on_the_statement() -> None:
    # Given a reel view weighing 0.5 and a JP creator with 3 views
    text = SPEC_RULES.replace("reel:     {view: 1,", "reel:     {view: 0.5,")
    tally = views(3)
    # When March is computed / Then 3 x 0.5 = 1.5 points
    (statement,) = compute_period(program(text), MARCH, {"kenji": creator("kenji", "JP", tally)})
    assert statement.points == "1.5"
    assert statement.breakdown.by_metric["view"] == "1.5"


# --- drafts, settlements, statements ------------------------------------------------------


def test_a_draft_holds_the_prepared_payout_before_the_market_is_settled() -> None:
    # Given an eligible US creator with 1,500,500 views
    inputs = creator("alice", "US", views(1_500_500))
    # When drafted
    draft = draft_creator(SPEC_PROGRAM, MARCH, "alice", inputs)
    # Then the draft knows the points and the capped raw amount (500.10), not the payout
    assert draft.body.points == "1500500"
    assert draft.prepared is not None
    assert draft.prepared.takes_part is True
    assert Decimal(draft.prepared.capped_amount) == Decimal("500.10")
    assert Decimal(draft.prepared.cap or "0") == Decimal("2000.00")
    assert not hasattr(draft.body, "amount")


def test_a_draft_outside_the_markets_has_nothing_to_prepare() -> None:
    # Given a creator of FR / When drafted / Then no prepared payout
    draft = draft_creator(SPEC_PROGRAM, MARCH, "zoe", creator("zoe", "FR", views(10)))
    assert draft.prepared is None


def test_a_finished_statement_has_the_amount_of_the_settled_market() -> None:
    # Given the draft of a KR creator with 100 views, alone in the pool
    draft = draft_creator(SPEC_PROGRAM, MARCH, "ji", creator("ji", "KR", views(100)))
    settlements = settle_markets(SPEC_PROGRAM, totals_by_market(SPEC_PROGRAM, [draft]))
    # When finished / Then the whole pool, with the body's fields kept
    statement = finish_statement(SPEC_PROGRAM, draft, settlements)
    assert (statement.amount, statement.amount_minor, statement.flags) == (
        "100000000",
        100_000_000,
        [],
    )
    assert statement.model_dump(include=set(type(draft.body).model_fields)) == (
        draft.body.model_dump()
    )
    assert statement.explanation[-1] == "Amount: ₩100,000,000, rounded down."


def test_market_totals_of_two_shards_settle_as_all_creators_at_once() -> None:
    # Given drafts of KR creators (one capped) and US creators, split in two shards
    creators = {
        "ji": creator("ji", "KR", views(500), bonus_cap="10000000"),
        "min": creator("min", "KR", views(300)),
        "seo": creator("seo", "KR", views(200)),
        "al": creator("al", "US", views(2_000_000)),
        "bo": creator("bo", "US", views(30_000)),
    }
    drafts = {
        name: draft_creator(SPEC_PROGRAM, MARCH, name, inputs) for name, inputs in creators.items()
    }
    shard_1 = totals_by_market(SPEC_PROGRAM, [drafts["ji"], drafts["al"]])
    shard_2 = totals_by_market(SPEC_PROGRAM, [drafts["min"], drafts["seo"], drafts["bo"]])
    # When each shard's totals are merged and settled
    merged = {name: shard_1[name].merge(shard_2[name]) for name in SPEC_PROGRAM.rules.markets}
    settlements = settle_markets(SPEC_PROGRAM, merged)
    # Then finishing each draft gives the statements of compute_period
    finished = [
        finish_statement(SPEC_PROGRAM, drafts[name], settlements) for name in sorted(drafts)
    ]
    assert finished == compute_period(SPEC_PROGRAM, MARCH, creators)
    # where al: 400.00 + 1,000,000/1000 x 0.20 = 600.00; bo: 30,000/1000 x 0.40 = 12.00;
    # ji (500 of 1000 points) is held at 10,000,000 < 50,000,000, and min and seo share
    # the other 90,000,000 by 300:200 = 54,000,000 and 36,000,000
    assert [s.amount_minor for s in finished] == [60000, 1200, 10_000_000, 54_000_000, 36_000_000]


# --- digests -------------------------------------------------------------------------------


def test_recomputing_the_same_inputs_gives_the_same_statement_digests() -> None:
    # Given the same creators computed twice
    def inputs() -> dict[str, CreatorInputs]:
        return {
            "alice": creator("alice", "US", views(1_500_500)),
            "ji": creator("ji", "KR", views(100)),
        }

    # When their digests are taken / Then they are equal
    first = [s.digest for s in compute_period(SPEC_PROGRAM, MARCH, inputs())]
    second = [s.digest for s in compute_period(SPEC_PROGRAM, MARCH, inputs())]
    assert first == second
    assert all(re.fullmatch(r"sha256:[0-9a-f]{64}", digest) for digest in first)


def test_the_same_facts_in_another_order_give_the_same_digest() -> None:
    # Given the same facts handed in reverse order
    facts = eligible_in("alice", "US")
    forward = {"alice": CreatorInputs(facts=facts, tally=views(1_500_500))}
    backward = {"alice": CreatorInputs(facts=facts[::-1], tally=views(1_500_500))}
    # When computed / Then equal digests
    (one,) = compute_period(SPEC_PROGRAM, MARCH, forward)
    (other,) = compute_period(SPEC_PROGRAM, MARCH, backward)
    assert one.digest == other.digest


def test_a_late_event_changes_the_statement_digest() -> None:
    # Given the same creator with one more view
    (before,) = compute_period(
        SPEC_PROGRAM, MARCH, {"alice": creator("alice", "US", views(30_000))}
    )
    (after,) = compute_period(SPEC_PROGRAM, MARCH, {"alice": creator("alice", "US", views(30_001))})
    # When their digests are taken / Then they differ
    assert before.digest != after.digest


def test_a_change_of_rules_changes_the_statement_digest() -> None:
    # Given the same creator under the rules file with one comment added (new content hash)
    inputs = {"alice": creator("alice", "US", views(30_000))}
    (before,) = compute_period(SPEC_PROGRAM, MARCH, inputs)
    (after,) = compute_period(program(SPEC_RULES + "# reviewed\n"), MARCH, inputs)
    # When their digests are taken / Then they differ
    assert before.amount == after.amount
    assert before.digest != after.digest


# --- the run summary ------------------------------------------------------------------------


def summary_statements() -> list[Statement]:
    creators = {
        "alice": creator("alice", "US", views(1_500_500)),  # 500.10 USD
        "eve": CreatorInputs(facts=[profile("eve")], tally=views(10)),  # not invited
        "ji": creator("ji", "KR", views(100)),  # 50,000,000 KRW
        "min": creator("min", "KR", views(100)),  # 50,000,000 KRW
        "kenji": creator("kenji", "JP", views(99_999)),  # below the milestone: 0
    }
    return compute_period(SPEC_PROGRAM, MARCH, creators)


def test_the_run_summary_counts_creators_and_totals_each_market() -> None:
    # Given five statements: US 500.10 and an uninvited US creator; KR 2 x 50,000,000;
    # JP 0 (eligible, below the first milestone)
    issued = tally_issued(summary_statements(), revised=5)
    events = EventCounts(accepted=12, rejected=2, late=1)
    # When summarized
    summary = summarize(SPEC_PROGRAM, MARCH, [issued], events)
    # Then 5 evaluated, 4 eligible, 3 paid
    assert (summary.creators_evaluated, summary.creators_eligible, summary.creators_paid) == (
        5,
        4,
        3,
    )
    assert (summary.program_id, summary.period) == ("spring-bonus", "2026-03")
    assert summary.rules_hash == "sha256:" + hashlib.sha256(SPEC_RULES.encode()).hexdigest()
    assert summary.events == events
    # and per market, sorted by name: what was paid against what limit
    lines = {line.market: line for line in summary.markets}
    assert [line.market for line in summary.markets] == ["JP", "KR", "US"]
    us, kr, jp = lines["US"], lines["KR"], lines["JP"]
    assert (us.creators, us.eligible, us.paid, us.total_paid, us.total_paid_minor) == (
        2,
        1,
        1,
        "500.10",
        50010,
    )
    assert (us.currency, us.model, us.limit_kind) == ("USD", "rate", "budget")
    assert Decimal(us.limit or "") == Decimal("500000.00")
    assert (kr.paid, kr.total_paid, kr.limit_kind) == (2, "100000000", "pool")
    assert Decimal(kr.limit or "") == Decimal(100_000_000)
    assert (jp.eligible, jp.paid, jp.total_paid, jp.limit_kind, jp.limit) == (
        1,
        0,
        "0",
        None,
        None,
    )


def test_the_summaries_of_shards_add_up_to_the_summary_of_the_whole() -> None:
    # Given the statements split between two shards
    statements = summary_statements()
    shards = [tally_issued(statements[:2], revised=2), tally_issued(statements[2:], revised=3)]
    events = EventCounts(accepted=12, rejected=2, late=1)
    # When summarized / Then as if summarized whole
    whole = summarize(SPEC_PROGRAM, MARCH, [tally_issued(statements, revised=5)], events)
    assert summarize(SPEC_PROGRAM, MARCH, shards, events) == whole


def test_a_market_without_creators_is_summarized_with_nothing_paid() -> None:
    # Given no statement at all / When summarized
    summary = summarize(SPEC_PROGRAM, MARCH, [], EventCounts(accepted=0, rejected=0, late=0))
    # Then every market appears, with 0 paid in its currency's digits
    assert [(line.market, line.total_paid) for line in summary.markets] == [
        ("JP", "0"),
        ("KR", "0"),
        ("US", "0.00"),
    ]
    assert summary.creators_evaluated == 0


# --- properties ----------------------------------------------------------------------------

AMOUNT_TEXT = {"USD": r"\d+\.\d{2}", "JPY": r"\d+", "KRW": r"\d+"}
DIGITS = {"USD": 2, "JPY": 0, "KRW": 0}

CREATOR = st.tuples(
    st.sampled_from(["US", "JP", "KR"]),
    st.integers(min_value=0, max_value=20_000_000),  # reel views
    st.integers(min_value=-50, max_value=50),  # net likes, retractions included
    st.none() | st.integers(min_value=1, max_value=300_000_000).map(str),  # personal cap
)


@settings(max_examples=100, deadline=None)
@given(st.lists(CREATOR, max_size=8))
def test_statement_amounts_are_whole_minor_units_written_with_the_currency_digits(
    specs: list[tuple[str, int, int, str | None]],
) -> None:
    # Given any creators of the three markets, with any views, likes and personal caps
    creators = {
        f"c{index}": creator(
            f"c{index}",
            country,
            {**views(count), ("p2", "carousel", "like", "organic"): likes},
            bonus_cap=cap,
        )
        for index, (country, count, likes, cap) in enumerate(specs)
    }
    # When the period is computed
    statements = compute_period(SPEC_PROGRAM, MARCH, creators)
    for statement in statements:
        currency = statement.currency
        assert currency is not None
        # Then amount_minor is an int >= 0
        assert type(statement.amount_minor) is int
        assert statement.amount_minor >= 0
        # and amount has exactly the currency's decimals and equals amount_minor / 10^digits
        assert re.fullmatch(AMOUNT_TEXT[currency], statement.amount)
        assert Decimal(statement.amount) == Decimal(statement.amount_minor) / 10 ** DIGITS[currency]
    # and no market pays more than its budget or its pool
    paid = {market: 0 for market in ("US", "JP", "KR")}
    for statement in statements:
        paid[statement.market or ""] += statement.amount_minor
    assert paid["US"] <= 500_000_00
    assert paid["KR"] <= 100_000_000


# --- suspected bugs --------------------------------------------------------------------------


def test_an_amount_just_below_a_cent_from_a_long_decimal_weight_is_rounded_down() -> None:
    # Given a reel view weighing 0.333333 (the most decimals a weight may have) and a rate
    # of 10.00 per 1000 points (0.01 per point), no minimum
    text = (
        SPEC_RULES.replace("reel:     {view: 1,", 'reel:     {view: "0.' + "3" * 6 + '",')
        .replace(US_TIERS, '[{up_to: null, per_1000_points: "10.00"}]')
        .replace('    minimum_payout: "10.00"\n', "")
    )
    creators = {"alice": creator("alice", "US", views(3))}
    # When March is computed
    (statement,) = compute_period(program(text), MARCH, creators)
    # Then 3 x 0.333333 = 0.999999 points, x 0.01 = 0.00999999 USD -> 0.00
    assert statement.points == "0." + "9" * 6
    assert (statement.amount, statement.amount_minor) == ("0.00", 0)
