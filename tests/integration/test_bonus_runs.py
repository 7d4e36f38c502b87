"""The period computation end to end on moto: the coordinator, the shard workers through
the compute queue, statements, revisions, summaries and announcements."""

import json
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from integration_support import BusCapture, body

from bonus_engine import dependencies
from bonus_engine.computation import CreatorInputs, compute_period
from bonus_engine.messaging import EventPublisher, TaskQueue
from bonus_engine.periods import Period
from bonus_engine.program_rules import load_program_rules
from bonus_engine.storage.dynamo import Table
from bonus_engine.storage.engagement_store import EngagementStore
from bonus_engine.storage.facts_store import FactsStore
from bonus_engine.storage.keys import CREATOR_BUCKETS, Shard
from bonus_engine.storage.results_store import ResultsStore, Run
from bonus_engine.timestamps import parse_rfc3339
from bonus_local.emulator import Emulation
from bonus_local.pipeline import LocalPipeline, frozen_clock

REPOSITORY = Path(__file__).resolve().parents[2]
MARCH = Period.parse("2026-03")
ISSUED = "BonusStatementIssued"
COMPUTED = "BonusPeriodComputed"

# Tight enough that every market-wide rule binds: the US budget scales, KR caps bind in
# the pool, JP milestones.
TIGHT_RULES = """
program_id: tight-bonus
period: month
grace_hours: 48
scoring:
  counted_quality: [organic]
  weights:
    reel:     {view: 1, like: 5, comment: 10, share: 20}
    carousel: {view: 1, like: 5, comment: 10, share: 20}
    standard: {view: 0.5, like: 5, comment: 10, share: 20}
  post_points_cap: "50000"
markets:
  US:
    currency: USD
    min_qualifying_posts: 2
    payout:
      model: rate
      tiers: [{up_to: 20000, per_1000_points: "3.10"}, {up_to: null, per_1000_points: "1.05"}]
    creator_cap: "120.00"
    minimum_payout: "5.00"
    budget: "300.00"
  JP:
    currency: JPY
    payout:
      model: milestones
      milestones: [{points: 10000, amount: "3000"}, {points: 40000, amount: "9000"}]
  KR:
    currency: KRW
    payout: {model: pool, pool: "5000000"}
    creator_cap: "400000"
"""


def load_scenario(pipeline: LocalPipeline, seed: int, creators: int) -> None:
    """The scenario's facts put on the bus and its messages sent through the queue."""
    facts, messages = scenario(seed, creators)
    pipeline.put_facts(facts)
    pipeline.send_engagement(messages)


def scenario(seed: int, creators: int) -> tuple[list[dict[str, Any]], list[str]]:
    """Facts and engagement messages for `creators` creators in March 2026."""
    rng = random.Random(seed)
    facts, messages = [], []
    for n in range(creators):
        creator = f"creator-{n:03d}"
        country = rng.choice(["US", "US", "JP", "KR", "KR", "FR"])
        facts.append(
            {
                "source": "creators",
                "detail-type": "CreatorProfileChanged",
                "detail": {
                    "creator_id": creator,
                    "occurred_at": "2026-01-05T00:00:00Z",
                    "account_type": rng.choice(["professional"] * 9 + ["personal"]),
                    "country": country,
                    "adult": True,
                    "followers": rng.randint(0, 10000),
                },
            }
        )
        if rng.random() < 0.9:
            invitation = {"creator_id": creator, "occurred_at": "2026-02-01T00:00:00Z"}
            invitation["program_id"] = "tight-bonus"
            if rng.random() < 0.2:
                invitation["bonus_cap"] = rng.choice(["50.00", "150000"])
            facts.append(
                {"source": "creators", "detail-type": "CreatorInvited", "detail": invitation}
            )
        events = [
            {
                "event_id": f"{creator}-{i}",
                "creator_id": creator,
                "post_id": f"{creator}-p{rng.randint(0, 3)}",
                "format": rng.choice(["reel", "carousel", "standard"]),
                "metric": rng.choice(["view", "view", "like", "comment", "share"]),
                "count": rng.choice([rng.randint(1, 20000), -rng.randint(1, 50)]),
                "occurred_at": f"2026-03-{rng.randint(1, 31):02d}T12:00:00Z",
                "quality": rng.choice(["organic"] * 8 + ["paid", "self"]),
            }
            for i in range(rng.randint(0, 6))
        ]
        if events:
            messages.append(json.dumps({"events": events}))
    return facts, messages


@pytest.fixture
def tight_rules_dir(tmp_path: Path) -> Path:
    (tmp_path / "tight-bonus.yaml").write_text(TIGHT_RULES)
    return tmp_path


@pytest.fixture
def tight(emulation: Emulation, tight_rules_dir: Path) -> LocalPipeline:
    return LocalPipeline(emulation, tight_rules_dir)


@pytest.fixture
def bus(emulation: Emulation) -> BusCapture:
    return BusCapture(emulation, [ISSUED, COMPUTED])


def results(emulation: Emulation) -> ResultsStore:
    return ResultsStore(Table(emulation.dynamodb, emulation.table_name("BonusResultsTable")))


def revisions(pipeline: LocalPipeline, program: str = "tight-bonus") -> dict[str, int]:
    return {s.creator_id: s.revision for s in pipeline.statements(program, MARCH)}


def expected_statements(program: Any, emulation: Emulation) -> list[dict[str, Any]]:
    """What `compute_period` pays on the stored inputs of March, in one process."""
    facts_store = FactsStore(Table(emulation.dynamodb, emulation.table_name("CreatorFactsTable")))
    engagement = EngagementStore(Table(emulation.dynamodb, emulation.table_name("EngagementTable")))
    inputs: dict[str, CreatorInputs] = {}
    for bucket in range(CREATOR_BUCKETS):
        bucket_facts = facts_store.shard_facts(Shard.whole(bucket)).facts
        tallies = engagement.shard_engagement(MARCH, Shard.whole(bucket), None).tallies
        for creator in set(bucket_facts) | set(tallies):
            inputs[creator] = CreatorInputs(bucket_facts.get(creator, []), tallies.get(creator, {}))
    return [s.model_dump() for s in compute_period(program, MARCH, inputs)]


def late_event(creator: str, count: int = 5000) -> str:
    return body(
        {
            "event_id": f"late-{creator}",
            "creator_id": creator,
            "post_id": f"{creator}-late",
            "format": "reel",
            "metric": "view",
            "count": count,
            "occurred_at": "2026-03-31T23:59:59Z",
        }
    )


@pytest.mark.parametrize("emulation", ["patched", "stock"], indirect=True)
def test_the_sharded_run_pays_exactly_what_the_one_process_computation_pays(
    tight: LocalPipeline, emulation: Emulation, tight_rules_dir: Path
) -> None:
    load_scenario(tight, seed=11, creators=80)

    tight.request_compute("tight-bonus", MARCH)

    # The same stored inputs, computed in one process by the pure functions.
    program = load_program_rules(tight_rules_dir / "tight-bonus.yaml")
    expected = expected_statements(program, emulation)
    issued = [s.model_dump(exclude={"revision"}) for s in tight.statements("tight-bonus", MARCH)]
    assert issued == expected
    flags = {flag for s in issued for flag in s["flags"]}
    assert {"capped", "budget_scaled", "below_min_posts"} <= flags  # the rules did bind


def test_a_market_never_pays_more_than_its_budget_or_its_pool(tight: LocalPipeline) -> None:
    load_scenario(tight, seed=5, creators=80)

    tight.request_compute("tight-bonus", MARCH)

    _, summary = tight.latest_summary("tight-bonus", MARCH) or (0, None)
    assert summary is not None
    by_market = {line.market: line for line in summary.markets}
    assert by_market["US"].total_paid_minor <= 30000
    assert by_market["KR"].total_paid_minor <= 5000000
    paid = sum(s.amount_minor for s in tight.statements("tight-bonus", MARCH) if s.market == "KR")
    assert paid == by_market["KR"].total_paid_minor


def test_computing_the_same_inputs_again_changes_nothing_and_announces_nothing(
    tight: LocalPipeline, bus: BusCapture, emulation: Emulation
) -> None:
    facts, messages = scenario(seed=3, creators=30)
    tight.put_facts(facts)
    tight.send_engagement(messages)
    tight.request_compute("tight-bonus", MARCH)
    first = {s.creator_id: s for s in tight.statements("tight-bonus", MARCH)}
    issued_before = len(bus.events(ISSUED))

    tight.put_facts(facts)  # everything redelivered
    tight.send_engagement(messages)
    tight.request_compute("tight-bonus", MARCH)

    again = {s.creator_id: s for s in tight.statements("tight-bonus", MARCH)}
    assert again == first
    assert set(revisions(tight).values()) == {1}
    assert len(bus.events(ISSUED)) == issued_before == len(first)
    assert len(bus.events(COMPUTED)) == 1
    assert [n for n, _ in results(emulation).summaries("tight-bonus", MARCH)] == [1]


def test_a_late_event_makes_one_new_revision_for_that_creator_only_and_keeps_the_old(
    pipeline: LocalPipeline, bus: BusCapture, emulation: Emulation
) -> None:
    small = REPOSITORY / "examples" / "small"
    pipeline.put_facts(
        [json.loads(line) for line in (small / "facts.jsonl").read_text().splitlines()]
    )
    pipeline.send_engagement((small / "engagement.jsonl").read_text().splitlines())
    pipeline.request_compute("spring-bonus", MARCH)
    before = {s.creator_id: s for s in pipeline.statements("spring-bonus", MARCH)}

    pipeline.send_engagement([late_event("chiyo", count=900000)])  # JP: next milestone
    pipeline.request_compute("spring-bonus", MARCH)

    after = {s.creator_id: s for s in pipeline.statements("spring-bonus", MARCH)}
    assert {c: s.revision for c, s in after.items() if s.revision > 1} == {"chiyo": 2}
    assert (before["chiyo"].amount, after["chiyo"].amount) == ("5000", "60000")
    kept = results(emulation).revisions("spring-bonus", MARCH, "chiyo")
    assert [(r.revision, r.amount) for r in kept] == [(1, "5000"), (2, "60000")]
    issued = bus.details(ISSUED)
    assert [d["creator_id"] for d in issued if d["revision"] == 2] == ["chiyo"]
    summaries = results(emulation).summaries("spring-bonus", MARCH)
    assert [(n, s.events.late, s.events.accepted) for n, s in summaries] == [(1, 0, 11), (2, 1, 12)]
    assert len(bus.events(COMPUTED)) == 2


def test_a_run_that_expects_more_creators_splits_its_buckets_and_pays_the_same(
    tight: LocalPipeline, bus: BusCapture, emulation: Emulation, tight_rules_dir: Path
) -> None:
    load_scenario(tight, seed=5, creators=80)
    tight.request_compute("tight-bonus", MARCH)
    first = {s.creator_id: s for s in tight.statements("tight-bonus", MARCH)}
    # From now on a shard should hold at most 1 creator: the coordinator expects the 80
    # creators of the first run, so it splits each of the 64 buckets in 2 (128 shards).
    tight.functions["StartBonusRunsFunction"].environment["CREATORS_PER_TASK"] = "1"
    dependencies.forget()  # the coordinator reads its settings again
    late_creator = sorted(first)[7]

    tight.send_engagement([late_event(late_creator)])
    tight.request_compute("tight-bonus", MARCH)

    runs = [
        results(emulation).run("tight-bonus", MARCH, detail["run_id"])
        for detail in bus.details(COMPUTED)
    ]
    assert [(run.splits, run.shards) for run in runs if run] == [(1, 64), (2, 128)]
    second = {s.creator_id: s for s in tight.statements("tight-bonus", MARCH)}
    changed = {c for c in second if second[c].revision == 2}
    # Only what the late event moved is revised (in this market, its creator, and the
    # creators whose share of a binding budget or pool moved with it).
    assert late_creator in changed
    assert {c for c in second if second[c].digest != first[c].digest} == changed
    announced = [(d["creator_id"], d["revision"]) for d in bus.details(ISSUED)]
    assert sorted(c for c, n in announced if n == 2) == sorted(changed)
    # And the split run pays exactly what the one-process computation pays.
    program = load_program_rules(tight_rules_dir / "tight-bonus.yaml")
    assert [s.model_dump(exclude={"revision"}) for s in second.values()] == expected_statements(
        program, emulation
    )


def test_the_first_run_of_a_month_is_sized_by_its_provisional_runs(
    tight: LocalPipeline, emulation: Emulation
) -> None:
    load_scenario(tight, seed=9, creators=70)
    tight.functions["StartBonusRunsFunction"].environment["CREATORS_PER_TASK"] = "1"
    dependencies.forget()

    # While March is open, the schedule's provisional run scores its creators ...
    tight.fire_schedule(datetime(2026, 3, 25, 12, tzinfo=UTC))
    provisional = results(emulation).provisional("tight-bonus", MARCH)
    assert provisional is not None
    assert provisional.creators == 70
    # ... so the first run of the closed month, with no summary yet, expects 70 and
    # splits each bucket in 2 (at most 1 creator a shard would need 128 shards)
    tight.request_compute("tight-bonus", MARCH)

    state = results(emulation).period_state("tight-bonus", MARCH)
    assert state is not None
    (run_id,) = state.committed_runs
    run = results(emulation).run("tight-bonus", MARCH, run_id)
    assert run is not None
    assert (run.splits, run.shards) == (2, 128)
    assert len(tight.statements("tight-bonus", MARCH)) == 70


def test_a_dry_run_writes_no_statement_and_announces_its_counts(
    pipeline: LocalPipeline, bus: BusCapture, emulation: Emulation
) -> None:
    small = REPOSITORY / "examples" / "small"
    pipeline.put_facts(
        [json.loads(line) for line in (small / "facts.jsonl").read_text().splitlines()]
    )

    pipeline.request_compute("spring-bonus", MARCH, dry_run=True)

    assert pipeline.statements("spring-bonus", MARCH) == []
    assert results(emulation).summaries("spring-bonus", MARCH) == []
    (computed,) = bus.details(COMPUTED)
    assert computed["dry_run"] is True
    assert computed["creators_evaluated"] == 7  # hana's only fact was malformed
    assert bus.events(ISSUED) == []


def test_the_hourly_schedule_computes_due_periods_once_then_only_what_late_input_changed(
    pipeline: LocalPipeline, bus: BusCapture
) -> None:
    small = REPOSITORY / "examples" / "small"
    # 2026-04-03T01:00Z: March's end plus its 48 hours of grace has passed.
    hourly = datetime(2026, 4, 3, 1, tzinfo=UTC)
    with frozen_clock(hourly - timedelta(hours=1)):
        pipeline.put_facts(
            [json.loads(line) for line in (small / "facts.jsonl").read_text().splitlines()]
        )
        pipeline.send_engagement((small / "engagement.jsonl").read_text().splitlines())

    pipeline.fire_schedule(hourly)
    computed = [d["period"] for d in bus.details(COMPUTED)]
    pipeline.fire_schedule(hourly.replace(hour=2))  # nothing changed since
    with frozen_clock(hourly.replace(hour=2, minute=30)):
        pipeline.send_engagement([late_event("alice")])
    pipeline.fire_schedule(hourly.replace(hour=3))

    assert computed == ["2026-01", "2026-02", "2026-03"]  # the 3-month window
    assert [d["period"] for d in bus.details(COMPUTED)] == [*computed, "2026-03"]


def test_a_period_whose_grace_has_not_passed_is_not_computed_by_the_schedule(
    pipeline: LocalPipeline, bus: BusCapture
) -> None:
    pipeline.fire_schedule(datetime(2026, 4, 2, 23, tzinfo=UTC))  # 47 h after March

    assert "2026-03" not in [d["period"] for d in bus.details(COMPUTED)]


def test_announcements_never_carry_an_individual_amount(
    tight: LocalPipeline, bus: BusCapture
) -> None:
    load_scenario(tight, seed=8, creators=20)

    tight.request_compute("tight-bonus", MARCH)

    text = json.dumps(bus.events())
    for word in ("amount", "total_paid", "bonus_cap", "capped_amount", "points"):
        assert word not in text
    assert bus.events(ISSUED)
    assert bus.events(COMPUTED)


def test_a_worker_that_fails_before_announcing_is_redelivered_and_announces_once(
    tight: LocalPipeline, bus: BusCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_scenario(tight, seed=21, creators=25)
    real = EventPublisher.publish
    failed: list[str] = []

    def fail_first_of_each(self: EventPublisher, detail_type: str, details: Any) -> None:
        if detail_type not in failed:  # after its statements or its summary are stored
            failed.append(detail_type)
            raise RuntimeError("PutEvents timed out")
        real(self, detail_type, details)

    monkeypatch.setattr(EventPublisher, "publish", fail_first_of_each)

    tight.request_compute("tight-bonus", MARCH)

    # The statements are announced once the run committed, by the announce tasks.
    assert failed == ["PayoutFileReady", COMPUTED, ISSUED]
    statements = tight.statements("tight-bonus", MARCH)
    issued = [d["creator_id"] for d in bus.details(ISSUED)]
    assert sorted(issued) == sorted(s.creator_id for s in statements)  # each exactly once
    assert set(revisions(tight).values()) == {1}
    assert len(bus.events(COMPUTED)) == 1


def test_the_run_is_finished_by_a_task_of_its_own_after_every_shard_is_issued(
    tight: LocalPipeline, bus: BusCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_scenario(tight, seed=5, creators=30)
    real = TaskQueue.send
    phases: list[str] = []

    def recording(self: TaskQueue, bodies: list[str]) -> None:
        phases.extend(json.loads(body)["phase"] for body in bodies)
        real(self, bodies)

    monkeypatch.setattr(TaskQueue, "send", recording)

    tight.request_compute("tight-bonus", MARCH)

    # One finishing task, queued once the last shard was issued, which committed the run,
    # wrote its payout file and fanned out the announcements
    assert phases.count("finish") == 1
    finish = phases.index("finish")
    assert "issue" in phases[:finish]
    assert "issue" not in phases[finish:]
    assert "announce" not in phases[:finish]
    assert "announce" in phases[finish:]
    assert len(bus.events(COMPUTED)) == 1


def test_every_shard_task_delivered_twice_gives_the_same_results_once(
    tight: LocalPipeline, bus: BusCapture, monkeypatch: pytest.MonkeyPatch, emulation: Emulation
) -> None:
    load_scenario(tight, seed=2, creators=40)
    real = TaskQueue.send
    monkeypatch.setattr(TaskQueue, "send", lambda self, bodies: real(self, [*bodies, *bodies]))

    tight.request_compute("tight-bonus", MARCH)

    statements = tight.statements("tight-bonus", MARCH)
    assert set(revisions(tight).values()) == {1}
    assert len(bus.events(ISSUED)) == len(statements)
    assert len(bus.events(COMPUTED)) == 1
    assert [n for n, _ in results(emulation).summaries("tight-bonus", MARCH)] == [1]


def test_a_settler_that_fails_before_fanning_out_is_finished_by_a_score_task_delivered_again(
    tight: LocalPipeline, bus: BusCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_scenario(tight, seed=3, creators=30)
    real = TaskQueue.send
    refused: list[int] = []

    def send_failing_once(self: TaskQueue, bodies: list[str]) -> None:
        if not refused and any('"phase":"issue"' in task for task in bodies):
            refused.append(len(bodies))
            raise ConnectionError("the compute queue is unreachable")
        real(self, bodies)

    monkeypatch.setattr(TaskQueue, "send", send_failing_once)

    tight.request_compute("tight-bonus", MARCH)

    assert refused  # the settler did fail before its fan-out
    statements = tight.statements("tight-bonus", MARCH)
    assert len(statements) == 30
    assert set(revisions(tight).values()) == {1}
    assert len(bus.events(ISSUED)) == 30
    assert len(bus.events(COMPUTED)) == 1


def test_a_request_while_the_period_is_being_computed_is_refused(
    pipeline: LocalPipeline, emulation: Emulation
) -> None:
    store = results(emulation)
    now = datetime.now(UTC)
    store.claim_period("spring-bonus", MARCH, "someone-else", now, now)
    coordinator = pipeline.functions["StartBonusRunsFunction"]

    outcome = coordinator.invoke(
        {
            "detail-type": "ComputeBonusesRequested",
            "time": "2026-04-05T00:00:00Z",
            "detail": {"program_id": "spring-bonus", "period": "2026-03"},
        }
    )

    assert outcome["started"] == []
    assert outcome["refused"] == "run_in_progress"


@pytest.mark.parametrize(
    ("detail", "why"),
    [
        ({"program_id": "spring-bonus", "period": "2026-13"}, "invalid_request"),
        ({"program_id": "nope", "period": "2026-03"}, "unknown_program"),
        ({"program_id": "spring-bonus", "period": "2099-01"}, "period_open"),
        ({"program_id": "spring-bonus", "period": "2026-03", "force": True}, "invalid_request"),
    ],
)
def test_an_invalid_compute_request_is_refused_with_its_reason(
    pipeline: LocalPipeline, detail: dict[str, Any], why: str
) -> None:
    coordinator = pipeline.functions["StartBonusRunsFunction"]

    outcome = coordinator.invoke(
        {"detail-type": "ComputeBonusesRequested", "time": "2026-04-05T00:00:00Z", "detail": detail}
    )

    assert outcome["started"] == []
    assert outcome["refused"] == why


def test_tasks_of_a_run_whose_rules_changed_are_set_aside_in_the_dead_letter_queue(
    emulation: Emulation, tmp_path: Path
) -> None:
    before, after = tmp_path / "before", tmp_path / "after"
    before.mkdir()
    after.mkdir()
    rules = REPOSITORY / "layers" / "program_rules" / "programs" / "spring-bonus.yaml"
    shutil.copy(rules, before / "spring-bonus.yaml")
    (after / "spring-bonus.yaml").write_text(rules.read_text() + "\n# edited\n")
    coordinator = LocalPipeline(emulation, before)
    workers = LocalPipeline(emulation, after)
    coordinator.functions["StartBonusRunsFunction"].invoke(
        {
            "detail-type": "ComputeBonusesRequested",
            "time": "2026-04-05T00:00:00Z",
            "detail": {"program_id": "spring-bonus", "period": "2026-03"},
        }
    )

    workers.settle()

    per_task = int(emulation.environment("ComputeBonusShardFunction", after)["BUCKETS_PER_TASK"])
    score_tasks = -(-CREATOR_BUCKETS // per_task)
    assert workers.dead_letters()["ComputeDeadLetterQueue"] == score_tasks


# --- the samples of events/ ---------------------------------------------------------------


def test_the_schedule_sample_starts_the_due_periods(pipeline: LocalPipeline) -> None:
    sample = json.loads((REPOSITORY / "events" / "schedule-hourly.json").read_text())

    with frozen_clock(parse_rfc3339(sample["time"])):
        outcome = pipeline.functions["StartBonusRunsFunction"].invoke(sample)

    # The three closed months of the window, and a provisional run of the open one.
    assert [(run["period"], run["trigger"]) for run in outcome["started"]] == [
        ("2026-01", "schedule"),
        ("2026-02", "schedule"),
        ("2026-03", "schedule"),
        ("2026-04", "provisional"),
    ]


def test_a_schedule_event_far_from_the_clock_starts_nothing(pipeline: LocalPipeline) -> None:
    # Given the event SAM CLI generates (time 1970-01-01), which once started runs for
    # 1969-09, 1969-10 and 1969-11
    sample = json.loads((REPOSITORY / "events" / "schedule-hourly.json").read_text())
    sample["time"] = "1970-01-01T00:00:00Z"

    outcome = pipeline.functions["StartBonusRunsFunction"].invoke(sample)

    assert outcome["started"] == []
    assert outcome["refused"] == "schedule_time"


def test_the_compute_request_sample_starts_a_dry_run(
    pipeline: LocalPipeline, emulation: Emulation
) -> None:
    sample = json.loads((REPOSITORY / "events" / "compute-requested.json").read_text())

    outcome = pipeline.functions["StartBonusRunsFunction"].invoke(sample)

    (started,) = outcome["started"]
    run = results(emulation).run("spring-bonus", MARCH, started["run_id"])
    assert run is not None
    assert run.dry_run


def test_the_shard_task_sample_scores_its_buckets(
    pipeline: LocalPipeline, emulation: Emulation
) -> None:
    sample = json.loads((REPOSITORY / "events" / "compute-shard-task.json").read_text())
    task = json.loads(sample["Records"][0]["body"])
    program = load_program_rules(REPOSITORY / "layers/program_rules/programs/spring-bonus.yaml")
    store = results(emulation)
    store.create_run(
        Run(
            run_id=task["run_id"],
            program_id="spring-bonus",
            period=MARCH,
            rules_hash=program.content_hash,
            trigger="request",
            dry_run=True,
            started_at=datetime(2026, 4, 3, 1, tzinfo=UTC),
            late_after=None,
            status="scoring",
            shards=CREATOR_BUCKETS,
            scored=frozenset(),
            issued=frozenset(),
            settlements=None,
            summary=None,
            summary_revision=None,
            announced=False,
        )
    )

    outcome = pipeline.functions["ComputeBonusShardFunction"].invoke(sample)

    assert outcome == {"batchItemFailures": []}
    run = store.run("spring-bonus", MARCH, task["run_id"])
    assert run is not None
    assert run.scored == {0, 1, 2, 3}
