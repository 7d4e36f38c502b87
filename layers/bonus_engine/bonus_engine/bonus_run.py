"""The period computation, sharded so that it scales past one Lambda's 15 minutes.

A run moves through two fan-outs of CREATOR_BUCKETS shard tasks on the compute queue:

  start_run --score x64--> score_shard ... (the last one) settle --issue x64--> issue_shard
  ... (the last one) finish_run

- `score_shard` reads one bucket's facts and month of engagement, drafts each creator's
  statement (eligibility, points, the payout prepared), stores the drafts and the
  bucket's market totals;
- the shard that completes the set settles every market (pool rate, budget scale) from
  the totals and fans out the issue tasks;
- `issue_shard` finishes each draft with its market's settlement, writes a new revision
  only where the statement changed, and announces it;
- the shard that completes the set writes the run summary if anything changed, and
  announces the run.

Every step is idempotent: a redelivered task recomputes the same drafts and totals
(same keys, same content), shard completion is a set (adding twice changes nothing),
revisions are written conditionally on the previous one, and announcements are marked
once made, so a crash between writing and announcing is healed by the redelivery.
"""

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal
from uuid import uuid4

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError

from bonus_engine.computation import (
    CreatorInputs,
    EventCounts,
    MarketTotalsRecord,
    RunSummary,
    ScoredShard,
    SettlementRecord,
    draft_creator,
    settle_markets,
    summarize,
    tally_issued,
    totals_by_market,
)
from bonus_engine.identifiers import ProgramId
from bonus_engine.messaging import EventPublisher, TaskQueue
from bonus_engine.payout import MarketTotals
from bonus_engine.periods import Period, due_periods
from bonus_engine.program_rules import LoadedProgram
from bonus_engine.rejections import RejectionSource
from bonus_engine.statements import StatementRevision, finish_statement
from bonus_engine.storage.dynamo import ConditionFailed, StorageError, TransientStorageError
from bonus_engine.storage.engagement_store import EngagementStore
from bonus_engine.storage.facts_store import FactsStore
from bonus_engine.storage.keys import CREATOR_BUCKETS
from bonus_engine.storage.rejections_store import RejectionStore
from bonus_engine.storage.results_store import (
    ISSUED,
    SCORED,
    LatestRevision,
    ResultsStore,
    Run,
    RunInProgress,
)
from bonus_engine.timestamps import to_utc_text

STATEMENT_ISSUED = "BonusStatementIssued"
PERIOD_COMPUTED = "BonusPeriodComputed"
STALE_RUN = timedelta(hours=3)  # a run holding a period longer than this is presumed dead
CHANGE_MARGIN = timedelta(minutes=10)  # inputs marked this close before a run are re-read


class ComputeRequest(BaseModel):
    """The detail of `ComputeBonusesRequested`, an operator's on-demand (re)computation."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    program_id: ProgramId
    period: str
    dry_run: StrictBool = False


class ShardTask(BaseModel):
    """A message on the compute queue: one phase of a few buckets of one run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str
    program_id: str
    period: str
    phase: Literal["score", "issue"]
    buckets: list[int] = Field(min_length=1)


class RequestRefused(ValueError):
    """An on-demand request that cannot be run (the reason says why)."""


class RulesChanged(StorageError):
    """The deployed rules are not those the run started with: the run cannot finish on
    them. The task fails and ends in the dead-letter queue; the next run starts afresh."""


@dataclass
class RunContext:
    programs: Mapping[str, LoadedProgram]
    engagement: EngagementStore
    facts: FactsStore
    rejections: RejectionStore | None  # the shards count rejections; the coordinator does not
    results: ResultsStore
    tasks: TaskQueue | None  # the coordinator and the workers send; nothing else does
    publisher: EventPublisher | None
    buckets_per_task: int  # creator buckets a shard task covers (template: BucketsPerTask)


# --- starting runs ----------------------------------------------------------------------


def start_due_runs(
    scheduled_at: datetime, now: datetime, window_months: int, context: RunContext
) -> list[Run]:
    """The scheduled run: start every period due at `scheduled_at` (within the window)
    that has never been computed, or whose inputs changed since it last was.

    `now` is the clock, not the schedule's `time`: EventBridge gives that to the second,
    and a run's start must be comparable with the instant each event was accepted."""
    started = []
    for program in context.programs.values():
        for period in due_periods(scheduled_at, program.rules.grace_hours, window_months):
            if _needs_run(program, period, now, context):
                try:
                    started.append(start_run(program, period, now, "schedule", False, context))
                except RunInProgress:
                    continue
    return started


def _needs_run(program: LoadedProgram, period: Period, now: datetime, context: RunContext) -> bool:
    state = context.results.period_state(program.rules.program_id, period)
    if state is None:
        return True
    if state.active_since is not None and state.active_since > now - STALE_RUN:
        return False  # a run is computing it
    if state.last_completed_started_at is None:
        return True
    since = state.last_completed_started_at - CHANGE_MARGIN
    return context.engagement.changed_since(period, since) or context.facts.changed_since(
        period, since
    )


def start_requested_run(detail: object, now: datetime, context: RunContext) -> Run:
    """An operator's `ComputeBonusesRequested`: recompute one closed period, or with
    `dry_run` compute it without writing a statement or a summary revision."""
    try:
        request = ComputeRequest.model_validate(detail)
        period = Period.parse(request.period)
    except (ValidationError, ValueError) as error:
        raise RequestRefused(f"invalid request: {error}") from None
    program = context.programs.get(request.program_id)
    if program is None:
        raise RequestRefused(f"unknown program {request.program_id!r}")
    if period.end > now:
        raise RequestRefused(f"period {period} has not ended yet")
    try:
        return start_run(program, period, now, "request", request.dry_run, context)
    except RunInProgress as error:
        raise RequestRefused(str(error)) from None


def start_run(
    program: LoadedProgram,
    period: Period,
    now: datetime,
    trigger: str,
    dry_run: bool,
    context: RunContext,
) -> Run:
    run_id = f"{now:%Y%m%dT%H%M%SZ}-{uuid4().hex[:10]}"
    program_id = program.rules.program_id
    if dry_run:  # a dry run writes nothing the period keeps, so it needs no hold
        state = context.results.period_state(program_id, period)
    else:
        state = context.results.claim_period(program_id, period, run_id, now, now - STALE_RUN)
    run = Run(
        run_id=run_id,
        program_id=program_id,
        period=period,
        rules_hash=program.content_hash,
        trigger=trigger,
        dry_run=dry_run,
        started_at=now,
        late_after=state.first_computed_at if state else None,
        status="scoring",
        shards=CREATOR_BUCKETS,
        scored=frozenset(),
        issued=frozenset(),
        settlements=None,
        summary=None,
        summary_revision=None,
        announced=False,
    )
    context.results.create_run(run)
    _fan_out(run, "score", list(range(run.shards)), context)
    return run


def _fan_out(
    run: Run, phase: Literal["score", "issue"], buckets: list[int], context: RunContext
) -> None:
    """One task for every `buckets_per_task` buckets: fewer, larger tasks cost fewer
    requests; more, smaller ones finish sooner in parallel."""
    assert context.tasks is not None
    size = context.buckets_per_task
    context.tasks.send(
        [
            ShardTask(
                run_id=run.run_id,
                program_id=run.program_id,
                period=run.period.name,
                phase=phase,
                buckets=buckets[start : start + size],
            ).model_dump_json()
            for start in range(0, len(buckets), size)
        ]
    )


# --- the shards -------------------------------------------------------------------------


def run_shard_task(task: ShardTask, now: datetime, context: RunContext) -> None:
    run = context.results.run(task.program_id, Period.parse(task.period), task.run_id)
    if run is None:
        raise StorageError(f"run {task.run_id} does not exist")
    program = context.programs.get(run.program_id)
    if program is None or program.content_hash != run.rules_hash:
        raise RulesChanged(f"run {run.run_id} started on rules {run.rules_hash}")
    if task.phase == "score":
        score_shard(run, program, task.buckets, context)
    else:
        issue_shard(run, program, task.buckets, now, context)


def score_shard(run: Run, program: LoadedProgram, buckets: list[int], context: RunContext) -> None:
    if run.status != "scoring":
        if run.status == "issuing" and not run.issue_tasks_sent:
            settle_run(run, program, context)  # a settler that failed before its fan-out
        return
    for bucket in buckets:
        _score_bucket(run, program, bucket, context)
    if context.results.mark_shards_done(run, SCORED, buckets) == run.shards:
        settle_run(run, program, context)


def _score_bucket(run: Run, program: LoadedProgram, bucket: int, context: RunContext) -> None:
    period = run.period
    facts = context.facts.bucket_facts(bucket)
    engagement = context.engagement.bucket_engagement(period, bucket, run.late_after)
    creators = {
        creator
        for creator, creator_facts in facts.items()
        if any(fact.occurred_at < period.end for fact in creator_facts)
    } | set(engagement.tallies)
    drafts = [
        draft_creator(
            program,
            period,
            creator,
            CreatorInputs(facts.get(creator, []), engagement.tallies.get(creator, {})),
        )
        for creator in sorted(creators)
    ]
    context.results.put_drafts(run, drafts)
    totals = totals_by_market(program, drafts)
    context.results.put_shard_result(
        run,
        SCORED,
        bucket,
        ScoredShard(
            markets={name: MarketTotalsRecord.of(t) for name, t in totals.items()},
            events_accepted=engagement.accepted,
            events_late=engagement.late,
            creators=len(drafts),
        ),
    )


def settle_run(run: Run, program: LoadedProgram, context: RunContext) -> None:
    """Settle every market from the shards' totals, then issue: buckets without creators
    are done at once, the others fan out. Deterministic, so settling twice is harmless."""
    shards = context.results.scored_shards(run)
    if len(shards) != run.shards:
        raise TransientStorageError(f"{len(shards)} of {run.shards} shard results readable")
    totals: dict[str, MarketTotals] = {}
    for shard in shards.values():
        for name, record in shard.markets.items():
            totals[name] = totals.get(name, MarketTotals()).merge(record.restore())
    settlements = settle_markets(program, totals)
    records = {name: SettlementRecord.of(s) for name, s in settlements.items()}
    if not context.results.save_settlements(run, records):
        return  # the run has moved past issuing
    run = replace(run, status="issuing", settlements=records)
    empty = [bucket for bucket, shard in sorted(shards.items()) if shard.creators == 0]
    busy = [bucket for bucket, shard in sorted(shards.items()) if shard.creators > 0]
    for bucket in empty:
        context.results.put_shard_result(run, ISSUED, bucket, tally_issued([], 0))
    done = context.results.mark_shards_done(run, ISSUED, empty) if empty else len(run.issued)
    if busy:
        _fan_out(run, "issue", busy, context)
        context.results.mark_issue_tasks_sent(run)
    elif done == run.shards:
        finish_run(run, program, context)


def issue_shard(
    run: Run, program: LoadedProgram, buckets: list[int], now: datetime, context: RunContext
) -> None:
    if run.status in ("complete", "unchanged"):
        if run.status == "complete" and not run.announced:
            _announce_run(run, context)  # the finisher failed before announcing
        return
    if run.status != "issuing" or run.settlements is None:
        raise TransientStorageError(f"run {run.run_id} is not settled yet")
    for bucket in buckets:
        _issue_bucket(run, program, bucket, now, context)
    if context.results.mark_shards_done(run, ISSUED, buckets) == run.shards:
        finish_run(run, program, context)


def _issue_bucket(
    run: Run, program: LoadedProgram, bucket: int, now: datetime, context: RunContext
) -> None:
    assert run.settlements is not None
    settlements = {name: record.restore() for name, record in run.settlements.items()}
    drafts = context.results.drafts(run, bucket)
    latest = context.results.latest_revisions(run.program_id, run.period, bucket)
    statements = []
    to_announce: list[LatestRevision] = []
    for draft in drafts:
        statement = finish_statement(program, draft, settlements)
        statements.append(statement)
        if run.dry_run:
            continue
        current = latest.get(statement.creator_id)
        if current is not None and current.digest == statement.digest:
            if not current.announced:
                to_announce.append(current)
            continue
        revision = StatementRevision(
            **statement.model_dump(), revision=(current.revision if current else 0) + 1
        )
        try:
            written = context.results.write_revision(revision, run.run_id, now)
        except ConditionFailed:
            raise TransientStorageError("a statement moved under us; retry the shard") from None
        latest[statement.creator_id] = written
        to_announce.append(written)
    _announce_statements(run, to_announce, context)
    revised = sum(1 for pointer in latest.values() if pointer.run_id == run.run_id)
    context.results.put_shard_result(run, ISSUED, bucket, tally_issued(statements, revised))


def finish_run(run: Run, program: LoadedProgram, context: RunContext) -> None:
    issued = context.results.issued_shards(run)
    scored = context.results.scored_shards(run)
    if len(issued) != run.shards:
        raise TransientStorageError(f"{len(issued)} of {run.shards} shard results readable")
    events = EventCounts(
        accepted=sum(shard.events_accepted for shard in scored.values()),
        rejected=_rejected(context, run.period),
        late=sum(shard.events_late for shard in scored.values()),
    )
    summary = summarize(program, run.period, issued.values(), events)
    if run.dry_run:
        context.results.close_run(run, "complete", summary)
        _announce_run(replace(run, status="complete", summary=summary), context)
        return
    digest = summary_digest(summary)
    state = context.results.period_state(run.program_id, run.period)
    revised = sum(shard.revised for shard in issued.values())
    try:
        if revised == 0 and state is not None and state.summary_digest == digest:
            context.results.close_run(run, "unchanged")  # same inputs: nothing new at all
            return
        revision = (state.summary_revision if state else 0) + 1
        context.results.complete_run(run, summary, digest, revision)
    except ConditionFailed:
        return  # another finisher closed the run; it announces it
    _announce_run(
        replace(run, status="complete", summary=summary, summary_revision=revision), context
    )


def _rejected(context: RunContext, period: Period) -> int:
    assert context.rejections is not None
    return context.rejections.count(RejectionSource.ENGAGEMENT, period)


def summary_digest(summary: RunSummary) -> str:
    return "sha256:" + hashlib.sha256(summary.model_dump_json().encode()).hexdigest()


# --- announcements: ids, counts and flags, never an individual amount --------------------


def _announce_statements(run: Run, revisions: list[LatestRevision], context: RunContext) -> None:
    if not revisions:
        return
    assert context.publisher is not None
    context.publisher.publish(
        STATEMENT_ISSUED,
        [
            {
                "creator_id": revision.creator_id,
                "program_id": run.program_id,
                "period": run.period.name,
                "revision": revision.revision,
                "run_id": revision.run_id,
            }
            for revision in revisions
        ],
    )
    for revision in revisions:
        context.results.mark_announced(run.program_id, run.period, revision)


def _announce_run(run: Run, context: RunContext) -> None:
    assert context.publisher is not None and run.summary is not None
    context.publisher.publish(PERIOD_COMPUTED, [period_computed_detail(run, run.summary)])
    if not run.dry_run:
        context.results.mark_run_announced(run)


def period_computed_detail(run: Run, summary: RunSummary) -> dict[str, Any]:
    """Counts only: a market total could be one creator's amount, so money stays in the
    stored summary, which operators read."""
    return {
        "program_id": run.program_id,
        "period": run.period.name,
        "run_id": run.run_id,
        "dry_run": run.dry_run,
        "summary_revision": run.summary_revision,
        "rules_hash": run.rules_hash,
        "computed_at": to_utc_text(run.started_at),
        "creators_evaluated": summary.creators_evaluated,
        "creators_eligible": summary.creators_eligible,
        "creators_paid": summary.creators_paid,
        "markets": [
            {"market": m.market, "creators": m.creators, "eligible": m.eligible, "paid": m.paid}
            for m in summary.markets
        ],
        "events": summary.events.model_dump(),
    }
