"""The HTML reports (`bonus report`, `bonus simulate --html`), rendered from small
hand-made data: every section is there, data is escaped, money is exact, and the page
refers to nothing outside itself. tests/e2e/test_report_browser.py opens them in a
browser."""

import html
import re
from collections import Counter
from dataclasses import replace
from html.parser import HTMLParser
from typing import Any

import pytest
from report_samples import sample_period_report, sample_simulation

from bonus_local.report import (
    PeriodReport,
    SummaryRevision,
    format_money,
    format_money_minor,
    render_period_report,
    render_simulation_report,
)

HOSTILE = '<script>alert("x")</script>'


class Elements(HTMLParser):
    """Every start tag of a page, with its attributes."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def charts(self) -> list[str]:
        return [
            str(a["data-chart"]) for tag, a in self.tags if tag == "figure" and "data-chart" in a
        ]


def summary(markets: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "program_id": "spring-bonus",
        "period": "2026-03",
        "rules_hash": "sha256:abc123",
        "creators_evaluated": 4,
        "creators_eligible": 2,
        "creators_paid": 2,
        "markets": markets,
        "events": {"accepted": 1200, "rejected": 3, "late": 1},
        **extra,
    }


def market(name: str, currency: str, total_minor: int, limit_kind: str | None,
           limit: str | None) -> dict[str, Any]:  # fmt: skip
    return {
        "market": name,
        "currency": currency,
        "model": "rate",
        "creators": 2,
        "eligible": 1,
        "paid": 1,
        "total_paid": "0",
        "total_paid_minor": total_minor,
        "limit_kind": limit_kind,
        "limit": limit,
    }


def statement(
    creator_id: str,
    market: str | None,
    currency: str | None,
    amount_minor: int,
    reasons: list[str] | None = None,
    flags: list[str] | None = None,
) -> dict[str, Any]:
    return {
        "creator_id": creator_id,
        "market": market,
        "currency": currency,
        "eligible": not reasons,
        "reasons": reasons or [],
        "points": "1000",
        "amount": "0",
        "amount_minor": amount_minor,
        "flags": flags or [],
        "revision": 1,
    }


def small_report() -> PeriodReport:
    markets = [
        market("JP", "JPY", 5_000, None, None),
        market("US", "USD", 493_000, "budget", "5000.00"),
    ]
    return PeriodReport(
        program_id="spring-bonus",
        period="2026-03",
        rules_hash="sha256:abc123",
        summaries=[
            SummaryRevision(
                1, "2026-04-03T00:00:00Z", summary([{**markets[1], "total_paid_minor": 450_000}])
            ),
            SummaryRevision(2, "2026-04-05T00:00:00Z", summary(markets, held=1)),
        ],
        statements=[
            statement("jp-1", "JP", "JPY", 5_000),
            statement("us-1", "US", "USD", 493_000, flags=["capped", "budget_scaled"]),
            statement(HOSTILE, "US", "USD", 0, reasons=["not_invited", HOSTILE]),
            statement("nobody", None, None, 0, reasons=["no_profile"], flags=[f"<b>{HOSTILE}</b>"]),
        ],
        rejections={("engagement", "invalid_event"): 2, ("facts", HOSTILE): 1},
    )


@pytest.fixture(scope="module")
def period_page() -> str:
    return render_period_report(small_report())


@pytest.fixture(scope="module")
def simulation_page() -> str:
    result = sample_simulation()
    result["changes"].append(
        {
            "candidate": "candidates/lower-followers.yaml",
            "creator_id": HOSTILE,
            "market": "US",
            "eligible_before": False,
            "eligible_after": True,
            "amount_minor_before": 0,
            "amount_minor_after": 123_456,
        }
    )
    return render_simulation_report(result)


def section(page: str, anchor: str) -> str:
    match = re.search(rf'<section id="{anchor}">(.*?)</section>', page, re.DOTALL)
    assert match, f"no section {anchor}"
    return match.group(1)


def text_of(fragment: str) -> str:
    """The fragment's readable text, tags dropped and white space collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", fragment).split())


# --- the period page -----------------------------------------------------------------------


def test_the_period_page_has_every_section_with_its_chart(period_page: str) -> None:
    for anchor in ("markets", "amounts", "eligibility", "revisions", "rejections"):
        assert section(period_page, anchor)
    assert Elements(period_page).charts() == [
        "limits",
        "amounts",
        "reasons",
        "revisions",
        "rejections",
    ]


def test_each_chart_is_an_inline_svg_with_drawn_marks(period_page: str) -> None:
    figures = re.findall(r'<figure class="chart".*?</figure>', period_page, re.DOTALL)
    assert len(figures) == 5
    for figure in figures:
        assert "<svg" in figure
        assert re.search(r'<path[^>]*clip-path="url\(#', figure), "no data mark in the chart"


def test_the_header_names_the_program_period_revision_and_rules_hash(period_page: str) -> None:
    header = text_of(period_page.split("</header>")[0])
    assert "spring-bonus" in header
    assert "2026-03" in header
    assert "revision 2" in header
    assert "sha256:abc12" in header
    assert "sha256:abc123" in text_of(period_page.split("<footer>")[1])


def test_each_market_shows_its_total_against_its_limit_in_its_currency(period_page: str) -> None:
    markets = text_of(section(period_page, "markets"))
    assert "total paid USD 4,930.00" in markets
    assert "budget USD 5,000.00" in markets
    assert "share of the budget 98.6 %" in markets
    assert "total paid JPY 5,000" in markets
    assert "no limit" in markets


def test_a_total_above_its_limit_is_marked(period_page: str) -> None:
    over = replace(
        small_report(),
        summaries=[
            SummaryRevision(1, None, summary([market("US", "USD", 500_001, "budget", "5000")]))
        ],
    )
    assert '<span class="over">USD 5,000.01</span>' in render_period_report(over)


def test_the_held_count_is_shown_when_the_summary_has_one(period_page: str) -> None:
    assert '<span class="value">1</span><span class="label">held</span>' in period_page


def test_the_amounts_table_gives_each_market_paid_creators_and_exact_sums(period_page: str) -> None:
    amounts = text_of(section(period_page, "amounts"))
    assert "US 1 1 USD 4,930.00 USD 4,930.00 USD 4,930.00 USD 4,930.00" in amounts
    assert "JP 1 0 JPY 5,000" in amounts
    assert "(no market) 0 1" in amounts


def test_reasons_and_flags_are_counted(period_page: str) -> None:
    eligibility = text_of(section(period_page, "eligibility"))
    assert "2 of 4 creators with a statement are eligible" in eligibility
    for line in ("not_invited 1", "no_profile 1", "capped 1", "budget_scaled 1"):
        assert line in eligibility


def test_every_revision_is_listed_with_each_markets_total(period_page: str) -> None:
    revisions = text_of(section(period_page, "revisions"))
    assert "1 2026-04-03T00:00:00Z" in revisions
    assert "USD 4,500.00" in revisions
    assert "2 2026-04-05T00:00:00Z" in revisions
    assert "JPY 5,000 USD 4,930.00" in revisions


def test_rejections_are_counted_by_source_and_reason(period_page: str) -> None:
    rejections = text_of(section(period_page, "rejections"))
    assert "3 rejected in all" in rejections
    assert "engagement invalid_event 2" in rejections


def test_no_rejection_says_so() -> None:
    page = render_period_report(replace(small_report(), rejections={}))
    assert "No input of this period was rejected." in section(page, "rejections")


def test_text_from_data_is_escaped(period_page: str, simulation_page: str) -> None:
    for page in (period_page, simulation_page):
        assert "<script" not in page
        assert "<b><script" not in page
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page


def test_a_program_id_from_data_is_escaped_in_title_and_header() -> None:
    page = render_period_report(replace(small_report(), program_id=HOSTILE))
    escaped = html.escape(HOSTILE)
    assert "<script" not in page
    assert f"<title>Bonus report: {escaped}, 2026-03</title>" in page
    assert f"Program <b>{escaped}</b>" in page


@pytest.mark.parametrize("kind", ["period", "simulation"])
def test_the_page_refers_to_nothing_outside_itself(
    kind: str, period_page: str, simulation_page: str
) -> None:
    page = period_page if kind == "period" else simulation_page
    assert "http://" not in page
    assert "https://" not in page
    assert "<script" not in page
    assert "<link" not in page
    assert "@import" not in page
    assert not re.search(r"url\((?!#)", page), "a url() that is not a reference inside the page"
    for tag, attributes in Elements(page).tags:
        for name in ("src", "href", "xlink:href"):
            value = attributes.get(name)
            assert value is None or value.startswith("#"), f"<{tag} {name}={value}>"


@pytest.mark.parametrize("kind", ["period", "simulation"])
def test_ids_are_unique_across_the_charts_of_a_page(
    kind: str, period_page: str, simulation_page: str
) -> None:
    page = period_page if kind == "period" else simulation_page
    ids = Counter(a["id"] for _, a in Elements(page).tags if "id" in a)
    assert [name for name, count in ids.items() if count > 1] == []


def test_the_same_report_renders_the_same_bytes() -> None:
    report = sample_period_report()
    assert render_period_report(report) == render_period_report(report)


def test_a_period_with_no_summary_is_refused() -> None:
    with pytest.raises(ValueError, match="no run summary"):
        render_period_report(replace(small_report(), summaries=[]))


# --- money ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (26117, "USD", "USD 261.17"),
        (5, "USD", "USD 0.05"),
        (2_500_000, "KRW", "KRW 2,500,000"),
        (5000, "JPY", "JPY 5,000"),
        (10**20 + 1, "USD", "USD 1,000,000,000,000,000,000.01"),  # no float could hold it
    ],
)
def test_minor_units_are_shown_exactly_with_the_currencys_digits(
    minor: int, currency: str, text: str
) -> None:
    assert format_money_minor(minor, currency) == text


def test_a_decimal_limit_gets_the_currencys_digits_without_rounding() -> None:
    assert format_money("500000", "USD") == "USD 500,000.00"
    assert format_money("0.1", "USD") == "USD 0.10"
    assert format_money("100000000", "KRW") == "KRW 100,000,000"


# --- the simulation page -------------------------------------------------------------------


def test_the_simulation_page_has_every_section_with_its_chart(simulation_page: str) -> None:
    for anchor in ("programs", "markets", "changes", "qualifying"):
        assert section(simulation_page, anchor)
    assert Elements(simulation_page).charts() == ["side-by-side", "gains-losses"]


def test_each_market_shows_the_baseline_and_each_candidate_side_by_side(
    simulation_page: str,
) -> None:
    markets = text_of(section(simulation_page, "markets"))
    assert "baseline candidate 1 candidate 2" in markets
    assert "total USD 41,230.55 USD 45,872.10 USD 38,950.00" in markets
    assert "change in total — +USD 4,641.55 −USD 2,280.55" in markets
    assert "limit no limit no limit no limit" in markets


def test_the_rules_compared_are_named_with_their_hashes(simulation_page: str) -> None:
    programs = text_of(section(simulation_page, "programs"))
    assert "baseline programs/spring-bonus.yaml sha256:5f0c" in programs
    assert "candidate 2 candidates/steeper-tiers.yaml sha256:b2" in programs


def test_gains_and_losses_are_counted_per_candidate_and_market(simulation_page: str) -> None:
    result = sample_simulation()
    us = [
        c
        for c in result["changes"]
        if c["candidate"] == "candidates/steeper-tiers.yaml" and c["market"] == "US"
    ]
    gains = sum(1 for c in us if c["amount_minor_after"] > c["amount_minor_before"])
    losses = sum(1 for c in us if c["amount_minor_after"] < c["amount_minor_before"])
    changes = text_of(section(simulation_page, "changes"))
    assert f"candidate 2 US {gains} {losses}" in changes


def test_creators_who_newly_qualify_are_listed_with_their_amount(simulation_page: str) -> None:
    qualifying = section(simulation_page, "qualifying")
    assert "&lt;script&gt;" in qualifying
    assert "USD 1,234.56" in qualifying
    assert "0 creator(s) qualify under candidate 2" in text_of(qualifying)


def test_a_simulation_without_candidates_says_there_is_nothing_to_compare() -> None:
    result = sample_simulation()
    page = render_simulation_report({**result, "programs": result["programs"][:1], "changes": []})
    assert "No candidate rules: nothing to compare." in section(page, "changes")
    assert Elements(page).charts() == ["side-by-side"]
