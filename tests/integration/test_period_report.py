"""`bonus report`'s reading side: a period computed on moto, gathered from the results
and rejections tables, and the command's refusal of a period never computed."""

import argparse
import json
import shutil
from pathlib import Path

import pytest

from bonus_engine.periods import Period
from bonus_local.emulator import Emulation
from bonus_local.pipeline import LocalPipeline
from bonus_local.replay import read_inputs
from bonus_local.report_command import (
    NothingToReport,
    gather_period_report,
    register,
    run_report,
)

REPOSITORY = Path(__file__).resolve().parents[2]
SMALL = REPOSITORY / "examples" / "small"
MARCH = Period.parse("2026-03")


@pytest.fixture
def computed(emulation: Emulation, tmp_path: Path) -> LocalPipeline:
    """examples/small replayed and its March computed, then computed again after a late
    event, so that the period has two summary revisions."""
    inputs = read_inputs(
        SMALL / "program.yaml", SMALL / "facts.jsonl", SMALL / "engagement.jsonl", "2026-03"
    )
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copyfile(SMALL / "program.yaml", rules / "spring-bonus.yaml")
    pipeline = LocalPipeline(emulation, rules)
    pipeline.put_facts(inputs.facts)
    pipeline.send_engagement(inputs.engagement)
    pipeline.request_compute("spring-bonus", MARCH)
    late = {
        "event_id": "a-1-v-late",
        "creator_id": "alice",
        "post_id": "a-1",
        "format": "reel",
        "metric": "view",
        "count": 500000,
        "occurred_at": "2026-03-30T10:00:00Z",
    }
    pipeline.send_engagement([json.dumps(late)])
    pipeline.request_compute("spring-bonus", MARCH)
    return pipeline


def test_a_computed_period_is_gathered_with_its_summary_statements_and_rejections(
    computed: LocalPipeline, emulation: Emulation
) -> None:
    report = gather_period_report(emulation.dynamodb, "spring-bonus", "2026-03")

    stored_summaries = computed.results.summaries("spring-bonus", MARCH)
    assert [s.revision for s in report.summaries] == [1, 2]
    assert [s.summary for s in report.summaries] == [
        summary.model_dump(mode="json") for _, summary in stored_summaries
    ]
    first, second = (s.computed_at for s in report.summaries)
    assert first
    assert second
    assert first <= second  # when each revision's run started
    summary = stored_summaries[-1][1]
    assert report.rules_hash == summary.rules_hash
    stored = computed.statements("spring-bonus", MARCH)
    assert [s["creator_id"] for s in report.statements] == [s.creator_id for s in stored]
    assert {s["amount_minor"] for s in report.statements} == {s.amount_minor for s in stored}
    assert "breakdown" not in report.statements[0]
    # examples/small has one invalid March event; unreadable input is filed under the
    # period it was received in, not March.
    assert report.rejections == {("engagement", "invalid_event"): 1}


def test_a_period_never_computed_is_nothing_to_report(emulation: Emulation) -> None:
    with pytest.raises(NothingToReport, match="spring-bonus 2026-02 has not been computed"):
        gather_period_report(emulation.dynamodb, "spring-bonus", "2026-02")


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bonus")
    commands = parser.add_subparsers(dest="command", required=True)
    assert register(commands) is run_report
    return parser.parse_args(["report", *argv])


def test_the_command_writes_the_page_of_a_computed_period(
    computed: LocalPipeline, emulation: Emulation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("bonus_local.report_command._client", lambda _: emulation.dynamodb)
    out = tmp_path / "report.html"

    code = run_report(
        parse("--program-id", "spring-bonus", "--period", "2026-03", "--out", str(out))
    )

    assert code == 0
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert "Bonus report: spring-bonus, 2026-03" in page


@pytest.mark.parametrize(
    ("period", "message"),
    [
        ("2026-02", "bonus: spring-bonus 2026-02 has not been computed: no run summary in "),
        ("March", "bonus: not a period (YYYY-MM): 'March'"),
    ],
)
def test_the_command_exits_2_with_one_line_when_there_is_nothing_to_report(
    emulation: Emulation,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    period: str,
    message: str,
) -> None:
    monkeypatch.setattr("bonus_local.report_command._client", lambda _: emulation.dynamodb)
    out = tmp_path / "report.html"

    code = run_report(parse("--program-id", "spring-bonus", "--period", period, "--out", str(out)))

    assert code == 2
    error = capsys.readouterr().err
    assert error.startswith(message)
    assert error.count("\n") == 1
    assert not out.exists()
