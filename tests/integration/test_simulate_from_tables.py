"""`bonus simulate --from-tables`: a stack's stored month, read only, simulated under the
deployed rules, pays what the stack's own run paid."""

from pathlib import Path

from bonus_engine.periods import Period
from bonus_local.emulator import Emulation
from bonus_local.pipeline import LocalPipeline
from bonus_local.replay import read_engagement, read_facts
from bonus_local.simulate import StoredSource, run_simulation

REPOSITORY = Path(__file__).resolve().parents[2]
SMALL = REPOSITORY / "examples" / "small"
RULES = REPOSITORY / "layers" / "program_rules" / "programs" / "spring-bonus.yaml"
MARCH = Period.parse("2026-03")


def test_a_month_read_from_the_tables_simulates_to_the_amounts_the_run_paid(
    pipeline: LocalPipeline, emulation: Emulation
) -> None:
    pipeline.put_facts(read_facts(SMALL / "facts.jsonl"))
    pipeline.send_engagement(read_engagement(SMALL / "engagement.jsonl"))
    pipeline.request_compute("spring-bonus", MARCH)
    paid = {
        s.market: s.amount_minor
        for s in pipeline.statements("spring-bonus", MARCH)
        if s.amount_minor
    }
    stored = StoredSource(
        emulation.dynamodb,
        emulation.table_name("CreatorFactsTable"),
        emulation.table_name("EngagementTable"),
    )

    result = run_simulation(RULES, [], None, None, MARCH.name, stored=stored)

    markets = result["programs"][0]["markets"]
    totals = {}
    for statement in pipeline.statements("spring-bonus", MARCH):
        if statement.market in markets:
            totals[statement.market] = totals.get(statement.market, 0) + statement.amount_minor
    assert {m: line["total_minor"] for m, line in markets.items() if line["total_minor"]} == {
        m: t for m, t in totals.items() if t
    }
    assert paid  # the month did pay someone
    assert result["changes"] == []
