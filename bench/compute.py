"""Period computation benchmark: one run of the sharded computation (score, settle, issue,
finish, announce) for 10,000 and 100,000 creators whose facts and engagement are stored
already, against the emulation (a moto server in a process of its own, provisioned from
template.yaml).

    .venv/bin/python -m bench.compute [--creators 10000,100000] [--json]
        [--creators-per-task N]

The data is loaded straight into the tables, as the stores write it (not measured). The
run's shard tasks then run in this process as the worker runs them: `start_run`, then
`run_shard_task` for each task it (and the tasks after it) queued, until none is left:
the score tasks, the issue tasks, the finishing task (queued by the last issue task: the
summary's transaction, then the merge of the shards' payout-file fragments), then the
announce tasks. The compute queue is an in-memory stand-in (its SendMessageBatch requests
are counted, 10 messages a request, not sent); the tables, the event bus and the payout
bucket are the emulation's, and every DynamoDB, EventBridge and S3 request is counted.
After the run, the finishing task's merge is replayed on the stored fragments (not part
of the run) to measure its memory, and a recomputation's merge (with the previous file);
then the same creators' inputs are read back (not timed) and `compute_period` alone is
timed on them: the pure computation, without storage, beside the sharded run's CPU.
`--json` ends the output with one JSON line of the headline figures. The extrapolation
to 10,000,000 creators is printed last, every figure of it labelled as such.
docs/PERFORMANCE.md explains the figures.
"""

import argparse
import json
import math
import os
import random
import re
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, cast
from unittest import mock

from bench.common import (
    REPOSITORY,
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
    template_indexes,
)
from bonus_engine import aws_clients, bonus_run, dependencies
from bonus_engine.bonus_run import RunContext, ShardTask, plan_splits, run_shard_task, start_run
from bonus_engine.computation import CreatorInputs, compute_period
from bonus_engine.eligibility import judge_eligibility
from bonus_engine.engagement import EngagementEvent
from bonus_engine.facts import parse_fact
from bonus_engine.messaging import ANNOUNCE_IN_FLIGHT, TaskQueue
from bonus_engine.payout_export import (
    SPOOL_BYTES,
    assemble_payout_export,
    merge_fragments,
    payout_csv_key,
    read_payout_csv,
)
from bonus_engine.periods import Period
from bonus_engine.program_rules import load_programs
from bonus_engine.storage.dynamo import Item, Table, to_attributes
from bonus_engine.storage.engagement_store import EngagementStore
from bonus_engine.storage.export_store import FRAGMENT_SPOOL_BYTES
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
ASSUMED_LATENCY_S = (0.005, 0.010)  # one request's latency from Lambda (DynamoDB, S3, ...)
EXTRAPOLATE_TO = 10_000_000
TASK_LIMIT_S = 300  # a comfortable task: a third of the worker's 900 s timeout
RUN_LIMIT_S = 900  # the whole run, first score task to last announcement: 15 minutes
# DynamoDB's default on-demand limits (write units a second)
TABLE_WRITE_LIMIT = 40_000
PARTITION_WRITE_LIMIT = 1_000
NEW_TABLE_WRITES = 4_000  # a new on-demand table at once; it doubles its previous peak
ACCOUNT_CONCURRENCY = 1_000  # Lambda's default concurrent executions, a Region
S3_OPERATIONS = ("PutObject", "GetObject", "ListObjectsV2", "HeadObject")
KB = 1024
MB = 1024 * 1024
# The merge's own memory besides its spools (buffers, the digest, the row being written):
# an allowance (an assumption), not measured apart from the spools.
MERGE_BASE_BYTES = 4 * MB


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
    """The compute queue, in memory: what `send` receives waits in `pending`. Counts the
    SendMessageBatch requests the real queue would take (10 messages a request)."""

    def __init__(self) -> None:
        self.pending: list[str] = []
        self.sent = 0
        self.batches = 0

    def send(self, bodies: Sequence[str]) -> None:
        self.pending += bodies
        self.sent += len(bodies)
        self.batches += -(-len(bodies) // 10)


@dataclass
class Measured:
    phase: str  # start, score, issue, announce
    shards: list[int]
    wall: float
    cpu: float
    moto_cpu: float
    usage: dict[str, UsageCount]  # DynamoDB, by store
    sized: dict[str, Capacity]  # DynamoDB capacity by the sizing rules, by table
    other: dict[str, int]  # other requests: PutEvents, S3's, SendMessageBatch (not sent)
    queued: int = 0  # tasks it queued
    creators: int = 0
    finishing: bool = False  # the task that finished the run (phase "finish")

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

    @property
    def put_events(self) -> int:
        return self.other.get("PutEvents", 0)

    @property
    def s3_requests(self) -> int:
        return sum(self.other.get(operation, 0) for operation in S3_OPERATIONS)

    @property
    def requests(self) -> int:
        """Every request the task waited on: DynamoDB, EventBridge, S3, SQS."""
        return self.total.total_requests + sum(self.other.values())

    def hottest(self, prefix: str) -> int:
        """The write units of its busiest partition key starting with `prefix`."""
        return max(
            (
                units
                for capacity in self.sized.values()
                for key, units in capacity.partition_write_units.items()
                if key.startswith(prefix)
            ),
            default=0,
        )


@dataclass(frozen=True)
class Merge:
    """The finishing task's merge of the fragments into the payout file, replayed after
    the run on the stored fragments: CPU (without tracing) and peak memory (traced)."""

    fragments: int
    fragment_bytes: int
    csv_bytes: int
    cpu: float  # merge and assemble, first revision (fragments already read)
    peak_bytes: int  # read the fragments, merge and assemble, first revision
    recompute_cpu: float  # the same with a previous file: parse it, merge, assemble
    recompute_peak_bytes: int  # read the previous file and the fragments, merge, assemble


@dataclass
class SizeResult:
    creators: int
    loaded: Loaded
    splits: int = 1
    creators_per_task: int = 0
    tasks: list[Measured] = field(default_factory=list)
    moto_memory_mb: float = 0.0
    run_seconds: float = 0.0
    pure_cpu: float = 0.0  # compute_period alone on the same creators' inputs
    pure_wall: float = 0.0
    merge: Merge | None = None

    def phase(self, name: str) -> list[Measured]:
        return [task for task in self.tasks if task.phase == name]

    @property
    def shards(self) -> int:
        return CREATOR_BUCKETS * self.splits

    @property
    def finisher(self) -> Measured | None:
        return next((task for task in self.tasks if task.finishing), None)

    def ordinary_issue(self) -> list[Measured]:
        return self.phase("issue")


def measure(
    phase: str,
    shards: list[int],
    action: Callable[[], object],
    context: RunContext,
    recorder: CallRecorder,
    server: MotoServer,
    queue: InMemoryTasks,
) -> Measured:
    stores = {
        "engagement": context.engagement.table,
        "facts": context.facts.table,
        "rejections": context.rejections.table if context.rejections else None,
        "results": context.results.table,
    }
    dynamodb_operations = set(aws_clients.dynamodb().meta.service_model.operation_names)
    before = {name: UsageCount.of(table.usage) for name, table in stores.items() if table}
    requests = Counter(recorder.requests)
    sent, batches = queue.sent, queue.batches
    moto_cpu = server.cpu_seconds()
    wall, cpu = time.perf_counter(), time.process_time()
    action()
    cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    moto_cpu = server.cpu_seconds() - moto_cpu
    after = {name: UsageCount.of(table.usage) for name, table in stores.items() if table}
    other = {
        name: count
        for name, count in (recorder.requests - requests).items()
        if name not in dynamodb_operations
    }
    if queue.batches > batches:
        other["SendMessageBatch"] = queue.batches - batches
    return Measured(
        phase=phase,
        shards=shards,
        wall=wall,
        cpu=cpu,
        moto_cpu=moto_cpu,
        usage={name: after[name] - before[name] for name in after},
        sized=recorder.drain(),
        other=other,
        queued=queue.sent - sent,
    )


def run_size(creators: int, seed: int, patched: bool, creators_per_task: int | None) -> SizeResult:
    now = datetime.now(UTC)
    period = Period.containing(now).previous()
    with MotoServer(patched=patched) as server, ExitStack() as patches:
        emulation = Emulation(endpoint=server.url)
        emulation.start()  # provisions every table, queue, bus and bucket of template.yaml
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
        recorder = CallRecorder(template_indexes(emulation.template.tables))
        recorder.attach(aws_clients.dynamodb())
        recorder.attach(aws_clients.events())
        recorder.attach(aws_clients.s3())
        tasks = InMemoryTasks()
        context = replace(dependencies.for_shards(), tasks=cast(TaskQueue, tasks))
        if creators_per_task is not None:
            # Planned as a recurring month's run is: expecting the creators the latest
            # summary evaluated (here, those loaded), `creators_per_task` a shard at most.
            context = replace(context, creators_per_task=creators_per_task)
            patches.enter_context(
                mock.patch.object(bonus_run, "_expected_creators", return_value=creators)
            )
        program = context.programs[PROGRAM_ID]

        result = SizeResult(creators=creators, loaded=loaded)
        started = time.perf_counter()
        holder: dict[str, Any] = {}

        def start() -> None:
            holder["run"] = start_run(program, period, now, "request", "bench", False, context)

        measured = measure("start", [], start, context, recorder, server, tasks)
        result.tasks.append(measured)
        result.splits = holder["run"].splits
        result.creators_per_task = context.creators_per_task
        while tasks.pending:
            task = ShardTask.model_validate_json(tasks.pending.pop(0))
            measured = measure(
                task.phase,
                task.shards,
                partial(run_shard_task, task, now, context),
                context,
                recorder,
                server,
                tasks,
            )
            result.tasks.append(measured)
            progress(
                f"{creators:,} creators: {task.phase} {task.shards} in {measured.wall:,.1f} s "
                f"(CPU {measured.cpu:,.1f} s, {measured.requests:,} requests)"
            )
        result.run_seconds = time.perf_counter() - started
        result.moto_memory_mb = server.memory_mb()
        _check(emulation, holder["run"], period, result)
        result.merge = replay_merge(program, period, holder["run"].run_id, context)
        result.pure_cpu, result.pure_wall = time_pure_computation(program, period, context)
        progress(
            f"{creators:,} creators: compute_period alone {result.pure_cpu:,.1f} s CPU "
            f"({result.pure_cpu / creators * 1e6:,.0f} us a creator)"
        )
    return result


def replay_merge(program: Any, period: Period, run_id: str, context: RunContext) -> Merge:
    """The finishing task's merge, again, on the run's stored fragments (not part of the
    run): its CPU without tracing, then its peak memory with tracemalloc, from reading
    the fragments to the file's bytes; and the same for a recomputation, whose finishing
    task also reads and parses the previous revision's file (here: this run's)."""
    assert context.exports is not None
    exports = context.exports
    run = context.results.run(PROGRAM_ID, period, run_id)
    assert run is not None
    assert run.summary_revision is not None
    revision = run.summary_revision
    shards = [i for i, s in sorted(context.results.issued_shards(run).items()) if s.creators]

    def fragments(files: ExitStack) -> list[Any]:
        return exports.fragments(PROGRAM_ID, period, run_id, shards, files)

    def assemble(data: Sequence[Any], previous: Any, number: int) -> Any:
        return assemble_payout_export(
            PROGRAM_ID, period, number, program.content_hash, merge_fragments(data), previous
        )

    with ExitStack() as files:
        read = [copy.read() for copy in fragments(files)]
        stored_copy = exports._download(payout_csv_key(PROGRAM_ID, period, revision), files)
        stored = stored_copy.read() if stored_copy is not None else None
    cpu = time.process_time()
    export = assemble(read, (), revision)
    cpu = time.process_time() - cpu
    csv_bytes = export.csv_bytes
    if stored != csv_bytes:  # the file the run wrote
        raise RuntimeError("the replayed merge differs from the run's payout file")
    recompute_cpu = time.process_time()
    assemble(read, read_payout_csv(csv_bytes.splitlines(keepends=True)), revision + 1)
    recompute_cpu = time.process_time() - recompute_cpu
    fragment_bytes = sum(len(data) for data in read)
    del read

    # Memory as the finishing task spends it: fragments and the previous file copied to
    # temporary files and read a line at a time, the CSV written to one.
    tracemalloc.start()
    try:
        with ExitStack() as files:
            assemble(fragments(files), (), revision).csv_file.close()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        with ExitStack() as files:
            previous = exports.previous_paid(PROGRAM_ID, period, revision + 1, files)
            assemble(fragments(files), previous, revision + 1).csv_file.close()
        recompute_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return Merge(
        fragments=len(shards),
        fragment_bytes=fragment_bytes,
        csv_bytes=len(csv_bytes),
        cpu=cpu,
        peak_bytes=peak,
        recompute_cpu=recompute_cpu,
        recompute_peak_bytes=recompute_peak,
    )


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
    """The run completed and was announced, every creator has a statement; which task
    finished it; creators per task (not counted)."""
    results = ResultsStore(Table(emulation.dynamodb, emulation.table_name("BonusResultsTable")))
    stored = results.run(PROGRAM_ID, period, run.run_id)
    if stored is None or stored.status != "complete" or not stored.announced:
        raise RuntimeError(f"the run did not complete: {stored and stored.status}")
    ((_, summary),) = results.summaries(PROGRAM_ID, period)
    if summary.creators_evaluated != result.creators:
        raise RuntimeError(f"{summary.creators_evaluated} creators evaluated")
    # The finishing task: queued once by the last issue task; it queued the announce
    # tasks (every shard with a creator revised something in a first run).
    finishing = result.phase("finish")
    if len(finishing) != 1:
        raise RuntimeError(f"{len(finishing)} finishing tasks ran")
    finisher = finishing[0]
    finisher.finishing = True
    if len(result.phase("announce")) != finisher.queued:
        raise RuntimeError("the finishing task did not queue the announce tasks")
    if any(task.phase != "announce" for task in result.tasks[result.tasks.index(finisher) + 1 :]):
        raise RuntimeError("a task other than an announcement ran after the finishing task")
    scored = results.scored_shards(stored)
    for task in result.tasks:
        task.creators = sum(scored[shard].creators for shard in task.shards)
    totals = ", ".join(f"{m.market} {m.total_paid} {m.currency}" for m in summary.markets)
    progress(
        f"{result.creators:,} creators: complete; {summary.creators_eligible:,} eligible, "
        f"{summary.creators_paid:,} paid; {totals}"
    )


# --- the report --------------------------------------------------------------------------

PHASES = ("start", "score", "issue", "announce")


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


def _other(tasks: Sequence[Measured], name: str) -> int:
    return sum(task.other.get(name, 0) for task in tasks)


def _groups(result: SizeResult) -> list[tuple[str, list[Measured]]]:
    """The phases, and the finishing task after the issue tasks."""
    groups = [(phase, result.phase(phase)) for phase in PHASES]
    finisher = result.finisher
    if finisher is not None:
        groups.insert(3, ("finishing task", [finisher]))
    return [(name, tasks) for name, tasks in groups if tasks]


def phase_table(results: Sequence[SizeResult]) -> str:
    rows = []
    for result in results:
        for phase, tasks in _groups(result):
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
                    float(sized.read_units),
                    float(sized.write_units),
                    _other(tasks, "PutEvents"),
                    sum(task.s3_requests for task in tasks),
                    _other(tasks, "SendMessageBatch"),
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
            "RCU (sizing)",
            "WCU (sizing)",
            "PutEvents",
            "S3 req",
            "SQS batches",
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
                _other(tasks, "PutEvents") / n,
                sum(task.s3_requests for task in tasks) / n,
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
            "S3 req/creator",
        ],
        rows,
    )


OPERATIONS = (
    "Query",
    "GetItem",
    "BatchGetItem",
    "BatchWriteItem",
    "PutItem",
    "UpdateItem",
    "TransactWriteItems",
)
OTHER_OPERATIONS = ("PutEvents", "PutObject", "GetObject", "ListObjectsV2", "SendMessageBatch")


def operations_table(results: Sequence[SizeResult]) -> str:
    rows = []
    for result in results:
        for phase, tasks in _groups(result):
            if phase == "start":
                continue
            usage = _usage(tasks)
            rows.append(
                [f"{result.creators:,}", phase]
                + [usage.requests.get(operation, 0) / result.creators for operation in OPERATIONS]
                + [_other(tasks, operation) / result.creators for operation in OTHER_OPERATIONS]
            )
    return render_table(["creators", "phase", *OPERATIONS, *OTHER_OPERATIONS], rows)


def merge_table(results: Sequence[SizeResult]) -> str:
    rows = []
    for result in results:
        merge, n = result.merge, result.creators
        if merge is None:
            continue
        rows.append(
            [
                f"{n:,}",
                merge.fragments,
                merge.fragment_bytes / n,
                merge.csv_bytes / n,
                merge.cpu / n * 1e6,
                merge.peak_bytes / n,
                merge.recompute_cpu / n * 1e6,
                merge.recompute_peak_bytes / n,
            ]
        )
    return render_table(
        [
            "creators",
            "fragments",
            "fragment bytes/creator",
            "payout CSV bytes/creator",
            "merge CPU us/creator",
            "peak traced bytes/creator",
            "recomputation: merge CPU us/creator",
            "recomputation: peak bytes/creator",
        ],
        rows,
    )


def growth_table(small: SizeResult, large: SizeResult) -> str:
    def figures(result: SizeResult) -> list[float]:
        usage = _usage(result.tasks)
        finisher = result.finisher
        return [
            _sum(result.tasks, "cpu"),
            _sum(result.tasks, "wall"),
            _sum(result.phase("score"), "cpu"),
            _sum(result.ordinary_issue(), "cpu"),
            finisher.cpu if finisher else 0.0,
            _sum(result.phase("announce"), "cpu"),
            float(usage.total_requests),
        ]

    names = [
        "CPU s",
        "wall s",
        "score CPU s",
        "issue CPU s",
        "finishing task CPU s",
        "announce CPU s",
        "DynamoDB requests",
    ]
    a, b = figures(small), figures(large)
    return render_table(
        ["", f"{small.creators:,}", f"{large.creators:,}", "ratio", "creators ratio"],
        [
            [name, x, y, y / x if x else 0.0, large.creators / small.creators]
            for name, x, y in zip(names, a, b, strict=True)
        ],
    )


def fit_table(small: SizeResult, large: SizeResult) -> str:
    """Each phase's CPU and requests split into a part per task and a part per creator,
    from two sizes run with the same number of tasks (two equations, two unknowns)."""
    rows = []
    groups: list[tuple[str, Callable[[SizeResult], list[Measured]]]] = [
        ("score", lambda result: result.phase("score")),
        ("issue", SizeResult.ordinary_issue),
        ("announce", lambda result: result.phase("announce")),
    ]
    for name, tasks_of in groups:
        a, b = tasks_of(small), tasks_of(large)
        if not a or len(a) != len(b):
            continue
        for what, value in (("CPU", _task_cpu), ("requests", _task_requests)):
            x, y = sum(map(value, a)), sum(map(value, b))
            per_creator = (y - x) / (large.creators - small.creators)
            per_task = (x - per_creator * small.creators) / len(a)
            scale = 1e6 if what == "CPU" else 1.0
            rows.append([name, what, per_task * scale, per_creator * scale])
    return render_table(["phase", "", "per task (us or requests)", "per creator"], rows)


def _task_cpu(task: Measured) -> float:
    return task.cpu


def _task_requests(task: Measured) -> float:
    return float(task.requests)


# --- the extrapolation (not measured) -------------------------------------------------------


@dataclass(frozen=True)
class PhaseRates:
    """A phase's per-creator inputs to the extrapolation, measured."""

    phase: str
    cpu: float  # c: CPU seconds per creator
    requests: float  # r: requests per creator (DynamoDB, PutEvents, S3, SQS)
    write_units: float  # w: write units per creator (sizing rules)
    hot_units: float = 0.0  # h: write units per creator to a task's busiest key of hot_key
    hot_key: str = ""
    overlapped: float = 0.0  # p: the part of r sent `in_flight` at a time (PutEvents)
    in_flight: int = 1

    def seconds(self, latency: float) -> float:
        """A task's seconds per creator: c + (r - p) x L + p x L / in_flight (one request
        at a time, but the announcements' PutEvents, `in_flight` at a time)."""
        alone = self.requests - self.overlapped
        return self.cpu + (alone + self.overlapped / self.in_flight) * latency


@dataclass(frozen=True)
class FinishRates:
    """The finishing task's work, measured: its CPU per creator of the run, and its
    requests split by what they grow with: the shards (a GetObject of each fragment, a
    SendMessageBatch of 10 announce tasks) or nothing (the summary's transaction, the
    payout file's puts, the run's announcements)."""

    phase: str
    cpu: float  # f: CPU s per creator of the run, all of it (an upper bound, see below)
    merge_cpu: float  # the part of f the merge itself takes (replayed without S3)
    shard_cpu: float  # g: the rest of its CPU per shard of the measured run (lower bound)
    shard_requests: float  # q_s: requests per shard
    requests: float  # q_0: the other requests, per run
    naive_requests: float  # q: all of its extra requests per creator of the run

    def seconds(self, creators: float, shards: int, latency: float) -> float:
        """N x f + (S x q_s + q_0) x L."""
        return creators * self.cpu + (shards * self.shard_requests + self.requests) * latency

    def lower_seconds(self, creators: float, shards: int, latency: float) -> float:
        """N x f_merge + S x g + (S x q_s + q_0) x L: all but the merge counted per shard
        (reading a fragment grows with its size too, so this is a lower bound)."""
        return (
            creators * self.merge_cpu
            + shards * self.shard_cpu
            + (shards * self.shard_requests + self.requests) * latency
        )

    def naive_seconds(self, creators: float, latency: float) -> float:
        """N x (f + q x L), its requests per creator of the run too: counts one fragment
        read for every N/S creators of the measured run (156 at 10,000 creators), where a
        large run has one for every N/S of its own (~39,000 at 10 million)."""
        return creators * (self.cpu + self.naive_requests * latency)


@dataclass(frozen=True)
class Rates:
    """What the extrapolation starts from: measured per creator at one size."""

    creators: int
    shards: int
    score: PhaseRates
    issue: PhaseRates  # an ordinary issue task
    announce: PhaseRates
    finish: FinishRates
    recompute_finish: FinishRates  # a recomputation's (the previous file read too)
    memory: float  # the merge's peak traced bytes per creator of the run
    recompute_memory: float
    fragment_disk: float  # bytes per creator of the fragments (the merge's temporary files)
    csv_disk: float  # bytes per creator of the CSV (written to one; a recomputation's
    # previous file is copied to another)


def phase_rates(result: SizeResult) -> Rates:
    """Score, issue and announce per creator; then the finishing task (a task of its
    own): its CPU and requests, split into the merge's CPU per creator of the run
    (replayed), per-shard requests (its GetObject and SendMessageBatch requests),
    per-shard CPU (the rest of its CPU, all of it counted per shard) and the other
    requests. A recomputation adds the replayed CPU of parsing the previous file, and its
    ListObjectsV2 and GetObject."""
    n, shards = result.creators, result.shards
    finisher = result.finisher
    extra_cpu = finisher.cpu if finisher is not None else 0.0
    extra_requests = float(finisher.requests) if finisher is not None else 0.0
    issue = result.phase("issue")

    def rates(phase: str, tasks: Sequence[Measured], key: str = "") -> PhaseRates:
        return PhaseRates(
            phase=phase,
            cpu=_sum(tasks, "cpu") / n,
            requests=_sum(tasks, "requests") / n,
            write_units=float(_sized(tasks).write_units) / n,
            hot_units=sum(task.hottest(key) for task in tasks) / n if key else 0.0,
            hot_key=key,
        )

    merge = result.merge
    per_shard = 0
    if finisher is not None:
        per_shard = finisher.other.get("GetObject", 0) + finisher.other.get("SendMessageBatch", 0)
    finish = FinishRates(
        phase="finish",
        cpu=extra_cpu / n,
        merge_cpu=merge.cpu / n if merge else 0.0,
        shard_cpu=max(0.0, extra_cpu - (merge.cpu if merge else 0.0)) / shards,
        shard_requests=min(per_shard, extra_requests) / shards,
        requests=max(0.0, extra_requests - per_shard),
        naive_requests=extra_requests / n,
    )
    # A recomputation's finishing task also reads the previous revision's file (a list
    # and a get) and parses it: the replayed merge's difference.
    parse_cpu = max(0.0, merge.recompute_cpu - merge.cpu) / n if merge else 0.0
    return Rates(
        creators=n,
        shards=shards,
        score=rates("score", result.phase("score"), "DRAFT#"),
        issue=rates("issue", issue, "STATEMENTS#"),
        announce=replace(
            rates("announce", result.phase("announce")),
            overlapped=sum(task.put_events for task in result.phase("announce")) / n,
            in_flight=ANNOUNCE_IN_FLIGHT,
        ),
        finish=finish,
        recompute_finish=replace(
            finish,
            phase="finish (recomputation)",
            cpu=finish.cpu + parse_cpu,
            merge_cpu=finish.merge_cpu + parse_cpu,
            requests=finish.requests + 2,
            naive_requests=finish.naive_requests + 2 / n,
        ),
        memory=merge.peak_bytes / n if merge else 0.0,
        recompute_memory=merge.recompute_peak_bytes / n if merge else 0.0,
        fragment_disk=merge.fragment_bytes / n if merge else 0.0,
        csv_disk=merge.csv_bytes / n if merge else 0.0,
    )


@dataclass(frozen=True)
class Sizing:
    """EXTRAPOLATED: one run of `creators` at an assumed latency and a concurrency."""

    creators: int
    latency: float
    concurrency: int
    splits: int
    shards: int
    per_task: float  # creators a shard task
    score_s: float
    issue_s: float
    announce_s: float
    finish_s: float  # the finishing task's own work, beyond its shard's issuing
    recompute_finish_s: float
    naive_finish_s: float  # N x (f + q x L), everything per creator of the run
    lower_finish_s: float  # all but the merge per shard
    waves: int
    run_s: float
    table_wcu: float  # the busiest phase, min(shards, concurrency) tasks at once
    statements_wcu: float  # a bucket's STATEMENTS partition: its issue tasks at once
    draft_wcu: float  # a shard's DRAFT partition: one score task
    memory_mb: float  # the finishing task's merge, traced
    recompute_memory_mb: float
    disk_mb: float  # its temporary files, a recomputation's (the previous file too)


def merge_memory(uncapped: float, shards: int, previous: bool) -> float:
    """The merge's memory at most, in bytes: what it took per creator in the measured run
    (everything small enough to stay in memory), capped by its spools: the CSV and the
    previous file in memory up to SPOOL_BYTES each, each fragment up to
    FRAGMENT_SPOOL_BYTES, and a line of each fragment in the k-way merge's heap (1 KB
    counted)."""
    spools = SPOOL_BYTES * (2 if previous else 1) + shards * (FRAGMENT_SPOOL_BYTES + KB)
    return min(uncapped, spools + MERGE_BASE_BYTES)


def sizing(
    rates: Rates, creators: int, latency: float, concurrency: int, creators_per_task: int
) -> Sizing:
    splits = plan_splits(creators, creators_per_task)
    shards = CREATOR_BUCKETS * splits
    per_task = creators / shards
    score, issue, announce = (
        per_task * phase.seconds(latency) for phase in (rates.score, rates.issue, rates.announce)
    )
    finish = rates.finish.seconds(creators, shards, latency)
    waves = math.ceil(shards / concurrency)
    running = min(shards, concurrency)
    return Sizing(
        creators=creators,
        latency=latency,
        concurrency=concurrency,
        splits=splits,
        shards=shards,
        per_task=per_task,
        score_s=score,
        issue_s=issue,
        announce_s=announce,
        finish_s=finish,
        recompute_finish_s=rates.recompute_finish.seconds(creators, shards, latency),
        naive_finish_s=rates.finish.naive_seconds(creators, latency),
        lower_finish_s=rates.finish.lower_seconds(creators, shards, latency),
        waves=waves,
        run_s=waves * (score + issue + announce) + finish,
        table_wcu=running
        * max(p.write_units / p.seconds(latency) for p in (rates.score, rates.issue)),
        statements_wcu=min(splits, concurrency)
        * rates.issue.hot_units
        / rates.issue.seconds(latency),
        draft_wcu=rates.score.hot_units / rates.score.seconds(latency),
        memory_mb=merge_memory(creators * rates.memory, shards, previous=False) / MB,
        recompute_memory_mb=merge_memory(creators * rates.recompute_memory, shards, True) / MB,
        disk_mb=creators * (rates.fragment_disk + 2 * rates.csv_disk) / MB,
    )


def needed_concurrency(
    rates: Rates, creators: int, latency: float, creators_per_task: int
) -> int | None:
    """The least concurrency at which the run takes RUN_LIMIT_S at most: waves x (score +
    issue + announce task) + the finishing task's own work; None if none would do."""
    plan = sizing(rates, creators, latency, 1, creators_per_task)
    wave = plan.score_s + plan.issue_s + plan.announce_s
    waves = math.floor((RUN_LIMIT_S - plan.finish_s) / wave) if wave else plan.shards
    if waves < 1:
        return None
    return math.ceil(plan.shards / min(waves, plan.shards))


@dataclass(frozen=True)
class Deployment:
    concurrency: int  # ShardTasks' MaximumConcurrency
    creators_per_task: int  # CreatorsPerTask
    timeout: int  # the worker's
    memory_mb: int  # the worker's
    ephemeral_mb: int = 512  # the worker's /tmp


def _limits(
    rates: Rates, latency: float, deployment: Deployment
) -> list[tuple[str, Callable[[int], bool]]]:
    """Each limit, as a test of a number of creators (True: the limit is passed)."""
    k, cpt = deployment.concurrency, deployment.creators_per_task

    def at_template(n: int) -> Sizing:
        return sizing(rates, n, latency, k, cpt)

    def at_needed(n: int) -> Sizing | None:
        needed = needed_concurrency(rates, n, latency, cpt)
        return None if needed is None else sizing(rates, n, latency, needed, cpt)

    def needed_passes(n: int, test: Callable[[Sizing], bool]) -> bool:
        plan = at_needed(n)
        return plan is not None and test(plan)

    return [
        (
            f"the run passes {RUN_LIMIT_S // 60} min at MaximumConcurrency {k}",
            lambda n: at_template(n).run_s > RUN_LIMIT_S,
        ),
        (
            f"a score, issue or announce task passes {TASK_LIMIT_S} s",
            lambda n: max((p := at_template(n)).score_s, p.issue_s, p.announce_s) > TASK_LIMIT_S,
        ),
        (
            f"the finishing task passes {TASK_LIMIT_S} s",
            lambda n: at_template(n).finish_s > TASK_LIMIT_S,
        ),
        (
            f"a recomputation's finishing task passes {TASK_LIMIT_S} s",
            lambda n: at_template(n).recompute_finish_s > TASK_LIMIT_S,
        ),
        (
            f"the finishing task passes the worker's {deployment.timeout} s timeout",
            lambda n: at_template(n).finish_s > deployment.timeout,
        ),
        (
            f"a recomputation's finishing task passes {deployment.timeout} s",
            lambda n: at_template(n).recompute_finish_s > deployment.timeout,
        ),
        (
            f"the merge's traced memory passes the worker's {deployment.memory_mb:,} MB",
            lambda n: at_template(n).memory_mb > deployment.memory_mb,
        ),
        (
            f"a recomputation's merge passes {deployment.memory_mb:,} MB",
            lambda n: at_template(n).recompute_memory_mb > deployment.memory_mb,
        ),
        (
            f"a recomputation's temporary files pass the worker's {deployment.ephemeral_mb:,} "
            "MB of /tmp",
            lambda n: at_template(n).disk_mb > deployment.ephemeral_mb,
        ),
        (
            f"no concurrency keeps the run within {RUN_LIMIT_S // 60} min",
            lambda n: at_needed(n) is None,
        ),
        (
            f"the concurrency needed for {RUN_LIMIT_S // 60} min passes {ACCOUNT_CONCURRENCY:,} "
            "(Lambda's default a Region)",
            lambda n: needed_passes(n, lambda p: p.concurrency > ACCOUNT_CONCURRENCY),
        ),
        (
            f"a new table's {NEW_TABLE_WRITES:,} WCU/s, at the concurrency needed",
            lambda n: needed_passes(n, lambda p: p.table_wcu > NEW_TABLE_WRITES),
        ),
        (
            f"the table's {TABLE_WRITE_LIMIT:,} WCU/s, at the concurrency needed",
            lambda n: needed_passes(n, lambda p: p.table_wcu > TABLE_WRITE_LIMIT),
        ),
        (
            f"a bucket's STATEMENTS partition passes {PARTITION_WRITE_LIMIT:,} WCU/s, at the "
            "concurrency needed (before DynamoDB splits it by sort key)",
            lambda n: needed_passes(n, lambda p: p.statements_wcu > PARTITION_WRITE_LIMIT),
        ),
        (
            f"a shard's DRAFT partition passes {PARTITION_WRITE_LIMIT:,} WCU/s",
            lambda n: at_template(n).draft_wcu > PARTITION_WRITE_LIMIT,
        ),
    ]


SCAN_FROM, SCAN_TO, SCAN_STEP = 10_000, 1_000_000_000, 1.01


def first_passed(test: Callable[[int], bool]) -> int | None:
    """The least number of creators (on a 1% grid from 10,000 to a billion) at which the
    test holds; None if it never does."""
    n = float(SCAN_FROM)
    while n <= SCAN_TO:
        if test(round(n)):
            return round(n)
        n *= SCAN_STEP
    return None


def _n(value: int | None) -> str:
    if value is None:
        return f"not below {SCAN_TO:,}"
    return f"{value:,}" + (" (or fewer)" if value == SCAN_FROM else "")


def extrapolation(result: SizeResult, deployment: Deployment) -> str:
    """EXTRAPOLATED, not measured: see the lines printed with it."""
    n, target = result.creators, EXTRAPOLATE_TO
    usage = _usage(result.tasks)
    units = float(_sized(result.tasks).write_units) / n * target
    return "\n".join(
        [
            extrapolate(phase_rates(result), deployment),
            "",
            f"EXTRAPOLATED totals for {target:,} creators: "
            f"{usage.total_requests / n * target:,.0f} DynamoDB requests, {units:,.0f} write "
            f"units, {_other(result.tasks, 'PutEvents') / n * target:,.0f} PutEvents requests. "
            f"Default on-demand limits: {TABLE_WRITE_LIMIT:,} WCU/s a table "
            f"({NEW_TABLE_WRITES:,} for a new table, doubling with use), "
            f"{PARTITION_WRITE_LIMIT:,} WCU/s a partition.",
        ]
    )


def extrapolate(rates: Rates, deployment: Deployment) -> str:
    """The sizing tables, from the measured inputs (EXTRAPOLATED)."""
    n, target = rates.creators, EXTRAPOLATE_TO
    k, cpt = deployment.concurrency, deployment.creators_per_task
    lines = [
        f"EXTRAPOLATION to {target:,} creators from the {n:,}-creator run (not measured; "
        f"every figure below is arithmetic on the measured inputs of this table, with L an "
        "assumed latency of one request from Lambda).",
        f"Shards S = {CREATOR_BUCKETS} x plan_splits(N, CreatorsPerTask {cpt:,}); a task "
        "holds N / S creators and takes N / S x (c + (r - p) x L + p x L / "
        f"{ANNOUNCE_IN_FLIGHT}) s; c = CPU s/creator, r = requests/creator (DynamoDB, "
        "PutEvents, S3, SQS SendMessageBatch), one at a time but p, the announcements' "
        f"PutEvents, {ANNOUNCE_IN_FLIGHT} in flight at once.",
        "The finishing task (a task of its own, queued by the last issue task): upper = N x "
        "f + (S x q_s + q_0) x L, f = all its CPU per creator of the run (it includes what "
        "grows with the shards); lower = N x f_merge + S x g + (S x q_s + q_0) x L, f_merge "
        "= the merge's CPU (replayed), g = the rest per shard of this run; q_s = its "
        "GetObject (one a fragment) and SendMessageBatch requests per shard, q_0 = its other "
        "requests; 'naive' = N x (f + q x L), its requests per creator too. The limits below "
        "use the upper bound. Recomputation: f plus the replayed cost of parsing the previous "
        "file, q_0 + 2 requests (its list and get).",
        f"Run wall = waves x (score + issue + announce task) + finishing task, waves = "
        f"ceil(S / concurrency) (the announce tasks run in waves too); limits: run <= "
        f"{RUN_LIMIT_S} s, every task <= {TASK_LIMIT_S} s.",
        "Write rates: table = min(S, concurrency) x w / (c + r x L) of the busiest phase; a "
        "bucket's STATEMENTS partition = min(splits, concurrency) x h / (c + r x L) (the "
        "splits issue tasks of a bucket are queued together; h = write units per creator "
        "to a task's busiest STATEMENTS key); a shard's DRAFT partition = h / (c + r x L) "
        "of the score phase (one task). Memory: the merge's peak traced bytes per creator "
        "x N, capped by its spools (Python's own allocations; the runtime's baseline is not "
        "included); /tmp: N x (fragment bytes + 2 x CSV bytes) per creator.",
        f"Template: MaximumConcurrency {k}, CreatorsPerTask {cpt:,}, the worker's timeout "
        f"{deployment.timeout} s and {deployment.memory_mb:,} MB.",
        "",
        "Measured inputs (per creator of the run, from this run):",
        render_table(
            [
                "phase",
                "c us/creator",
                "r req/creator",
                "p of r in flight",
                "w WCU/creator",
                "h WCU/creator",
            ],
            [
                [p.phase, p.cpu * 1e6, p.requests, p.overlapped, p.write_units, p.hot_units]
                for p in (rates.score, rates.issue, rates.announce)
            ],
        ),
        render_table(
            [
                "finishing task",
                "f us/creator",
                "of which the merge",
                "g us/shard (the rest)",
                "q_s req/shard",
                "q_0 req",
                "naive: q req/creator",
            ],
            [
                [
                    f.phase,
                    f.cpu * 1e6,
                    f.merge_cpu * 1e6,
                    f.shard_cpu * 1e6,
                    f.shard_requests,
                    f.requests,
                    f.naive_requests,
                ]
                for f in (rates.finish, rates.recompute_finish)
            ],
        ),
        f"Merge memory: {rates.memory:,.0f} bytes per creator (first computation), "
        f"{rates.recompute_memory:,.0f} (recomputation), at most the spools' "
        f"{SPOOL_BYTES // MB} MB (the CSV; and the previous file) + S x "
        f"{FRAGMENT_SPOOL_BYTES // KB} KB (the fragments) + {MERGE_BASE_BYTES // MB} MB; "
        f"temporary files {rates.fragment_disk:,.0f} + {rates.csv_disk:,.0f} bytes per "
        "creator (the fragments + the CSV; a recomputation copies the previous CSV too).",
        "",
    ]
    task_rows: list[list[object]] = []
    run_rows: list[list[object]] = []
    for latency in ASSUMED_LATENCY_S:
        plan = sizing(rates, target, latency, k, cpt)
        needed = needed_concurrency(rates, target, latency, cpt)
        fast = sizing(rates, target, latency, needed, cpt) if needed else None
        label = f"{latency * 1000:.0f} ms"
        # and a program's first run: it has nothing to expect, so 64 shards
        first = sizing(rates, target, latency, k, target)
        for row_label, row in ((label, plan), (f"{label}, first run", first)):
            task_rows.append(
                [
                    row_label,
                    row.shards,
                    row.per_task,
                    row.score_s,
                    row.issue_s,
                    row.announce_s,
                    row.lower_finish_s,
                    row.finish_s,
                    row.naive_finish_s,
                    row.recompute_finish_s,
                    row.memory_mb,
                    row.recompute_memory_mb,
                ]
            )
        for at in (plan, fast):
            if at is None:
                run_rows.append([label, "none", "", "", "", "", "", "no"])
                continue
            run_rows.append(
                [
                    label,
                    at.concurrency,
                    at.waves,
                    at.run_s / 60,
                    at.table_wcu,
                    at.statements_wcu,
                    at.draft_wcu,
                    "yes" if at.run_s <= RUN_LIMIT_S else "no",
                ]
            )
    lines += [
        f"EXTRAPOLATED tasks at {target:,} creators:",
        render_table(
            [
                "L (assumed)",
                "S",
                "creators/task",
                "score task s",
                "issue task s",
                "announce task s",
                "finishing task s, lower",
                "upper",
                "naive",
                "same, recomputation",
                "merge MB",
                "same, recomputation",
            ],
            task_rows,
        ),
        "",
        f"EXTRAPOLATED run at {target:,} creators, at the template's MaximumConcurrency and "
        f"at the least concurrency that keeps the run within {RUN_LIMIT_S // 60} min:",
        render_table(
            [
                "L (assumed)",
                "concurrency",
                "waves",
                "run min",
                "table WCU/s",
                "STATEMENTS partition WCU/s",
                "DRAFT partition WCU/s",
                f"<= {RUN_LIMIT_S // 60} min",
            ],
            run_rows,
        ),
        "",
        "EXTRAPOLATED: the number of creators at which each limit is passed (template "
        "values unless said):",
    ]
    limits = [_limits(rates, latency, deployment) for latency in ASSUMED_LATENCY_S]
    binds = [
        [name] + [_n(first_passed(tests[i][1])) for tests in limits]
        for i, (name, _) in enumerate(limits[0])
    ]
    lines.append(
        render_table(
            ["limit", *(f"L = {latency * 1000:.0f} ms" for latency in ASSUMED_LATENCY_S)],
            binds,
        )
    )
    lines += ["", f"EXTRAPOLATED, {target:,} creators, other CreatorsPerTask values:"]
    rows: list[list[object]] = []
    for latency in ASSUMED_LATENCY_S:
        for per_task in sorted({cpt, 10_000, 20_000, 40_000, 80_000}):
            needed = needed_concurrency(rates, target, latency, per_task)
            plan = sizing(rates, target, latency, needed or k, per_task)
            rows.append(
                [
                    f"{latency * 1000:.0f} ms",
                    per_task,
                    plan.shards,
                    max(plan.score_s, plan.issue_s),
                    needed if needed else "none",
                    plan.run_s / 60,
                    plan.table_wcu,
                    plan.statements_wcu,
                ]
            )
    lines.append(
        render_table(
            [
                "L (assumed)",
                "CreatorsPerTask",
                "S",
                "longest task s",
                f"concurrency for {RUN_LIMIT_S // 60} min",
                "run min",
                "table WCU/s",
                "STATEMENTS partition WCU/s",
            ],
            rows,
        )
    )
    return "\n".join(lines)


def headline(result: SizeResult) -> dict[str, Any]:
    """The figures of one size, for the JSON line."""
    n, tasks = result.creators, result.tasks
    usage, sized = _usage(tasks), _sized(tasks)
    cpu = _sum(tasks, "cpu")
    rates = phase_rates(result)
    return {
        "creators": n,
        "shards": result.shards,
        "splits": result.splits,
        "write_requests_per_creator": round(usage.write_requests / n, 4),
        "write_units_per_creator": round(float(sized.write_units) / n, 4),
        "read_requests_per_creator": round(usage.read_requests / n, 4),
        "read_units_per_creator": round(float(sized.read_units) / n, 4),
        "put_events_per_creator": round(_other(tasks, "PutEvents") / n, 4),
        "s3_requests_per_creator": round(sum(task.s3_requests for task in tasks) / n, 4),
        "cpu_us_per_creator": round(cpu / n * 1e6),
        "pure_cpu_us_per_creator": round(result.pure_cpu / n * 1e6),
        "cpu_over_pure": round(cpu / result.pure_cpu, 2) if result.pure_cpu else None,
        "finishing_cpu_us_per_creator_of_run": round(rates.finish.cpu * 1e6, 1),
        "merge_cpu_us_per_creator": round(rates.finish.merge_cpu * 1e6, 1),
        "merge_peak_bytes_per_creator": round(rates.memory),
        "run_wall_s": round(_sum(tasks, "wall"), 1),
    }


def template_deployment() -> Deployment:
    """MaximumConcurrency (the ShardTasks event source mapping), CreatorsPerTask (the
    parameter's default, as the coordinator's environment gets it), the worker's timeout
    and memory, from template.yaml."""
    from bonus_local.template import load_template

    template = load_template()
    spec = template.function(FUNCTION_ID)
    (sqs_event,) = [event for event in spec.events if event.type == "SQS"]
    concurrency = int(sqs_event.properties["ScalingConfig"]["MaximumConcurrency"])
    found = [
        function.environment["CREATORS_PER_TASK"]
        for function in template.functions.values()
        if "CREATORS_PER_TASK" in function.environment
    ]
    if found:
        creators_per_task = int(found[0])
    else:  # no function is given it: the parameter's default, from the text
        text = (REPOSITORY / "template.yaml").read_text()
        match = re.search(r"^  CreatorsPerTask:\n(?:    .*\n)*?    Default: (\d+)", text, re.M)
        if match is None:
            raise RuntimeError("template.yaml has no CreatorsPerTask default")
        creators_per_task = int(match.group(1))
    return Deployment(
        concurrency, creators_per_task, spec.timeout, spec.memory_size, spec.ephemeral_storage_mb
    )


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
        "--creators-per-task",
        type=int,
        default=None,
        help="plan the run as a recurring month's (expecting the creators loaded) with this "
        "CreatorsPerTask, so that buckets split; default: as a first computation (no "
        "earlier summary: 64 shards)",
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
    results = [
        run_size(size, args.seed, not args.stock_moto, args.creators_per_task) for size in sizes
    ]
    deployment = template_deployment()

    print(f"bench.compute: creators {', '.join(f'{s:,}' for s in sizes)}; {machine()}")
    print(load_summary())
    for result in results:
        print(
            f"{result.creators:,} creators: {result.shards} shards ({CREATOR_BUCKETS} buckets x "
            f"{result.splits}), {result.shards} score tasks, then issue tasks for the shards "
            f"with creators (the last one queues the finishing task), then announce tasks; "
            f"MaximumConcurrency {deployment.concurrency}"
        )
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
    print("Requests per creator, by operation (SendMessageBatch: counted, not sent):")
    print(operations_table(results))
    print()
    print("The finishing task's merge, replayed on the stored fragments after the run:")
    print(merge_table(results))
    if len(results) >= 2:
        print()
        print(growth_table(results[0], results[-1]))
        print()
        print("Per task and per creator, fitted from the two sizes:")
        print(fit_table(results[0], results[-1]))
    print()
    print(extrapolation(results[-1], deployment))
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
