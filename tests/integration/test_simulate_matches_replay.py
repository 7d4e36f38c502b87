"""`bonus simulate` computes what the pipeline computes (SPEC section 9): on small random
inputs, each creator's market, eligibility and amount from the simulation equal those of
the statements the functions write on moto, for every payout model, with caps, budgets
and pools binding, duplicates, conflicting copies, retractions and invalid events."""

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from bonus_engine import dependencies
from bonus_engine.periods import Period
from bonus_engine.program_rules import load_program_rules
from bonus_local.emulator import Emulation
from bonus_local.pipeline import LocalPipeline
from bonus_local.simulate import compute_outcomes, read_simulation_inputs, run_simulation

MARCH = Period.parse("2026-03")
PROGRAM_ID = "sim-bonus"
CURRENCIES = {"US": "USD", "JP": "JPY", "KR": "KRW"}
INSTANTS = [  # in the period (written with offsets too), and just outside it
    "2026-03-03T10:00:00Z",
    "2026-03-31T23:59:59+00:00",
    "2026-03-15T09:00:00+09:00",
    "2026-02-27T12:00:00Z",
    "2026-04-01T00:00:00Z",
]


# --- the rules: each market's model drawn, with limits that bind on these small inputs --


def market_yaml(country: str, model: str, cap: bool) -> str:
    currency = CURRENCIES[country]
    unit = "1.00" if currency == "USD" else "100"  # one "unit" of money in the currency

    def amount(units: int) -> str:
        return f"{units}.00" if currency == "USD" else str(units * 100)

    lines = [f"  {country}:", f"    currency: {currency}", "    min_qualifying_posts: 1"]
    if model == "rate":
        lines += [
            "    payout: {model: rate, tiers: [{up_to: 2000, per_1000_points: "
            f'"{unit}"}}, {{up_to: null, per_1000_points: "0.35"}}]}}',
            f'    budget: "{amount(6)}"',
        ]
    elif model == "milestones":
        lines += [
            "    payout: {model: milestones, milestones: "
            f'[{{points: 500, amount: "{amount(2)}"}}, {{points: 4000, amount: "{amount(5)}"}}]}}',
            f'    budget: "{amount(8)}"',
        ]
    else:
        lines.append(f'    payout: {{model: pool, pool: "{amount(10)}"}}')
    if cap:
        lines.append(f'    creator_cap: "{amount(4)}"')
    if currency == "USD":
        lines.append('    minimum_payout: "0.50"')
    return "\n".join(lines)


def rules_yaml(models: dict[str, tuple[str, bool]], min_followers: int) -> str:
    markets = "\n".join(market_yaml(c, model, cap) for c, (model, cap) in models.items())
    return f"""program_id: {PROGRAM_ID}
period: month
grace_hours: 0
eligibility:
  min_followers: {min_followers}
  max_active_strikes: 0
scoring:
  counted_quality: [organic, self]
  weights:
    reel:     {{view: 1, like: 5, comment: 10, share: 20}}
    carousel: {{view: 1.5, like: 6, comment: 12, share: 25}}
    standard: {{view: 0.5, like: 4, comment: 8, share: 15}}
  post_points_cap: "3500"
markets:
{markets}
"""


models = st.fixed_dictionaries(
    {
        country: st.tuples(st.sampled_from(["rate", "milestones", "pool"]), st.booleans())
        for country in CURRENCIES
    }
)


# --- the inputs ----------------------------------------------------------------------


def fact(detail_type: str, creator: str, day: str, **detail: Any) -> dict[str, Any]:
    return {
        "source": "creators",
        "detail-type": detail_type,
        "detail": {"creator_id": creator, "occurred_at": f"{day}T00:00:00Z", **detail},
    }


@st.composite
def creator_facts(draw: st.DrawFn, creator: str) -> list[dict[str, Any]]:
    facts = []
    if draw(st.integers(0, 9)) > 0:
        facts.append(
            fact(
                "CreatorProfileChanged",
                creator,
                "2026-01-05",
                account_type=draw(st.sampled_from(["professional"] * 4 + ["personal"])),
                country=draw(st.sampled_from(["US", "JP", "KR", "KR", "FR"])),
                adult=draw(st.booleans() | st.just(True)),
                followers=draw(st.sampled_from([10, 800, 5000])),
            )
        )
    if draw(st.integers(0, 5)) > 0:
        cap = draw(st.sampled_from([{}, {}, {"bonus_cap": "3"}, {"bonus_cap": "150"}]))
        facts.append(fact("CreatorInvited", creator, "2026-02-01", program_id=PROGRAM_ID, **cap))
        if draw(st.integers(0, 9)) == 0:
            facts.append(
                fact("CreatorInvitationRevoked", creator, "2026-03-20", program_id=PROGRAM_ID)
            )
    if draw(st.integers(0, 6)) == 0:
        expiry = draw(st.sampled_from([{}, {"expires_at": "2026-03-15T00:00:00Z"}]))
        facts.append(fact("PolicyStrikeIssued", creator, "2026-03-02", strike_id="s1", **expiry))
        if draw(st.booleans()):
            facts.append(fact("PolicyStrikeLifted", creator, "2026-03-10", strike_id="s1"))
    if draw(st.integers(0, 6)) == 0:
        day = draw(st.sampled_from(["2026-03-05", "2026-05-05"]))
        facts.append(fact("PostRestricted", creator, day, post_id=f"{creator}-p0"))
    return facts


@st.composite
def creator_events(draw: st.DrawFn, creator: str) -> list[dict[str, Any]]:
    events = []
    for number in range(draw(st.integers(0, 7))):
        count = draw(st.integers(1, 3000) | st.integers(-40, -1))
        event: dict[str, Any] = {
            "event_id": f"{creator}-e{number}",
            "creator_id": creator,
            "post_id": f"{creator}-p{draw(st.integers(0, 2))}",
            "format": draw(st.sampled_from(["reel", "carousel", "standard"])),
            "metric": draw(st.sampled_from(["view", "view", "like", "comment", "share"])),
            "count": count,
            "occurred_at": draw(st.sampled_from(INSTANTS)),
        }
        quality = draw(st.sampled_from([None, None, "organic", "self", "paid", "invalid"]))
        if quality is not None:
            event["quality"] = quality
        events.append(event)
        if draw(st.integers(0, 5)) == 0:  # delivered again, as it is
            events.append(dict(event))
        if draw(st.integers(0, 7)) == 0:  # sent again with other content: rejected
            events.append({**event, "count": count + 1})
    if draw(st.integers(0, 9)) == 0:
        events.append({"event_id": f"{creator}-bad", "creator_id": creator, "count": 0})
    return events


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]], list[str]]:
    names = [f"cr-{n}" for n in range(draw(st.integers(2, 6)))]
    facts = [entry for name in names for entry in draw(creator_facts(name))]
    events = [event for name in names for event in draw(creator_events(name))]
    events = draw(st.permutations(events))
    bodies, start = [], 0
    while start < len(events):
        size = draw(st.integers(1, 4))
        chunk = events[start : start + size]
        start += size
        bodies.append(json.dumps(chunk[0] if size == 1 else {"events": chunk}))
    if draw(st.integers(0, 3)) == 0:
        bodies.append("views=1200")  # invalid_json
    rules = rules_yaml(draw(models), draw(st.sampled_from([0, 500, 1000])))
    return rules, facts, bodies


# --- the two computations ------------------------------------------------------------


@contextmanager
def fresh_pipeline(rules_dir: Path) -> Iterator[LocalPipeline]:
    """A new moto account and emulation for each example (nothing left from the last)."""
    dependencies.forget()
    with mock_aws(), Emulation(in_process=True) as emulation:
        yield LocalPipeline(emulation, rules_dir)
    dependencies.forget()


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios())
def test_simulate_pays_each_creator_what_the_pipeline_pays(
    aws_environment: None, scenario: tuple[str, list[dict[str, Any]], list[str]]
) -> None:
    rules, facts, bodies = scenario
    assert os.environ["AWS_DEFAULT_REGION"] == "us-east-1"
    with tempfile.TemporaryDirectory(prefix="simulate-") as temp:
        directory = Path(temp)
        rules_dir = directory / "rules"
        rules_dir.mkdir()
        program = rules_dir / f"{PROGRAM_ID}.yaml"
        program.write_text(rules)
        facts_path = directory / "facts.jsonl"
        facts_path.write_text("".join(json.dumps(entry) + "\n" for entry in facts))
        engagement_path = directory / "engagement.jsonl"
        engagement_path.write_text("".join(body + "\n" for body in bodies))

        # Given the simulation's result, and each creator's outcome in it
        simulated = run_simulation(program, [], facts_path, engagement_path, MARCH.name)
        inputs = read_simulation_inputs(facts_path, engagement_path, MARCH, datetime.now(UTC))
        [outcomes] = compute_outcomes([load_program_rules(program)], MARCH, inputs.creators())

        # When the pipeline is given the same inputs and computes the period
        with fresh_pipeline(rules_dir) as pipeline:
            pipeline.put_facts(facts)
            pipeline.send_engagement(bodies)
            pipeline.request_compute(PROGRAM_ID, MARCH)
            statements = pipeline.statements(PROGRAM_ID, MARCH)
            latest = pipeline.latest_summary(PROGRAM_ID, MARCH)

    # Then every market's totals are the run summary's, and the events counted the same
    assert latest is not None
    summary = latest[1]
    markets = simulated["programs"][0]["markets"]
    assert {
        line.market: (line.creators, line.eligible, line.paid, line.total_paid_minor)
        for line in summary.markets
    } == {
        name: (m["creators"], m["eligible"], m["paid"], m["total_minor"])
        for name, m in markets.items()
    }
    assert simulated["inputs"]["events_accepted"] == summary.events.accepted
    # And each creator is in the same market, as eligible, paid the same amount
    assert {c: (o.market, o.eligible, o.amount_minor) for c, o in outcomes.items()} == {
        s.creator_id: (s.market, s.eligible, s.amount_minor) for s in statements
    }


def test_an_event_id_sent_for_two_creators_counts_once_in_both(
    aws_environment: None, tmp_path: Path
) -> None:
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    program = rules_dir / f"{PROGRAM_ID}.yaml"
    program.write_text(rules_yaml({"US": ("rate", False)}, 0))
    facts = [
        fact(
            "CreatorProfileChanged",
            name,
            "2026-01-05",
            account_type="professional",
            country="US",
            adult=True,
            followers=10,
        )
        for name in ("cr-a", "cr-b")
    ] + [
        fact("CreatorInvited", name, "2026-02-01", program_id=PROGRAM_ID)
        for name in ("cr-a", "cr-b")
    ]
    shared = {
        "event_id": "shared-1",
        "post_id": "p1",
        "format": "reel",
        "metric": "view",
        "count": 1000,
        "occurred_at": "2026-03-03T10:00:00Z",
    }
    bodies = [
        json.dumps({**shared, "creator_id": "cr-a"}),
        json.dumps({**shared, "creator_id": "cr-b"}),
    ]
    (tmp_path / "facts.jsonl").write_text("".join(json.dumps(f) + "\n" for f in facts))
    (tmp_path / "engagement.jsonl").write_text("".join(b + "\n" for b in bodies))

    simulated = run_simulation(
        program, [], tmp_path / "facts.jsonl", tmp_path / "engagement.jsonl", MARCH.name
    )
    with fresh_pipeline(rules_dir) as pipeline:
        pipeline.put_facts(facts)
        pipeline.send_engagement(bodies)
        pipeline.request_compute(PROGRAM_ID, MARCH)
        paid = sum(s.amount_minor > 0 for s in pipeline.statements(PROGRAM_ID, MARCH))

    assert simulated["programs"][0]["markets"]["US"]["paid"] == 1
    assert paid == 1
