"""Period computation benchmark: one run of the sharded computation (score phase, then
issue phase) for 10,000 and 100,000 creators whose facts and engagement are stored
already, against the emulation (a moto server in a process of its own, provisioned from
template.yaml).

    .venv/bin/python -m bench.compute [--creators 10000,100000] [--json]

The data is loaded straight into the tables, as the stores write it (not measured). The
run's shard tasks then run in this process as the worker runs them: `start_run`, then
`run_shard_task` for each task it (and the tasks after it) queued, until none is left.
The compute queue is an in-memory stand-in; the tables and the event bus are the
emulation's. After the run, the same creators' inputs are read back from the tables (not
timed) and `compute_period` alone is timed on them: the pure computation, without
storage, beside the sharded run's CPU. `--json` ends the output with one JSON line of the
headline figures. docs/PERFORMANCE.md explains the figures.
"""

import argparse
import json
import os
import random
import statistics
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, cast

from bench.common import (
    RULES_DIR,
    CallRecorder,
    Capacity,
    MotoServer,
    UsageCount,
    load_summary,
    machine,
    prepare_process_environment,
    progress,
    render_table,
)
from bonus_engine import aws_clients, dependencies
from bonus_engine.bonus_run import RunContext, ShardTask, run_shard_task, start_run
from bonus_engine.computation import CreatorInputs, compute_period
from bonus_engine.eligibility import judge_eligibility
from bonus_engine.engagement import EngagementEvent
from bonus_engine.facts import parse_fact
from bonus_engine.messaging import TaskQueue
from bonus_engine.periods import Period
from bonus_engine.program_rules import load_programs
from bonus_engine.storage.dynamo import Item, Table, to_attributes
from bonus_engine.storage.engagement_store import EngagementStore
from bonus_engine.storage.facts_store import FactsStore
from bonus_engine.storage.keys import CREATOR_BUCKETS, Shard
from bonus_engine.storage.results_store import ResultsStore
from bonus_engine.timestamps import to_utc_text
from bonus_local.emulator import Emulation

FUNCTION_ID = "ComputeBonusShardFunction"
PROGRAM_ID = "spring-bonus"
MARKETS = {"US": 40, "JP": 30, "KR": 25, "FR": 5}  # FR: not a market of the program
BONUS_CAPS = {"US": "150.00", "JP": "30000", "KR": "400000", "FR": "100.00"}
LOAD_CHUNK = 500  # items a BatchWriteItem while loading (moto does not enforce 25)
STORES = ("engagement", "facts", "rejections", "results")

# Assumptions of the extrapolation (not measured): see docs/PERFORMANCE.md.
ASSUMED_LATENCY_S = (0.005, 0.010)  # DynamoDB request latency from Lambda, in region
EXTRAPOLATE_TO = 10_000_000
TASK_LIMITS_S = (300, 900)  # a comfortable task, and the worker's timeout
# DynamoDB's default on-demand limits (write units a second)
TABLE_WRITE_LIMIT = 40_000
PARTITION_WRITE_LIMIT = 1_000
NEW_TABLE_WRITES = 4_000


# --- the data ----------------------------------------------------------------------------


class RecordingTable:
    """Stands in for a store's Table while loading: keeps the items the store would
    write, so that the loaded items are exactly the stores' own."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.items: list[Item] = []

    def put(
        self, item: Mapping[str, Any], condition: str | None = None, values: Any = None
    ) -> None:
        self.items.append(dict(item))

    def batch_put(self, items: Sequence[Mapping[str, Any]]) -> None:
        self.items += [dict(item) for item in items]

    def batch_get(
        self,
        keys: Sequence[Mapping[str, str]],
        projection: str | None = None,
        consistent: bool = False,
    ) -> list[Item]:
        return []  # nothing is stored yet: every event is new


def creator_data(
    rng: random.Random, index: int, period: Period
) -> tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]:
    """One creator's facts (detail-type, detail) and engagement events of the period."""
    creator = f"creator-{index:07d}"
    market = rng.choices(list(MARKETS), list(MARKETS.values()))[0]

    def before_period(days: float) -> str:
        return to_utc_text(period.start - timedelta(days=rng.uniform(1, days)))

    facts: list[tuple[str, dict[str, Any]]] = [
        (
            "CreatorProfileChanged",
            {
                "creator_id": creator,
                "occurred_at": before_period(200),
                "account_type": "professional" if rng.random() < 0.95 else "personal",
                "country": market,
                "adult": rng.random() < 0.98,
                "followers": rng.randint(100, 2_000_000),
            },
        )
    ]
    if rng.random() < 0.95:
        invitation: dict[str, Any] = {
            "creator_id": creator,
            "occurred_at": before_period(60),
            "program_id": PROGRAM_ID,
        }
        if rng.random() < 0.1:
            invitation["bonus_cap"] = BONUS_CAPS[market]
        facts.append(("CreatorInvited", invitation))
    if rng.random() < 0.02:
        facts.append(
            (
                "PolicyStrikeIssued",
                {"creator_id": creator, "occurred_at": before_period(30), "strike_id": "s-1"},
            )
        )
    posts = [
        (f"post-{index:07d}-{p}", rng.choice(("reel", "carousel", "standard")))
        for p in range(rng.randint(1, 3))
    ]
    if rng.random() < 0.01:
        facts.append(
            (
                "PostRestricted",
                {"creator_id": creator, "occurred_at": before_period(30), "post_id": posts[0][0]},
            )
        )
    span = (period.end - period.start).total_seconds()
    events = []
    for number in range(rng.randint(5, 10)):
        post_id, format_ = rng.choice(posts)
        metric = rng.choices(("view", "like", "comment", "share"), (50, 30, 12, 8))[0]
        top = {"view": 60_000, "like": 3_000, "comment": 300, "share": 100}[metric]
        event: dict[str, Any] = {
            "event_id": f"{creator}-{number}-{rng.getrandbits(64):016x}",
            "creator_id": creator,
            "post_id": post_id,
            "format": format_,
            "metric": metric,
            "count": rng.randint(1, top),
            "occurred_at": to_utc_text(period.start + timedelta(seconds=rng.uniform(0, span))),
        }
        if rng.random() < 0.05:
            event["quality"] = "paid"
        events.append(event)
    return facts, events


@dataclass
class Loaded:
    creators: int
    facts: int
    events: int
    seconds: float


def load(
    emulation: Emulation, creators: int, period: Period, seed: int, accepted_at: datetime
) -> Loaded:
    """Store every creator's facts, decision and events as FactsStore.add_fact,
    FactsStore.save_decision and EngagementStore.record would store them, in large
    batches straight to the tables."""
    started = time.perf_counter()
    rng = random.Random(seed)
    program = load_programs(RULES_DIR)[PROGRAM_ID]
    client = emulation.dynamodb  # a client of its own: loading is not counted
    engagement_name = emulation.table_name("EngagementTable")
    facts_name = emulation.table_name("CreatorFactsTable")
    fact_count = event_count = 0
    chunk = 2_000
    for first in range(0, creators, chunk):
        engagement_table = RecordingTable(engagement_name)
        facts_table = RecordingTable(facts_name)
        facts_store = FactsStore(cast(Table, facts_table))
        events: list[EngagementEvent] = []
        for index in range(first, min(creators, first + chunk)):
            facts, raw_events = creator_data(rng, index, period)
            parsed = [parse_fact(detail_type, detail) for detail_type, detail in facts]
            for fact in parsed:
                facts_store.add_fact(fact, received_at=accepted_at)
            # The decision the eligibility function keeps beside the facts (read, and
            # skipped, by the score phase's Query of the bucket).
            decision = judge_eligibility(program.rules, parsed, accepted_at)
            facts_store.save_decision(
                parsed[0].creator_id,
                PROGRAM_ID,
                decision.eligible,
                [reason.value for reason in decision.reasons],
                decision.market,
                accepted_at,
                None,
            )
            events += [EngagementEvent.model_validate(event) for event in raw_events]
        EngagementStore(cast(Table, engagement_table)).record(
            events, accepted_at=accepted_at, marker_id="bench-load"
        )
        for table in (engagement_table, facts_table):
            _write(client, table.name, table.items)
        fact_count += len(facts_table.items)
        event_count += len(engagement_table.items)
        done = min(creators, first + chunk)
        if done % max(chunk, creators // 10 // chunk * chunk) == 0 or done == creators:
            progress(f"loaded {done:,}/{creators:,} creators ({event_count:,} events)")
    return Loaded(creators, fact_count, event_count, time.perf_counter() - started)


def _write(client: Any, table: str, items: Sequence[Item]) -> None:
    for start in range(0, len(items), LOAD_CHUNK):
        requests = [
            {"PutRequest": {"Item": to_attributes(item)}}
            for item in items[start : start + LOAD_CHUNK]
        ]
        response = client.batch_write_item(RequestItems={table: requests})
        if response.get("UnprocessedItems"):
            raise RuntimeError("moto left items unprocessed while loading")


# --- the run -------------------------------------------------------------------------------


class InMemoryTasks:
    """The compute queue, in memory: what `send` receives waits in `pending`."""

    def __init__(self) -> None:
        self.pending: list[str] = []
        self.sent = 0

    def send(self, bodies: Sequence[str]) -> None:
        self.pending += bodies
        self.sent += len(bodies)


@dataclass
class Measured:
    phase: str  # start, score, issue
    buckets: list[int]
    wall: float
    cpu: float
    moto_cpu: float
    usage: dict[str, UsageCount]
    sized: dict[str, Capacity]
    put_events: int
    creators: int = 0

    @property
    def total(self) -> UsageCount:
        total = UsageCount()
        for usage in self.usage.values():
            total = total + usage
        return total

    @property
    def sized_total(self) -> Capacity:
        total = Capacity()
        for capacity in self.sized.values():
            total.add(capacity)
        return total


@dataclass
class SizeResult:
    creators: int
    loaded: Loaded
    tasks: list[Measured] = field(default_factory=list)
    moto_memory_mb: float = 0.0
    run_seconds: float = 0.0
    pure_cpu: float = 0.0  # compute_period alone on the same creators' inputs
    pure_wall: float = 0.0

    def phase(self, name: str) -> list[Measured]:
        return [task for task in self.tasks if task.phase == name]


def measure(
    phase: str,
    buckets: list[int],
    action: Callable[[], object],
    context: RunContext,
    recorder: CallRecorder,
    server: MotoServer,
) -> Measured:
    stores = {
        "engagement": context.engagement.table,
        "facts": context.facts.table,
        "rejections": context.rejections.table if context.rejections else None,
        "results": context.results.table,
    }
    before = {name: UsageCount.of(table.usage) for name, table in stores.items() if table}
    put_events = recorder.requests["PutEvents"]
    moto_cpu = server.cpu_seconds()
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    moto_cpu = server.cpu_seconds() - moto_cpu
    after = {name: UsageCount.of(table.usage) for name, table in stores.items() if table}
    return Measured(
        phase=phase,
        buckets=buckets,
        wall=wall,
        cpu=cpu,
        moto_cpu=moto_cpu,
        usage={name: after[name] - before[name] for name in after},
        sized=recorder.drain(),
        put_events=recorder.requests["PutEvents"] - put_events,
    )


def run_size(creators: int, seed: int, patched: bool) -> SizeResult:
    now = datetime.now(UTC)
    period = Period.containing(now).previous()
    with MotoServer(patched=patched) as server:
        emulation = Emulation(endpoint=server.url)
        emulation.start()  # provisions every table, queue and bus of template.yaml
        os.environ.update(emulation.environment(FUNCTION_ID, RULES_DIR))
        progress(f"{creators:,} creators: loading period {period} into {server.url}")
        loaded = load(
            emulation, creators, period, seed, accepted_at=period.end - timedelta(hours=1)
        )
        progress(
            f"{creators:,} creators: loaded {loaded.facts:,} fact items and "
            f"{loaded.events:,} events in {loaded.seconds:,.0f} s; "
            f"moto server {server.memory_mb():,.0f} MB"
        )

        # The worker's context, built as the worker builds it (from its environment),
        # with the recorder on its clients and the compute queue in memory.
        dependencies.forget()
        recorder = CallRecorder()
        recorder.attach(aws_clients.dynamodb())
        recorder.attach(aws_clients.events())
        tasks = InMemoryTasks()
        context = replace(dependencies.for_shards(), tasks=cast(TaskQueue, tasks))
        program = context.programs[PROGRAM_ID]

        result = SizeResult(creators=creators, loaded=loaded)
        started = time.perf_counter()
        holder: dict[str, Any] = {}

        def start() -> None:
            holder["run"] = start_run(program, period, now, "request", "bench", False, context)

        result.tasks.append(measure("start", [], start, context, recorder, server))
        while tasks.pending:
            task = ShardTask.model_validate_json(tasks.pending.pop(0))
            measured = measure(
                task.phase,
                task.shards,
                partial(run_shard_task, task, now, context),
                context,
                recorder,
                server,
            )
            result.tasks.append(measured)
            progress(
                f"{creators:,} creators: {task.phase} {task.shards} in {measured.wall:,.1f} s "
                f"(CPU {measured.cpu:,.1f} s, {measured.total.total_requests:,} requests)"
            )
        result.run_seconds = time.perf_counter() - started
        result.moto_memory_mb = server.memory_mb()
        _check(emulation, holder["run"], period, result)
        result.pure_cpu, result.pure_wall = time_pure_computation(program, period, context)
        progress(
            f"{creators:,} creators: compute_period alone {result.pure_cpu:,.1f} s CPU "
            f"({result.pure_cpu / creators * 1e6:,.0f} us a creator)"
        )
    return result


def time_pure_computation(program: Any, period: Period, context: RunContext) -> tuple[float, float]:
    """The CPU and wall of `compute_period` on the run's creators, with their inputs read
    back from the tables first (not timed): the same creators as the score phase drafts
    (a fact before the period's end, or engagement in it)."""
    creators: dict[str, CreatorInputs] = {}
    for bucket in range(CREATOR_BUCKETS):
        facts = context.facts.shard_facts(Shard.whole(bucket)).facts
        tallies = context.engagement.shard_engagement(period, Shard.whole(bucket), None).tallies
        names = {c for c, found in facts.items() if any(f.occurred_at < period.end for f in found)}
        for creator in names | set(tallies):
            creators[creator] = CreatorInputs(facts.get(creator, []), tallies.get(creator, {}))
    wall, cpu = time.perf_counter(), time.process_time()
    statements = compute_period(program, period, creators)
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    if len(statements) != len(creators):
        raise RuntimeError(f"compute_period: {len(statements)} statements")
    return cpu, wall


def _check(emulation: Emulation, run: Any, period: Period, result: SizeResult) -> None:
    """The run completed, every creator has a statement; creators per task (not counted)."""
    results = ResultsStore(Table(emulation.dynamodb, emulation.table_name("BonusResultsTable")))
    stored = results.run(PROGRAM_ID, period, run.run_id)
    if stored is None or stored.status != "complete":
        raise RuntimeError(f"the run did not complete: {stored and stored.status}")
    ((_, summary),) = results.summaries(PROGRAM_ID, period)
    if summary.creators_evaluated != result.creators:
        raise RuntimeError(f"{summary.creators_evaluated} creators evaluated")
    scored = results.scored_shards(stored)
    for task in result.tasks:
        task.creators = sum(scored[bucket].creators for bucket in task.buckets)
    totals = ", ".join(f"{m.market} {m.total_paid} {m.currency}" for m in summary.markets)
    progress(
        f"{result.creators:,} creators: complete; {summary.creators_eligible:,} eligible, "
        f"{summary.creators_paid:,} paid; {totals}"
    )


# --- the report --------------------------------------------------------------------------


def _sum(tasks: Sequence[Measured], attribute: str) -> float:
    return float(sum(getattr(task, attribute) for task in tasks))


def _usage(tasks: Sequence[Measured]) -> UsageCount:
    total = UsageCount()
    for task in tasks:
        total = total + task.total
    return total


def _sized(tasks: Sequence[Measured]) -> Capacity:
    total = Capacity()
    for task in tasks:
        total.add(task.sized_total)
    return total


def phase_table(results: Sequence[SizeResult]) -> str:
    rows = []
    for result in results:
        for phase in ("start", "score", "issue"):
            tasks = result.phase(phase)
            usage, sized = _usage(tasks), _sized(tasks)
            rows.append(
                [
                    f"{result.creators:,}",
                    phase,
                    len(tasks),
                    _sum(tasks, "wall"),
                    _sum(tasks, "cpu"),
                    max(task.wall for task in tasks),
                    max(task.cpu for task in tasks),
                    _sum(tasks, "moto_cpu"),
                    usage.read_requests,
                    usage.write_requests,
                    float(usage.read_units),
                    float(sized.read_units),
                    float(sized.write_units),
                    sum(task.put_events for task in tasks),
                ]
            )
    return render_table(
        [
            "creators",
            "phase",
            "tasks",
            "wall s",
            "CPU s",
            "max task wall s",
            "max task CPU s",
            "moto CPU s",
            "read req",
            "write req",
            "RCU (moto)",
            "RCU (sizing)",
            "WCU (sizing)",
            "PutEvents",
        ],
        rows,
    )


def headline_table(results: Sequence[SizeResult]) -> str:
    rows = []
    for result in results:
        tasks, n = result.tasks, result.creators
        usage, sized = _usage(tasks), _sized(tasks)
        cpu, wall = _sum(tasks, "cpu"), _sum(tasks, "wall")
        rows.append(
            [
                f"{n:,}",
                n / cpu,
                n / wall,
                cpu / n * 1e6,
                result.pure_cpu / n * 1e6,
                cpu / result.pure_cpu if result.pure_cpu else 0.0,
                usage.read_requests / n,
                float(usage.read_units) / n,
                float(sized.read_units) / n,
                usage.write_requests / n,
                float(sized.write_units) / n,
                sum(task.put_events for task in tasks) / n,
            ]
        )
    return render_table(
        [
            "creators",
            "creators/s/worker (CPU)",
            "creators/s/worker (wall)",
            "CPU us/creator",
            "compute_period CPU us/creator",
            "ratio",
            "read req/creator",
            "RCU/creator (moto)",
            "RCU/creator (sizing)",
            "write req/creator",
            "WCU/creator (sizing)",
            "PutEvents/creator",
        ],
        rows,
    )


def operations_table(results: Sequence[SizeResult]) -> str:
    rows = []
    for result in results:
        for phase in ("score", "issue"):
            usage = _usage(result.phase(phase))
            rows.append(
                [f"{result.creators:,}", phase]
                + [
                    usage.requests.get(operation, 0) / result.creators
                    for operation in (
                        "Query",
                        "GetItem",
                        "BatchWriteItem",
                        "PutItem",
                        "UpdateItem",
                        "TransactWriteItems",
                    )
                ]
            )
    return render_table(
        [
            "creators",
            "phase",
            "Query",
            "GetItem",
            "BatchWriteItem",
            "PutItem",
            "UpdateItem",
            "TransactWriteItems",
        ],
        rows,
    )


def growth_table(small: SizeResult, large: SizeResult) -> str:
    def figures(result: SizeResult) -> list[float]:
        usage = _usage(result.tasks)
        return [
            _sum(result.tasks, "cpu"),
            _sum(result.tasks, "wall"),
            _sum(result.phase("score"), "cpu"),
            _sum(result.phase("issue"), "cpu"),
            float(usage.total_requests),
        ]

    names = ["CPU s", "wall s", "score CPU s", "issue CPU s", "DynamoDB requests"]
    a, b = figures(small), figures(large)
    return render_table(
        ["", f"{small.creators:,}", f"{large.creators:,}", "ratio", "creators ratio"],
        [
            [name, x, y, y / x, large.creators / small.creators]
            for name, x, y in zip(names, a, b, strict=True)
        ],
    )


@dataclass(frozen=True)
class PhaseRates:
    """A phase's per-creator inputs to the extrapolation, measured."""

    phase: str
    cpu: float  # c: CPU seconds per creator
    requests: float  # r: DynamoDB and PutEvents requests per creator
    write_units: float  # w: write units per creator (sizing rules)
    hot_units: float  # h: write units per creator to a task's busiest partition key

    def seconds(self, latency: float) -> float:
        """A task's seconds per creator: c + r x L (one request at a time)."""
        return self.cpu + self.requests * latency


def _requests(task: Measured) -> int:
    return task.total.total_requests + task.put_events


def phase_rates(result: SizeResult) -> list[PhaseRates]:
    """Score and issue per creator; then "finish": what the last issue task did beyond
    an issue task's usual (it finishes the run: summary, payout export, announcement),
    its CPU and requests above the median of the other issue tasks, per creator of the
    run (it reads every statement of the period)."""
    n = result.creators
    issue = result.phase("issue")
    extra_cpu = extra_requests = 0.0
    if len(issue) >= 2:
        last, others = issue[-1], issue[:-1]
        extra_cpu = max(0.0, last.cpu - statistics.median(t.cpu for t in others))
        extra_requests = max(0.0, _requests(last) - statistics.median(map(_requests, others)))
    rates = []
    for phase in ("score", "issue"):
        tasks = result.phase(phase)
        extra = phase == "issue"
        hot = sum(max(c.hottest_partition_write_units for c in t.sized.values()) for t in tasks)
        rates.append(
            PhaseRates(
                phase=phase,
                cpu=(_sum(tasks, "cpu") - (extra_cpu if extra else 0.0)) / n,
                requests=(sum(map(_requests, tasks)) - (extra_requests if extra else 0.0)) / n,
                write_units=float(_sized(tasks).write_units) / n,
                hot_units=hot / n,
            )
        )
    rates.append(PhaseRates("finish", extra_cpu / n, extra_requests / n, 0.0, 0.0))
    return rates


def extrapolation(result: SizeResult, tasks_per_phase: int, concurrency: int) -> str:
    """EXTRAPOLATED, not measured: a task's time = its creators x (c + r x L), with c and
    r measured per phase and L an assumed DynamoDB request latency; write rates = w / (c +
    r x L) per running task."""
    n, target = result.creators, EXTRAPOLATE_TO
    running = min(tasks_per_phase, concurrency)
    waves = -(-tasks_per_phase // concurrency)
    lines = [
        f"EXTRAPOLATION to {target:,} creators from the {n:,}-creator run (not measured).",
        f"A task holds N / {tasks_per_phase} creators and takes N / {tasks_per_phase} x "
        "(c + r x L) s; c = CPU s/creator, r = DynamoDB+PutEvents requests/creator, "
        "L = assumed request latency.",
        f"Phase wall: {waves} waves of {running} tasks (MaximumConcurrency {concurrency}). "
        "N at limit: the run size at which a task reaches "
        + " s / ".join(map(str, TASK_LIMITS_S))
        + " s.",
        f"Write rates: table = {running} tasks x w / (c + r x L); busiest partition key = "
        "h / (c + r x L) (one task writes a bucket's partitions); w, h = write units per "
        "creator (all, busiest key).",
        "finish: the last issue task's CPU and requests above the other issue tasks' median, "
        "per creator of the run; its task = N x finish + N / "
        f"{tasks_per_phase} x issue (one task finishes the whole run).",
    ]
    rows = []
    for latency in ASSUMED_LATENCY_S:
        score, issue, finish = phase_rates(result)
        for rates in (score, issue):
            per_creator = rates.seconds(latency)
            task = target / tasks_per_phase * per_creator
            rows.append(
                [
                    f"{latency * 1000:.0f} ms",
                    rates.phase,
                    rates.cpu * 1e6,
                    rates.requests,
                    rates.write_units,
                    rates.hot_units,
                    task,
                    task * waves / 60,
                    *[tasks_per_phase * limit / per_creator for limit in TASK_LIMITS_S],
                    running * rates.write_units / per_creator,
                    rates.hot_units / per_creator,
                ]
            )
        # The finishing task: its bucket's issuing, then the whole run's finish.
        per_creator = finish.seconds(latency) + issue.seconds(latency) / tasks_per_phase
        rows.append(
            [
                f"{latency * 1000:.0f} ms",
                "finish",
                finish.cpu * 1e6,
                finish.requests,
                "",
                "",
                target * per_creator,
                "",
                *[limit / per_creator for limit in TASK_LIMITS_S],
                "",
                "",
            ]
        )
    table = render_table(
        [
            "L (assumed)",
            "phase",
            "c us/creator",
            "r req/creator",
            "w WCU/creator",
            "h WCU/creator",
            "one task, s",
            "phase wall, min",
            *[f"N at {limit} s task" for limit in TASK_LIMITS_S],
            "table WCU/s",
            "busiest key WCU/s",
        ],
        rows,
    )
    requests = _usage(result.tasks).total_requests / n * target
    units = float(_sized(result.tasks).write_units) / n * target
    return "\n".join(
        [
            *lines,
            "",
            table,
            "",
            f"DynamoDB for {target:,} creators: {requests:,.0f} requests, {units:,.0f} write "
            f"units. Default on-demand limits: {TABLE_WRITE_LIMIT:,} WCU/s a table "
            f"({NEW_TABLE_WRITES:,} for a new table, doubling with use), "
            f"{PARTITION_WRITE_LIMIT:,} WCU/s a partition.",
        ]
    )


def headline(result: SizeResult) -> dict[str, Any]:
    """The figures of one size, for the JSON line."""
    n, tasks = result.creators, result.tasks
    usage, sized = _usage(tasks), _sized(tasks)
    cpu = _sum(tasks, "cpu")
    return {
        "creators": n,
        "write_requests_per_creator": round(usage.write_requests / n, 4),
        "write_units_per_creator": round(float(sized.write_units) / n, 4),
        "read_requests_per_creator": round(usage.read_requests / n, 4),
        "read_units_per_creator": round(float(sized.read_units) / n, 4),
        "cpu_us_per_creator": round(cpu / n * 1e6),
        "pure_cpu_us_per_creator": round(result.pure_cpu / n * 1e6),
        "cpu_over_pure": round(cpu / result.pure_cpu, 2) if result.pure_cpu else None,
        "run_wall_s": round(_sum(tasks, "wall"), 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compute", description=__doc__)
    parser.add_argument(
        "--creators",
        default="10000,100000",
        help="comma-separated creator counts, each run on a fresh emulation",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--json", action="store_true", help="end with one JSON line of the headline figures"
    )
    parser.add_argument(
        "--stock-moto",
        action="store_true",
        help="run on the stock moto server, without bench.common.patch_moto (very slow)",
    )
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.creators.split(",")]

    prepare_process_environment()
    started = time.perf_counter()
    results = [run_size(size, args.seed, not args.stock_moto) for size in sizes]

    from bonus_local.template import load_template

    spec = load_template().function(FUNCTION_ID)
    buckets_per_task = int(spec.environment["BUCKETS_PER_TASK"])
    (sqs_event,) = [event for event in spec.events if event.type == "SQS"]
    concurrency = int(sqs_event.properties["ScalingConfig"]["MaximumConcurrency"])
    tasks_per_phase = -(-CREATOR_BUCKETS // buckets_per_task)

    print(f"bench.compute: creators {', '.join(f'{s:,}' for s in sizes)}; {machine()}")
    print(load_summary())
    print(
        f"{CREATOR_BUCKETS} buckets, {buckets_per_task} a task: {tasks_per_phase} score tasks "
        f"then {tasks_per_phase} issue tasks; MaximumConcurrency {concurrency}"
    )
    for result in results:
        print(
            f"{result.creators:,} creators: {result.loaded.facts:,} fact items and "
            f"{result.loaded.events:,} events loaded in {result.loaded.seconds:,.0f} s; "
            f"run {result.run_seconds:,.0f} s; moto server {result.moto_memory_mb:,.0f} MB"
        )
    print()
    print(phase_table(results))
    print()
    print(headline_table(results))
    print()
    print("DynamoDB requests per creator, by operation:")
    print(operations_table(results))
    if len(results) >= 2:
        print()
        print(growth_table(results[0], results[-1]))
    print()
    print(extrapolation(results[-1], tasks_per_phase, concurrency))
    print()
    print(f"total {time.perf_counter() - started:,.0f} s")
    if args.json:
        figures = headline(results[-1])
        if len(results) > 1:
            figures["sizes"] = [headline(result) for result in results]
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
