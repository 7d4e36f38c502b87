"""The computation's guarantees under bad data and time (SPEC 4): isolation of a creator
whose computation fails, retention of the inputs, a restricted post that never earns,
and the program's season."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from integration_support import BusCapture

from bonus_engine.periods import Period
from bonus_engine.storage import keys
from bonus_local.emulator import Emulation
from bonus_local.pipeline import LocalPipeline, frozen_clock
from bonus_local.replay import read_engagement, read_facts

REPOSITORY = Path(__file__).resolve().parents[2]
SMALL = REPOSITORY / "examples" / "small"
MARCH = Period.parse("2026-03")


def load_small(pipeline: LocalPipeline) -> None:
    pipeline.put_facts(read_facts(SMALL / "facts.jsonl"))
    pipeline.send_engagement(read_engagement(SMALL / "engagement.jsonl"))


def amounts(pipeline: LocalPipeline) -> dict[str, tuple[int, list[str]]]:
    return {
        s.creator_id: (s.amount_minor, s.flags) for s in pipeline.statements("spring-bonus", MARCH)
    }


def request(pipeline: LocalPipeline, period: str, at: datetime) -> dict[str, Any]:
    with frozen_clock(at):
        result: dict[str, Any] = pipeline.functions["StartBonusRunsFunction"].invoke(
            {
                "id": f"request-{period}",
                "detail-type": "ComputeBonusesRequested",
                "source": "creator-bonus",
                "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "detail": {"program_id": "spring-bonus", "period": period},
            }
        )
    return result


# --- isolation ----------------------------------------------------------------------------------


def test_a_creator_whose_stored_facts_no_longer_read_is_held_and_the_others_are_paid(
    pipeline: LocalPipeline, emulation: Emulation
) -> None:
    # Given the month computed once, cleanly
    load_small(pipeline)
    pipeline.request_compute("spring-bonus", MARCH)
    clean = amounts(pipeline)
    # ... and a fact of bruno's stored before caps were bounded: a cap of 1e1000000, which
    # once made the whole period's score task fail forever
    key = keys.fact_key("bruno", "2026-02-01T00:00:00.000000Z", "poisoned")
    emulation.dynamodb.put_item(
        TableName=emulation.table_name("CreatorFactsTable"),
        Item={
            "pk": {"S": key["pk"]},
            "sk": {"S": key["sk"]},
            "creator_id": {"S": "bruno"},
            "kind": {"S": "CreatorInvited"},
            "detail": {
                "S": json.dumps(
                    {
                        "creator_id": "bruno",
                        "occurred_at": "2026-02-01T00:00:00.000000Z",
                        "program_id": "spring-bonus",
                        "bonus_cap": "1e1000000",
                    }
                )
            },
            "occurred_at": {"S": "2026-02-01T00:00:00.000000Z"},
        },
    )

    # When the month is computed again
    pipeline.request_compute("spring-bonus", MARCH)

    # Then bruno is held at 0, everyone else is paid as before, and the summary says so
    now = amounts(pipeline)
    assert now["bruno"] == (0, ["held"])
    assert {c: a for c, a in now.items() if c != "bruno"} == {
        c: a for c, a in clean.items() if c != "bruno"
    }
    latest = pipeline.latest_summary("spring-bonus", MARCH)
    assert latest is not None
    assert latest[1].held == 1
    assert pipeline.dead_letters()["ComputeDeadLetterQueue"] == 0


def test_a_creator_whose_computation_fails_is_held_and_the_run_completes(
    pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given scoring that fails for one creator only (a defect their data triggers)
    from bonus_engine import bonus_run, computation

    real = computation.draft_creator

    def fails_for_chiyo(program: Any, period: Period, creator_id: str, inputs: Any) -> Any:
        if creator_id == "chiyo":
            raise ArithmeticError("a defect only chiyo's data reaches")
        return real(program, period, creator_id, inputs)

    monkeypatch.setattr(bonus_run, "draft_creator", fails_for_chiyo)
    load_small(pipeline)

    # When March is computed
    pipeline.request_compute("spring-bonus", MARCH)

    # Then chiyo's statement is held and paid 0; the others are issued
    statements = {s.creator_id: s for s in pipeline.statements("spring-bonus", MARCH)}
    assert statements["chiyo"].flags == ["held"]
    assert statements["chiyo"].amount_minor == 0
    assert any(s.amount_minor > 0 for s in statements.values())
    latest = pipeline.latest_summary("spring-bonus", MARCH)
    assert latest is not None
    assert latest[1].held == 1


# --- retention ----------------------------------------------------------------------------------


def test_a_recompute_past_the_retention_of_its_engagement_is_refused(
    pipeline: LocalPipeline,
) -> None:
    # Given March computed, and 400 days after its end (its engagement's TTL)
    load_small(pipeline)
    pipeline.request_compute("spring-bonus", MARCH)
    before = amounts(pipeline)
    much_later = datetime(2027, 5, 6, tzinfo=UTC)

    # When a recompute is requested
    outcome = request(pipeline, "2026-03", much_later)

    # Then it is refused with inputs_expired, and no statement changed
    assert outcome == {
        "started": [],
        "refused": "inputs_expired",
        "detail": outcome["detail"],
    }
    assert amounts(pipeline) == before


def test_engagement_expires_when_the_retention_parameter_says(
    pipeline: LocalPipeline, emulation: Emulation
) -> None:
    load_small(pipeline)

    items = emulation.dynamodb.scan(TableName=emulation.table_name("EngagementTable"))["Items"]

    expiries = {int(item["expires_at"]["N"]) for item in items if "digest" in item}
    assert len(expiries) == 1  # every event of the month alike
    # March ends 2026-04-01T00:00Z; EngagementRetentionDays defaults to 400
    assert expiries == {int(datetime(2027, 5, 6, tzinfo=UTC).timestamp())}


# --- restricted posts -----------------------------------------------------------------------------


def test_a_post_restricted_after_a_computed_month_is_taken_out_of_it_by_the_schedule(
    pipeline: LocalPipeline, emulation: Emulation
) -> None:
    # Given March computed by the schedule on April 3
    april_3 = datetime(2026, 4, 3, 1, tzinfo=UTC)
    with frozen_clock(datetime(2026, 4, 2, tzinfo=UTC)):
        load_small(pipeline)
    pipeline.fire_schedule(april_3)
    (alice,) = [s for s in pipeline.statements("spring-bonus", MARCH) if s.creator_id == "alice"]
    post = max(alice.breakdown.by_post, key=lambda p: int(p.points)).post_id

    # When alice's best post is restricted in May, and the schedule runs after it
    may = datetime(2026, 5, 10, tzinfo=UTC)
    with frozen_clock(may):
        pipeline.put_facts(
            [
                {
                    "source": "creators",
                    "detail-type": "PostRestricted",
                    "detail": {
                        "creator_id": "alice",
                        "occurred_at": "2026-05-10T00:00:00Z",
                        "post_id": post,
                    },
                }
            ]
        )
    pipeline.fire_schedule(may.replace(hour=1))

    # Then March was recomputed: the post earns nothing, in a new revision
    (revised,) = [s for s in pipeline.statements("spring-bonus", MARCH) if s.creator_id == "alice"]
    assert revised.revision == 2
    restricted = {p.post_id: p for p in revised.breakdown.by_post}[post]
    assert (restricted.restricted, restricted.points) == (True, "0")
    assert revised.amount_minor < alice.amount_minor


# --- the season ---------------------------------------------------------------------------


def test_a_period_outside_the_programs_season_is_never_computed(
    emulation: Emulation, tmp_path: Path
) -> None:
    rules = (REPOSITORY / "examples" / "small" / "program.yaml").read_text()
    (tmp_path / "spring-bonus.yaml").write_text(rules + "starts: 2026-04\nends: 2026-05\n")
    pipeline = LocalPipeline(emulation, tmp_path)
    bus = BusCapture(emulation, ["BonusPeriodComputed"])

    refused = request(pipeline, "2026-03", datetime(2026, 4, 10, tzinfo=UTC))
    pipeline.fire_schedule(datetime(2026, 4, 3, 1, tzinfo=UTC))  # due: Jan, Feb, March

    assert refused["refused"] == "outside_program"
    assert bus.details("BonusPeriodComputed") == []
