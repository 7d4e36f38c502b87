"""The API's pure parts: who may read what, the criteria, the estimates, the texts."""

from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from bonus_engine import creator_view, i18n
from bonus_engine.api_access import (
    ApiError,
    caller_from_claims,
    require_operator,
    require_reader_of,
)
from bonus_engine.creator_api import compute_refusal
from bonus_engine.explanations import line, render_line
from bonus_engine.facts import Fact, parse_fact
from bonus_engine.payout import Settlement
from bonus_engine.periods import Period
from bonus_engine.program_rules import LoadedProgram, load_program_rules

REPOSITORY = Path(__file__).resolve().parents[2]
PROGRAM = load_program_rules(REPOSITORY / "layers/program_rules/programs/spring-bonus.yaml")
CATALOGS = REPOSITORY / "layers/bonus_engine/bonus_engine/locales"
APRIL = Period.parse("2026-04")
MID_APRIL = datetime(2026, 4, 15, tzinfo=UTC)


def fact(detail_type: str, occurred_at: str = "2026-01-01T00:00:00Z", **detail: Any) -> Fact:
    return parse_fact(detail_type, {"creator_id": "ana", "occurred_at": occurred_at, **detail})


def eligible_in(country: str, followers: int = 5000) -> list[Fact]:
    return [
        fact(
            "CreatorProfileChanged",
            account_type="professional",
            country=country,
            adult=True,
            followers=followers,
        ),
        fact("CreatorInvited", program_id="spring-bonus"),
    ]


def views(count: int, post: str = "p1", quality: str = "organic") -> dict[str, Any]:
    return {
        "post_id": post,
        "format": "reel",
        "metric": "view",
        "count": count,
        "quality": quality,
        "occurred_at": "2026-04-02T00:00:00.000000Z",
    }


def progress(
    facts: list[Fact],
    events: list[dict[str, Any]],
    program: LoadedProgram = PROGRAM,
    provisional: creator_view.ProvisionalRates | None = None,
    locale: str = "en",
) -> dict[str, Any]:
    return creator_view.progress_view(
        program, APRIL, "ana", events, facts, MID_APRIL, locale, provisional=provisional
    )


# --- authorization ----------------------------------------------------------------------


def test_no_claims_is_unauthorized() -> None:
    with pytest.raises(ApiError) as refused:
        caller_from_claims(None)
    assert refused.value.status == 401


def test_a_creator_reading_another_creators_path_gets_not_found() -> None:
    caller = caller_from_claims({"sub": "ana"})
    require_reader_of(caller, "ana")
    with pytest.raises(ApiError) as refused:
        require_reader_of(caller, "ben")
    assert (refused.value.status, refused.value.code) == (404, "not_found")


def test_a_creator_on_an_operator_route_is_forbidden() -> None:
    with pytest.raises(ApiError) as refused:
        require_operator(caller_from_claims({"sub": "ana", "scope": "openid profile"}))
    assert refused.value.status == 403


@pytest.mark.parametrize(
    "scope", ["bonus/operate", "openid bonus/operate", "[openid bonus/operate]"]
)
def test_the_operate_scope_among_others_makes_an_operator(scope: str) -> None:
    caller = caller_from_claims({"sub": "ops", "scope": scope})
    require_operator(caller)
    require_reader_of(caller, "anyone")


def test_a_scope_that_only_contains_the_words_is_not_the_operate_scope() -> None:
    with pytest.raises(ApiError):
        require_operator(caller_from_claims({"sub": "x", "scope": "bonus/operate-read"}))


# --- criteria -----------------------------------------------------------------------------


def test_the_criteria_never_show_a_budget_or_a_pool() -> None:
    shown = creator_view.criteria_view(PROGRAM, "en")
    assert shown["markets"]["KR"]["payout"] == {"model": "pool"}
    assert all("budget" not in market for market in shown["markets"].values())
    assert shown["markets"]["US"]["minimum_payout"]["amount_display"] == "$10.00"


# --- eligibility now ------------------------------------------------------------------------


def test_followers_below_the_minimum_show_the_actual_and_the_required_count() -> None:
    program = PROGRAM.rules.model_copy(
        update={"eligibility": PROGRAM.rules.eligibility.model_copy(update={"min_followers": 1000})}
    )
    shown = creator_view.eligibility_view(program, "ana", eligible_in("US", 812), MID_APRIL, "en")
    followers = next(c for c in shown["criteria"] if c["criterion"] == "followers")
    assert (shown["eligible"], followers["met"], followers["actual"], followers["required"]) == (
        False,
        False,
        812,
        1000,
    )


def test_a_strike_that_expired_is_not_listed_as_active() -> None:
    facts = [
        *eligible_in("US"),
        fact("PolicyStrikeIssued", strike_id="s1", expires_at="2026-04-01T00:00:00Z"),
        fact("PolicyStrikeIssued", strike_id="s2", expires_at="2026-05-01T00:00:00Z"),
    ]
    shown = creator_view.eligibility_view(PROGRAM.rules, "ana", facts, MID_APRIL, "en")
    assert [s["strike_id"] for s in shown["active_strikes"]] == ["s2"]
    assert shown["reasons"] == ["policy_strikes"]


# --- estimates --------------------------------------------------------------------------------


def test_a_rate_estimate_is_the_graduated_tiers_before_any_budget_scaling() -> None:
    shown = progress(eligible_in("US"), [views(1_500_000)])
    estimate = shown["estimate"]
    # 1,000,000 x 0.40 / 1000 + 500,000 x 0.20 / 1000 = 500.00
    assert (estimate["basis"], estimate["amount"], estimate["amount_minor"]) == (
        "rate_so_far",
        "500.00",
        50000,
    )


def test_a_rate_estimate_below_the_minimum_payout_is_zero() -> None:
    estimate = progress(eligible_in("US"), [views(10_000)])["estimate"]
    assert (estimate["amount_minor"], estimate["flags"]) == (0, ["below_minimum"])


def test_a_milestone_estimate_names_the_next_milestone_and_the_points_still_needed() -> None:
    estimate = progress(eligible_in("JP"), [views(150_000)], locale="ja")["estimate"]
    assert (estimate["amount_display"], estimate["points_needed"]) == ("￥5,000", "850000")
    assert estimate["next_milestone"]["amount_minor"] == 60000
    assert "850,000" in estimate["text"]


def test_a_pool_estimate_is_null_without_a_provisional_run() -> None:
    assert progress(eligible_in("KR"), [views(1000)])["estimate"] is None


def test_a_pool_estimate_is_the_points_at_the_provisional_rate_rounded_down() -> None:
    rates = creator_view.ProvisionalRates(
        as_of=datetime(2026, 4, 14, 6, tzinfo=UTC),
        settlements={"KR": Settlement(pool_rate=Fraction(10, 3), pool_total=None)},
    )
    estimate = progress(eligible_in("KR"), [views(1000)], provisional=rates, locale="ko")[
        "estimate"
    ]
    # 1,000 x 10/3 = 3,333.33 -> 3,333 KRW
    assert (estimate["basis"], estimate["amount_minor"], estimate["amount_display"]) == (
        "pool_provisional",
        3333,
        "₩3,333",
    )
    assert estimate["as_of"].startswith("2026-04-14T06:00:00")


def test_points_excluded_by_quality_and_restriction_are_reported_by_cause() -> None:
    facts = [*eligible_in("US"), fact("PostRestricted", post_id="p2")]
    shown = progress(facts, [views(100), views(40, quality="paid"), views(70, post="p2")])
    assert shown["points"] == "100"
    assert (shown["excluded"]["quality"], shown["excluded"]["restricted_post"]) == ("40", "70")


def test_an_ineligible_creator_is_told_nothing_would_be_paid() -> None:
    estimate = progress([], [views(5000)])
    assert estimate["estimate"] is None
    assert estimate["reasons"] == ["no_profile", "not_invited"]


# --- compute requests ----------------------------------------------------------------------------


def test_an_open_period_cannot_be_requested() -> None:
    refusal = compute_refusal(PROGRAM, APRIL, MID_APRIL, 400)
    assert refusal is not None
    assert (refusal.status, refusal.code) == (422, "period_open")


def test_a_period_whose_engagement_expired_cannot_be_requested() -> None:
    refusal = compute_refusal(PROGRAM, Period.parse("2024-01"), MID_APRIL, 400)
    assert refusal is not None
    assert refusal.code == "inputs_expired"


# --- texts --------------------------------------------------------------------------------------


def test_every_message_is_in_every_catalog_with_the_same_placeholders() -> None:
    english = {m.id if isinstance(m.id, str) else m.id[0]: m for m in i18n.catalog("en") if m.id}
    for locale in ("ko", "ja"):
        other = {
            m.id if isinstance(m.id, str) else m.id[0]: m for m in i18n.catalog(locale) if m.id
        }
        assert set(other) == set(english), locale
        for message_id, message in english.items():
            strings = [message.string] if isinstance(message.string, str) else message.string
            expected = set().union(*(i18n.placeholders(s) for s in strings))
            theirs = other[message_id].string
            for string in [theirs] if isinstance(theirs, str) else theirs:
                assert string, (locale, message_id)
                assert i18n.placeholders(string) == expected, (locale, message_id)


def test_the_catalogs_are_the_po_files_as_shipped() -> None:
    assert sorted(p.parent.parent.name for p in CATALOGS.glob("*/LC_MESSAGES/bonus.po")) == [
        "en",
        "ja",
        "ko",
    ]
    assert not list(CATALOGS.glob("**/*.mo"))


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        (None, "en"),
        ("ko-KR,ko;q=0.9", "ko"),
        ("fr, ja;q=0.5, ko;q=0.4", "ja"),
        ("ja;q=0, en;q=0.1", "en"),
        ("de", "en"),
        ("*;q=0.5, ko;q=0.8", "ko"),
    ],
)
def test_the_language_is_negotiated_from_accept_language(header: str | None, locale: str) -> None:
    assert i18n.negotiate(header) == locale


@pytest.mark.parametrize(
    ("minor", "currency", "locale", "shown"),
    [
        (2_500_000, "KRW", "ko", "₩2,500,000"),
        (5000, "JPY", "ja", "￥5,000"),
        (26117, "USD", "en", "$261.17"),
    ],
)
def test_money_is_shown_for_the_locale_from_minor_units(
    minor: int, currency: str, locale: str, shown: str
) -> None:
    assert i18n.format_money(minor, currency, locale) == shown


def test_an_english_plural_follows_the_count() -> None:
    one = render_line(line("statement.points", points="10", qualifying_posts=1), "en")
    two = render_line(line("statement.points", points="10", qualifying_posts=2), "en")
    assert (one, two) == ("10 points from 1 qualifying post.", "10 points from 2 qualifying posts.")
