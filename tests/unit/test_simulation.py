"""`bonus simulate` (SPEC section 9) on small hand-made inputs: market totals and limits,
every market listed, the changes a candidate makes, deduplication as ingestion does it,
rejections counted, clear errors; and its amounts equal to `compute_period`'s."""

import json
import random
from pathlib import Path
from typing import Any

import pytest

from bonus_engine.computation import CreatorInputs, compute_period
from bonus_engine.facts import Fact, parse_fact
from bonus_engine.periods import Period
from bonus_engine.program_rules import parse_program_rules
from bonus_engine.scoring import TallyKey
from bonus_local.simulate import compute_outcomes, main, run_simulation

MARCH = Period(2026, 3)

RULES = """
program_id: sim-bonus
period: month
grace_hours: 48
eligibility:
  min_followers: 1000
scoring:
  counted_quality: [organic]
  weights:
    reel:     {view: 1, like: 5, comment: 10, share: 20}
    carousel: {view: 1, like: 5, comment: 10, share: 20}
    standard: {view: 1, like: 5, comment: 10, share: 20}
markets:
  US:
    currency: USD
    payout: {model: rate, tiers: [{up_to: null, per_1000_points: "1.00"}]}
    budget: "15.00"
  JP:
    currency: JPY
    payout: {model: milestones, milestones: [{points: 1000, amount: "3000"}]}
  KR:
    currency: KRW
    payout: {model: pool, pool: "1000000"}
    creator_cap: "700000"
"""

FEWER_FOLLOWERS = RULES.replace("min_followers: 1000", "min_followers: 100")
WITH_BRAZIL = RULES.replace(
    "markets:\n",
    "markets:\n  BR:\n    currency: USD\n"
    '    payout: {model: rate, tiers: [{up_to: null, per_1000_points: "2.00"}]}\n',
)


# --- builders --------------------------------------------------------------------------


def entry(detail_type: str, creator: str, at: str, **detail: Any) -> dict[str, Any]:
    return {
        "source": "creators",
        "detail-type": detail_type,
        "detail": {"creator_id": creator, "occurred_at": at, **detail},
    }


def creator_facts(creator: str, country: str, followers: int = 5000) -> list[dict[str, Any]]:
    return [
        entry(
            "CreatorProfileChanged",
            creator,
            "2026-01-05T00:00:00Z",
            account_type="professional",
            country=country,
            adult=True,
            followers=followers,
        ),
        entry("CreatorInvited", creator, "2026-02-01T00:00:00Z", program_id="sim-bonus"),
    ]


def event(event_id: str, creator: str, count: int, **changes: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "creator_id": creator,
        "post_id": f"{creator}-p1",
        "format": "reel",
        "metric": "view",
        "count": count,
        "occurred_at": "2026-03-10T12:00:00Z",
        **changes,
    }


class Files:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.program = self.write("program.yaml", RULES)

    def write(self, name: str, text: str) -> Path:
        path = self.directory / name
        path.write_text(text)
        return path

    def run(
        self,
        facts: list[dict[str, Any]],
        lines: list[str],
        candidates: tuple[Path, ...] = (),
    ) -> dict[str, Any]:
        facts_path = self.write("facts.jsonl", "".join(json.dumps(f) + "\n" for f in facts))
        engagement = self.write("engagement.jsonl", "".join(line + "\n" for line in lines))
        return run_simulation(self.program, list(candidates), facts_path, engagement, "2026-03")


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(tmp_path)


def markets(result: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return dict(result["programs"][index]["markets"])


# --- totals, limits, every market ------------------------------------------------------


def test_each_market_totals_its_creators_against_its_budget_or_pool(files: Files) -> None:
    # Given two US creators whose 20.00 of rate amounts pass the 15.00 budget, and one
    # KR creator alone in a pool capped at 700,000
    facts = creator_facts("us-a", "US") + creator_facts("us-b", "US") + creator_facts("kr", "KR")
    lines = [
        json.dumps({"events": [event("1", "us-a", 10_000), event("2", "us-b", 10_000)]}),
        json.dumps(event("3", "kr", 500)),
    ]

    # When simulated
    result = files.run(facts, lines)

    # Then the US pays its budget exactly, the pool what the cap lets it
    us, kr = markets(result)["US"], markets(result)["KR"]
    assert us == {
        "currency": "USD",
        "creators": 2,
        "eligible": 2,
        "paid": 2,
        "total": "15.00",
        "total_minor": 1500,
        "limit": "15",
    }
    assert (kr["total"], kr["total_minor"], kr["limit"], kr["paid"]) == (
        "700000",
        700000,
        "1000000",
        1,
    )
    assert result["inputs"] == {"events_accepted": 3, "rejected": 0}
    assert result["period"] == "2026-03"


def test_every_market_of_the_rules_is_listed_even_without_creators(files: Files) -> None:
    result = files.run(creator_facts("us-a", "US"), [json.dumps(event("1", "us-a", 2000))])

    assert list(markets(result)) == ["JP", "KR", "US"]
    assert markets(result)["JP"] == {
        "currency": "JPY",
        "creators": 0,
        "eligible": 0,
        "paid": 0,
        "total": "0",
        "total_minor": 0,
        "limit": None,
    }


def test_the_result_holds_no_binary_float(files: Files) -> None:
    result = files.run(creator_facts("us-a", "US"), [json.dumps(event("1", "us-a", 2345))])

    def floats(value: Any) -> list[float]:
        if isinstance(value, float):
            return [value]
        if isinstance(value, dict):
            return [f for item in value.values() for f in floats(item)]
        if isinstance(value, list):
            return [f for item in value for f in floats(item)]
        return []

    assert floats(result) == []
    assert markets(result)["US"]["total"] == "2.34"


# --- candidates and changes ------------------------------------------------------------


def test_lowering_min_followers_lists_each_creator_it_makes_eligible(files: Files) -> None:
    # Given a JP creator with 500 followers, another with 5,000, both past the milestone
    facts = creator_facts("jp-small", "JP", followers=500) + creator_facts("jp-big", "JP")
    lines = [json.dumps(event("1", "jp-small", 1500)), json.dumps(event("2", "jp-big", 1500))]
    candidate = files.write("fewer-followers.yaml", FEWER_FOLLOWERS)

    # When the candidate requires 100 followers
    result = files.run(facts, lines, (candidate,))

    # Then only the small creator changes, from ineligible to paid
    assert result["changes"] == [
        {
            "candidate": str(candidate),
            "creator_id": "jp-small",
            "market": "JP",
            "eligible_before": False,
            "eligible_after": True,
            "amount_minor_before": 0,
            "amount_minor_after": 3000,
        }
    ]
    assert [markets(result, i)["JP"]["total"] for i in (0, 1)] == ["3000", "6000"]
    assert [program["rules"] for program in result["programs"]] == [
        str(files.program),
        str(candidate),
    ]


def test_a_candidate_that_adds_a_market_pays_that_country_and_lists_it(files: Files) -> None:
    facts = creator_facts("br", "BR") + creator_facts("us-a", "US")
    lines = [json.dumps(event("1", "br", 5000)), json.dumps(event("2", "us-a", 5000))]
    candidate = files.write("with-brazil.yaml", WITH_BRAZIL)

    result = files.run(facts, lines, (candidate,))

    assert "BR" not in markets(result, 0)
    assert markets(result, 1)["BR"]["total"] == "10.00"
    assert result["changes"] == [
        {
            "candidate": str(candidate),
            "creator_id": "br",
            "market": "BR",
            "eligible_before": False,
            "eligible_after": True,
            "amount_minor_before": 0,
            "amount_minor_after": 1000,
        }
    ]
    assert result["programs"][1]["hash"].startswith("sha256:")
    assert result["programs"][1]["hash"] != result["programs"][0]["hash"]


def test_changes_are_sorted_by_candidate_then_creator(files: Files) -> None:
    facts = [
        f for name in ("jp-c", "jp-a", "jp-b") for f in creator_facts(name, "JP", followers=500)
    ]
    lines = [json.dumps(event(n, n, 1500)) for n in ("jp-c", "jp-a", "jp-b")]
    second = files.write("b-fewer.yaml", FEWER_FOLLOWERS)
    first = files.write("a-fewer.yaml", FEWER_FOLLOWERS + "\n# a copy\n")

    result = files.run(facts, lines, (second, first))

    assert [(c["candidate"], c["creator_id"]) for c in result["changes"]] == [
        (str(first), "jp-a"),
        (str(first), "jp-b"),
        (str(first), "jp-c"),
        (str(second), "jp-a"),
        (str(second), "jp-b"),
        (str(second), "jp-c"),
    ]


# --- inputs as ingestion judges them ----------------------------------------------------


def test_a_duplicate_counts_once_and_a_conflicting_copy_is_rejected(files: Files) -> None:
    # Given an event, its copy written with another offset (the same instant), and a copy
    # with another count
    first = event("dup", "us-a", 3000)
    same = event("dup", "us-a", 3000, occurred_at="2026-03-10T21:00:00+09:00")
    other = event("dup", "us-a", 9000)
    lines = [json.dumps(first), json.dumps({"events": [same, other]}), json.dumps(first)]

    result = files.run(creator_facts("us-a", "US"), lines)

    assert result["inputs"] == {"events_accepted": 1, "rejected": 1}
    assert markets(result)["US"]["total"] == "3.00"


def test_an_event_id_counts_once_whatever_its_creator_or_month(files: Files) -> None:
    # Given an event_id accepted for one creator, then sent for another creator and for
    # another month
    lines = [
        json.dumps(event("shared", "us-a", 3000)),
        json.dumps(event("shared", "us-b", 3000)),
        json.dumps(event("shared", "us-a", 3000, occurred_at="2026-02-10T12:00:00Z")),
    ]

    result = files.run(creator_facts("us-a", "US") + creator_facts("us-b", "US"), lines)

    assert result["inputs"] == {"events_accepted": 1, "rejected": 2}
    assert markets(result)["US"]["paid"] == 1


def test_only_the_events_of_the_period_are_counted(files: Files) -> None:
    lines = [
        json.dumps(event("feb", "us-a", 9000, occurred_at="2026-02-28T23:59:59Z")),
        json.dumps(event("mar", "us-a", 2000, occurred_at="2026-03-01T00:00:00Z")),
        json.dumps(event("apr", "us-a", 9000, occurred_at="2026-04-01T00:00:00Z")),
    ]

    result = files.run(creator_facts("us-a", "US"), lines)

    assert result["inputs"]["events_accepted"] == 1
    assert markets(result)["US"]["total"] == "2.00"


def test_every_invalid_line_event_and_fact_is_counted_and_the_rest_computed(
    files: Files,
) -> None:
    lines = [
        "views=1200&creator=us-a",  # invalid_json
        json.dumps([event("a", "us-a", 1)]),  # invalid_envelope
        json.dumps({"events": []}),  # invalid_envelope
        json.dumps({"events": [event("b", "us-a", 0), event("c", "us-a", 2000)]}),  # 1 bad
        json.dumps(event("d", "us-a", 5, occurred_at="2099-01-01T00:00:00Z")),  # future
        json.dumps(event("e", "us-a", 5, country="US")),  # unknown field
        "",  # blank: not a message
    ]
    facts = [
        *creator_facts("us-a", "US"),
        entry("CreatorProfileChanged", "us-b", "2026-01-05T00:00:00Z", followers=-1),
        entry("CreatorRenamed", "us-c", "2026-01-05T00:00:00Z"),
        {"source": "elsewhere", "detail-type": "Anything", "detail": {}},  # not routed
    ]

    result = files.run(facts, lines)

    assert result["inputs"] == {"events_accepted": 1, "rejected": 8}
    assert markets(result)["US"]["total"] == "2.00"


def test_a_creator_with_facts_but_no_engagement_is_counted_in_its_market(files: Files) -> None:
    result = files.run(creator_facts("kr", "KR"), [])

    assert markets(result)["KR"]["creators"] == 1
    assert markets(result)["KR"]["eligible"] == 1
    assert markets(result)["KR"]["paid"] == 0


# --- errors ------------------------------------------------------------------------------


def test_a_bad_rules_file_exits_2_with_one_line_naming_it(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = files.write("bad.yaml", RULES.replace("currency: JPY", "currency: EUR"))
    facts = files.write("facts.jsonl", "")
    engagement = files.write("engagement.jsonl", "")

    code = main(
        [
            "--program",
            str(files.program),
            "--candidate",
            str(bad),
            "--facts",
            str(facts),
            "--engagement",
            str(engagement),
            "--period",
            "2026-03",
        ]
    )

    error = capsys.readouterr().err
    assert code == 2
    assert error.count("\n") == 1
    assert error.startswith(f"bonus: {bad}: markets.JP")


def test_an_unreadable_input_exits_2_naming_the_file_and_line(
    files: Files, capsys: pytest.CaptureFixture[str]
) -> None:
    facts = files.write("facts.jsonl", json.dumps(creator_facts("a", "US")[0]) + "\n[1, 2]\n")
    engagement = files.write("engagement.jsonl", "")

    code = main(
        [
            *("--program", str(files.program), "--facts", str(facts)),
            *("--engagement", str(engagement), "--period", "2026-03"),
        ]
    )

    assert code == 2
    assert capsys.readouterr().err.startswith(f"bonus: {facts}:2: a PutEvents entry needs")


def test_a_missing_file_exits_2_naming_it(files: Files, capsys: pytest.CaptureFixture[str]) -> None:
    facts = files.write("facts.jsonl", "")
    missing = files.directory / "nowhere.jsonl"

    code = main(
        [
            *("--program", str(files.program), "--facts", str(facts)),
            *("--engagement", str(missing), "--period", "2026-03"),
        ]
    )

    assert code == 2
    assert capsys.readouterr().err == f"bonus: {missing}: no such file\n"


def test_the_command_writes_the_json_to_out(files: Files) -> None:
    facts = files.write(
        "facts.jsonl", "".join(json.dumps(f) + "\n" for f in creator_facts("a", "US"))
    )
    engagement = files.write("engagement.jsonl", json.dumps(event("1", "a", 2000)) + "\n")
    out = files.directory / "result.json"

    code = main(
        [
            *("--program", str(files.program), "--facts", str(facts)),
            *("--engagement", str(engagement), "--period", "2026-03", "--out", str(out)),
        ]
    )

    assert code == 0
    assert json.loads(out.read_text())["programs"][0]["markets"]["US"]["total"] == "2.00"


# --- the same amounts as compute_period -------------------------------------------------


def random_creators(seed: int) -> dict[str, CreatorInputs]:
    rng = random.Random(seed)
    creators: dict[str, CreatorInputs] = {}
    for n in range(40):
        creator = f"c{n}"
        facts: list[Fact] = []
        if rng.random() < 0.9:
            facts.append(
                parse_fact(
                    "CreatorProfileChanged",
                    {
                        "creator_id": creator,
                        "occurred_at": "2026-01-05T00:00:00Z",
                        "account_type": "professional",
                        "country": rng.choice(["US", "JP", "KR", "KR", "FR"]),
                        "adult": True,
                        "followers": rng.choice([50, 500, 5000]),
                    },
                )
            )
        if rng.random() < 0.9:
            cap = (
                {"bonus_cap": rng.choice(["4.00", "2000", "300000"])} if rng.random() < 0.3 else {}
            )
            facts.append(
                parse_fact(
                    "CreatorInvited",
                    {
                        "creator_id": creator,
                        "occurred_at": "2026-02-01T00:00:00Z",
                        "program_id": "sim-bonus",
                        **cap,
                    },
                )
            )
        if rng.random() < 0.1:
            facts.append(
                parse_fact(
                    "PostRestricted",
                    {"creator_id": creator, "occurred_at": "2026-05-01T00:00:00Z", "post_id": "p0"},
                )
            )
        tally: dict[TallyKey, int] = {}
        for _ in range(rng.randint(0, 6)):
            key: TallyKey = (
                f"p{rng.randint(0, 2)}",
                rng.choice(["reel", "carousel", "standard"]),
                rng.choice(["view", "like", "comment", "share"]),
                rng.choice(["organic", "organic", "paid"]),
            )
            tally[key] = tally.get(key, 0) + rng.choice([rng.randint(1, 3000), -rng.randint(1, 50)])
        creators[creator] = CreatorInputs(facts, tally)
    return creators


@pytest.mark.parametrize("seed", range(6))
def test_the_amounts_are_those_of_compute_period(seed: int) -> None:
    programs = [
        parse_program_rules(text.encode(), name)
        for name, text in (("base", RULES), ("fewer", FEWER_FOLLOWERS), ("br", WITH_BRAZIL))
    ]
    creators = random_creators(seed)

    outcomes = compute_outcomes(programs, MARCH, creators)

    for program, result in zip(programs, outcomes, strict=True):
        statements = compute_period(program, MARCH, creators)
        assert {s.creator_id: (s.market, s.eligible, s.amount_minor) for s in statements} == {
            creator: (o.market, o.eligible, o.amount_minor) for creator, o in result.items()
        }


def test_html_writes_one_self_contained_page_beside_the_json(files: Files) -> None:
    lines = [json.dumps(fact) for fact in creator_facts("a", "US")]
    facts = files.write("facts.jsonl", "\n".join(lines) + "\n")
    engagement = files.write("engagement.jsonl", json.dumps(event("1", "a", 2000)) + "\n")
    out, html = files.directory / "result.json", files.directory / "report.html"

    code = main(
        [
            *("--program", str(files.program), "--facts", str(facts)),
            *("--engagement", str(engagement), "--period", "2026-03"),
            *("--out", str(out), "--html", str(html)),
        ]
    )

    assert code == 0
    page = html.read_text()
    assert page.lstrip().lower().startswith("<!doctype html")
    assert "2026-03" in page
