"""The period computation, sharded so that it scales past one Lambda's 15 minutes.

A run splits its creators into shards (keys.Shard: the 64 buckets, each split in
`splits` ranges, a number chosen at the start from the creators expected) and moves
through fan-outs of shard tasks on the compute queue:

  start_run --score--> score_shard ... (the last one) settle --issue--> issue_shard
  ... (the last one) --finish--> finish_run --announce--> announce_shard

- `score_shard` reads one shard's facts and month of engagement, drafts each creator's
  statement (eligibility, points, the payout prepared), stores the drafts and the
  shard's market totals;
- the shard that completes the set settles every market (pool rate, budget scale) from
  the totals and fans out the issue tasks;
- `issue_shard` finishes each draft with its market's settlement and writes a new
  revision only where the statement changed;
- the shard that completes the set queues the finishing task, which commits the run
  (its summary, and its revisions become readable), writes the payout file, announces
  the run and fans out the announcements of the revised statements, shard by shard. It
  is a task of its own so that its time (the payout file's merge grows with the
  creators) is not added to a shard's issuing.

Every step is idempotent: a redelivered task recomputes the same drafts and totals
(same keys, same content), shard completion is a set (adding twice changes nothing),
revisions are keyed by the run that wrote them, and announcements are at least once.

Fencing (SPEC 4): the period's state names the run that holds it. Every task checks it
first and, if its run lost the period, writes nothing and is acknowledged. What a run
writes (drafts, shard results, revisions) is keyed by its id and read by nobody until
the run commits: the commit (summary, the period's release, the run added to the
period's `committed_runs`) is one transaction conditional on the run still holding the
period, so a task that loses the period mid-way leaves nothing anyone reads, and
statements are announced only once committed.

Isolation (SPEC 4): a creator whose facts cannot be read, whose computation fails, or
whose statement would be too large to store gets a `held` statement; the run goes on.
"""

import hashlib
from collections.abc import Mapping
from contextlib import ExitStack, suppress
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal
from uuid import uuid4

from aws_lambda_powertools import Logger
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
from bonus_engine.payout import MarketTotals, Settlement
from bonus_engine.payout_export import (
    LatestAmount,
    assemble_payout_export,
    fragment_bytes,
    latest_amount,
    merge_fragments,
)
from bonus_engine.periods import Period, due_periods
from bonus_engine.program_rules import LoadedProgram
from bonus_engine.rejections import RejectionSource, bounded_text
from bonus_engine.statements import (
    HELD,
    Statement,
    StatementDraft,
    StatementRevision,
    finish_statement,
    held_draft,
    held_statement,
    with_revision,
)
from bonus_engine.storage.dynamo import ConditionFailed, StorageError, TransientStorageError
from bonus_engine.storage.engagement_store import BucketEngagement, EngagementStore
from bonus_engine.storage.facts_store import BucketFacts, FactsStore
from bonus_engine.storage.keys import CREATOR_BUCKETS, SLOTS
from bonus_engine.storage.rejections_store import RejectionStore
from bonus_engine.storage.results_store import (
    ACTIVE,
    ANNOUNCED,
    ISSUED,
    SCORED,
    LatestRevision,
    PeriodState,
    ProvisionalSettlement,
    ResultsStore,
    Run,
    RunInProgress,
    RunStatus,
)
from bonus_engine.storage.retention import ENGAGEMENT_DAYS

if TYPE_CHECKING:
    from bonus_engine.storage.export_store import ExportStore
from bonus_engine.timestamps import to_utc_text

logger = Logger(child=True)

STATEMENT_ISSUED = "BonusStatementIssued"
PAYOUT_FILE_READY = "PayoutFileReady"
PERIOD_COMPUTED = "BonusPeriodComputed"
STALE_RUN = timedelta(hours=3)  # a run holding a period longer than this is presumed dead
SCHEDULE_LATENESS = timedelta(hours=24)  # EventBridge and Lambda retry a schedule event so long
SCHEDULE_EARLINESS = timedelta(minutes=5)
RETENTION_MARGIN = timedelta(days=1)  # a run never starts this close to its inputs' expiry
PROVISIONAL = "provisional"  # the trigger of a provisional run
CHANGE_MARGIN = timedelta(minutes=10)  # inputs marked this close before a run are re-read


class ComputeRequest(BaseModel):
    """The detail of `ComputeBonusesRequested`, an operator's on-demand (re)computation."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    program_id: ProgramId
    period: str
    dry_run: StrictBool = False


Phase = Literal["score", "issue", "finish", "announce"]


class ShardTask(BaseModel):
    """A message on the compute queue: one phase of a few shards of one run."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run_id: str
    program_id: str
    period: str
    phase: Phase
    shards: list[int] = Field(min_length=1)


class RefusalReason(StrEnum):
    INVALID_REQUEST = "invalid_request"
    UNKNOWN_PROGRAM = "unknown_program"
    PERIOD_OPEN = "period_open"
    OUTSIDE_PROGRAM = "outside_program"
    INPUTS_EXPIRED = "inputs_expired"
    RUN_IN_PROGRESS = "run_in_progress"


class RequestRefused(ValueError):
    """An on-demand request that cannot be run; `reason` is its code."""

    def __init__(self, reason: RefusalReason, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class ScheduleRefused(ValueError):
    """A schedule event whose time is far from the clock (a replayed or forged event)."""


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
    buckets_per_task: int  # shards a task covers (template: BucketsPerTask)
    retention_days: int = ENGAGEMENT_DAYS  # template: EngagementRetentionDays
    provisional_every: timedelta = timedelta(hours=6)  # template: ProvisionalEveryHours
    exports: "ExportStore | None" = None  # the payout bucket (the workers write it)
    creators_per_task: int = 40_000  # a shard's creators, at most (template: CreatorsPerTask)


@dataclass(frozen=True)
class TaskOutcome:
    """What a shard task did, for the worker's log and metrics."""

    superseded: bool = False
    held: int = 0  # creators held by this task


# --- starting runs ----------------------------------------------------------------------


def run_id_for(trigger_id: str, program_id: str, period: Period) -> str:
    """A run's id, derived from what asked for it (the EventBridge event's id, the
    schedule's event id): a retried start resumes the same run instead of minting one."""
    digest = hashlib.sha256(f"{trigger_id}|{program_id}|{period.name}".encode()).hexdigest()
    return f"{period.name}-{digest[:20]}"


def check_schedule_time(scheduled_at: datetime, now: datetime) -> None:
    """A schedule event fires at its time, and Lambda retries it for at most 6 hours:
    one whose time is far from the clock is refused (SAM CLI's generated event says
    1970-01-01, which would start runs for months that never were)."""
    if not now - SCHEDULE_LATENESS <= scheduled_at <= now + SCHEDULE_EARLINESS:
        raise ScheduleRefused(
            f"schedule time {to_utc_text(scheduled_at)} is not within "
            f"{SCHEDULE_LATENESS} before or {SCHEDULE_EARLINESS} after the clock "
            f"({to_utc_text(now)}): refused"
        )


def start_due_runs(
    scheduled_at: datetime,
    now: datetime,
    window_months: int,
    context: RunContext,
    trigger_id: str | None = None,
) -> list[Run]:
    """The scheduled run: start every period of each program due at `scheduled_at`
    (within the window and the program's season) that has never been computed, or whose
    inputs changed since it last was; and a provisional run of each program's open
    period, at most every `provisional_every`.

    `now` is the clock, not the schedule's `time`: EventBridge gives that to the second,
    and a run's start must be comparable with the instant each event was accepted."""
    check_schedule_time(scheduled_at, now)
    trigger = trigger_id or f"schedule:{to_utc_text(scheduled_at)}"
    started = []
    for program in context.programs.values():
        for period in due_periods(scheduled_at, program.rules.grace_hours, window_months):
            if not program.rules.covers(period) or inputs_expired(
                period, now, context.retention_days
            ):
                continue
            if _needs_run(program, period, now, context):
                try:
                    started.append(
                        start_run(program, period, now, "schedule", trigger, False, context)
                    )
                except RunInProgress:
                    continue
        provisional = _provisional_run(program, scheduled_at, now, trigger, context)
        if provisional is not None:
            started.append(provisional)
    return started


def _provisional_run(
    program: LoadedProgram, scheduled_at: datetime, now: datetime, trigger: str, context: RunContext
) -> Run | None:
    """A dry run of the open period that keeps each market's settlement for the
    creators' estimates; it writes no statement and announces nothing."""
    period = Period.containing(scheduled_at)
    if not program.rules.covers(period):
        return None
    latest = context.results.provisional(program.rules.program_id, period)
    if latest is not None and latest.as_of > now - context.provisional_every:
        return None
    return start_run(program, period, now, "provisional", trigger, True, context)


def inputs_expired(period: Period, now: datetime, retention_days: int) -> bool:
    """Whether a run started now could read engagement of the period that DynamoDB may
    already have deleted (its TTL, less a day's margin for the run itself)."""
    return now >= period.end + timedelta(days=retention_days) - RETENTION_MARGIN


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


def start_requested_run(
    detail: object, now: datetime, context: RunContext, trigger_id: str | None = None
) -> Run:
    """An operator's `ComputeBonusesRequested`: recompute one closed period, or with
    `dry_run` compute it without writing a statement or a summary revision. Raises
    RequestRefused with the reason's code."""
    try:
        request = ComputeRequest.model_validate(detail)
        period = Period.parse(request.period)
    except (ValidationError, ValueError) as error:
        raise RequestRefused(
            RefusalReason.INVALID_REQUEST, f"invalid request: {bounded_text(str(error))[0]}"
        ) from None
    program = context.programs.get(request.program_id)
    if program is None:
        raise RequestRefused(
            RefusalReason.UNKNOWN_PROGRAM, f"unknown program {request.program_id!r}"
        )
    refusal = refusal_for(program, period, now, context.retention_days)
    if refusal is not None:
        raise refusal
    trigger = trigger_id or f"request:{uuid4().hex}"
    try:
        return start_run(program, period, now, "request", trigger, request.dry_run, context)
    except RunInProgress as error:
        raise RequestRefused(RefusalReason.RUN_IN_PROGRESS, str(error)) from None


def refusal_for(
    program: LoadedProgram, period: Period, now: datetime, retention_days: int
) -> RequestRefused | None:
    """Why a request to compute the period would be refused, if it would (the
    coordinator and the API both ask)."""
    if not program.rules.covers(period):
        return RequestRefused(
            RefusalReason.OUTSIDE_PROGRAM,
            f"{period} is outside the program {program.rules.program_id} "
            f"({program.rules.starts or '...'} to {program.rules.ends or '...'})",
        )
    if period.end > now:
        return RequestRefused(RefusalReason.PERIOD_OPEN, f"period {period} has not ended yet")
    if inputs_expired(period, now, retention_days):
        return RequestRefused(
            RefusalReason.INPUTS_EXPIRED,
            f"the engagement of {period} is kept {retention_days} days after the "
            "period ends: it can no longer be recomputed",
        )
    return None


def start_run(
    program: LoadedProgram,
    period: Period,
    now: datetime,
    trigger: str,
    trigger_id: str,
    dry_run: bool,
    context: RunContext,
) -> Run:
    """Start (or, delivered again, resume) the run that `trigger_id` asked for."""
    program_id = program.rules.program_id
    run_id = run_id_for(trigger_id, program_id, period)
    existing = context.results.run(program_id, period, run_id)
    if existing is not None and existing.status != RunStatus.SCORING:
        return existing  # started before, and past its start: nothing to redo
    if dry_run:  # a dry run writes nothing the period keeps, so it needs no hold
        state = context.results.period_state(program_id, period)
    else:
        state = context.results.claim_period(program_id, period, run_id, now, now - STALE_RUN)
    splits = plan_splits(_expected_creators(program_id, period, context), context.creators_per_task)
    run = existing or Run(
        run_id=run_id,
        program_id=program_id,
        period=period,
        rules_hash=program.content_hash,
        trigger=trigger,
        dry_run=dry_run,
        started_at=now,
        late_after=state.first_computed_at if state else None,
        status=RunStatus.SCORING,
        shards=CREATOR_BUCKETS * splits,
        splits=splits,
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


def plan_splits(expected_creators: int, creators_per_task: int) -> int:
    """How many shards to split each bucket into: the fewest (a power of two) that keep
    a shard at most `creators_per_task` creators, were they spread evenly (the hash of
    their id spreads them)."""
    splits = 1
    while splits < SLOTS and expected_creators > CREATOR_BUCKETS * splits * creators_per_task:
        splits *= 2
    return splits


def _expected_creators(program_id: str, period: Period, context: RunContext) -> int:
    """The creators a run should expect: the most that the period's latest summary, the
    month before's, or the period's latest provisional run counted (two Queries and a
    GetItem); 0 for the first run of a program."""
    counts = [
        summaries[-1][1].creators_evaluated
        for month in (period, period.previous())
        if (summaries := context.results.summaries(program_id, month))
    ]
    provisional = context.results.provisional(program_id, period)
    if provisional is not None:
        counts.append(provisional.creators)
    return max(counts, default=0)


def _fan_out(run: Run, phase: Phase, shards: list[int], context: RunContext) -> None:
    """One task for every `buckets_per_task` shards: fewer, larger tasks cost fewer
    requests; more, smaller ones finish sooner in parallel. The shards go out with the
    buckets interleaved (every bucket's first range, then every bucket's second...), so
    that the tasks running together write to different partitions."""
    assert context.tasks is not None
    size = context.buckets_per_task
    shards = sorted(shards, key=lambda index: (index % run.splits, index // run.splits))
    context.tasks.send(
        [
            ShardTask(
                run_id=run.run_id,
                program_id=run.program_id,
                period=run.period.name,
                phase=phase,
                shards=shards[start : start + size],
            ).model_dump_json()
            for start in range(0, len(shards), size)
        ]
    )


# --- the shards -------------------------------------------------------------------------


def run_shard_task(task: ShardTask, now: datetime, context: RunContext) -> TaskOutcome:
    """One task: checks first that its run still holds its period (the fence); a task of
    a superseded or abandoned run writes nothing and is acknowledged."""
    run = context.results.run(task.program_id, Period.parse(task.period), task.run_id)
    if run is None:
        return TaskOutcome(superseded=True)  # no such run: nothing to do, ever
    if not run.dry_run and run.status in ACTIVE and not context.results.holds_period(run):
        context.results.mark_superseded(run)
        return TaskOutcome(superseded=True)
    program = context.programs.get(run.program_id)
    if program is None or program.content_hash != run.rules_hash:
        raise RulesChanged(f"run {run.run_id} started on rules {run.rules_hash}")
    if task.phase == "score":
        return score_shard(run, program, task.shards, context)
    if task.phase == "announce":
        return announce_shard(run, task.shards, context)
    if task.phase == "finish":
        return finish_task(run, program, context)
    return issue_shard(run, program, task.shards, now, context)


def score_shard(
    run: Run, program: LoadedProgram, shards: list[int], context: RunContext
) -> TaskOutcome:
    if run.status != RunStatus.SCORING:
        if run.status == RunStatus.ISSUING and not run.issue_tasks_sent:
            settle_run(run, program, context)  # a settler that failed before its fan-out
        return TaskOutcome()
    held = sum(_score_one(run, program, shard, context) for shard in shards)
    if context.results.mark_shards_done(run, SCORED, shards) == run.shards:
        settle_run(run, program, context)
    return TaskOutcome(held=held)


def _score_one(run: Run, program: LoadedProgram, shard: int, context: RunContext) -> int:
    """Draft every creator of the shard; returns how many were held. A creator whose
    facts cannot be read, whose computation fails or whose statement would be too large
    to store is held (SPEC 4, isolation): the others are drafted as usual."""
    period = run.period
    facts = context.facts.shard_facts(run.shard(shard))
    engagement = context.engagement.shard_engagement(period, run.shard(shard), run.late_after)
    creators = (
        {
            creator
            for creator, creator_facts in facts.facts.items()
            if any(fact.occurred_at < period.end for fact in creator_facts)
        }
        | set(engagement.tallies)
        | facts.unreadable
    )
    drafts = []
    for creator in sorted(creators):
        draft = _draft_or_hold(program, period, creator, facts, engagement, context)
        drafts.append(draft)
    context.results.put_drafts(run, shard, drafts)
    totals = totals_by_market(program, drafts)
    context.results.put_shard_result(
        run,
        SCORED,
        shard,
        ScoredShard(
            markets={name: MarketTotalsRecord.of(t) for name, t in totals.items()},
            events_accepted=engagement.accepted,
            events_late=engagement.late,
            creators=len(drafts),
        ),
    )
    return sum(1 for draft in drafts if draft.held)


def _draft_or_hold(
    program: LoadedProgram,
    period: Period,
    creator: str,
    facts: BucketFacts,
    engagement: BucketEngagement,
    context: RunContext,
) -> StatementDraft:
    if creator not in facts.unreadable:
        try:
            draft = draft_creator(
                program,
                period,
                creator,
                CreatorInputs(facts.facts.get(creator, []), engagement.tallies.get(creator, {})),
            )
            if context.results.fits(draft):
                return draft
        except Exception:  # isolation: one creator's data never stops the others
            logger.exception("creator held while scoring", creator_id=creator)
    return held_draft(program, period, creator)


def settle_run(run: Run, program: LoadedProgram, context: RunContext) -> None:
    """Settle every market from the shards' totals, then issue: buckets without creators
    are done at once, the others fan out. Deterministic, so settling twice is harmless.
    A provisional run keeps its settlement for the estimates and stops here."""
    shards = context.results.scored_shards(run)
    if len(shards) != run.shards:
        raise TransientStorageError(f"{len(shards)} of {run.shards} shard results readable")
    totals: dict[str, MarketTotals] = {}
    for shard in shards.values():
        for name, record in shard.markets.items():
            totals[name] = totals.get(name, MarketTotals()).merge(record.restore())
    settlements = settle_markets(program, totals)
    records = {name: SettlementRecord.of(s) for name, s in settlements.items()}
    if run.trigger == PROVISIONAL:
        context.results.save_provisional(
            run.program_id,
            run.period,
            ProvisionalSettlement(
                run_id=run.run_id,
                as_of=run.started_at,
                settlements=records,
                creators=sum(shard.creators for shard in shards.values()),
            ),
        )
        if context.results.save_settlements(run, records):
            with suppress(ConditionFailed):
                context.results.close_run(replace(run, status=RunStatus.ISSUING), "complete")
        return
    if not context.results.save_settlements(run, records):
        return  # the run has moved past issuing
    run = replace(run, status=RunStatus.ISSUING, settlements=records)
    empty = [index for index, shard in sorted(shards.items()) if shard.creators == 0]
    busy = [index for index, shard in sorted(shards.items()) if shard.creators > 0]
    for index in empty:
        context.results.put_shard_result(run, ISSUED, index, tally_issued([], 0))
    done = context.results.mark_shards_done(run, ISSUED, empty) if empty else len(run.issued)
    if busy:
        _fan_out(run, "issue", busy, context)
        context.results.mark_issue_tasks_sent(run)
    elif done == run.shards:
        finish_run(run, program, context)


def issue_shard(
    run: Run, program: LoadedProgram, shards: list[int], now: datetime, context: RunContext
) -> TaskOutcome:
    if run.status in (RunStatus.COMPLETE, RunStatus.UNCHANGED):
        if run.status == RunStatus.COMPLETE and not run.announced and run.trigger != PROVISIONAL:
            _after_commit(run, program, context)  # the finisher failed before announcing
        return TaskOutcome()
    if run.status == RunStatus.SUPERSEDED:
        return TaskOutcome(superseded=True)
    if run.status != RunStatus.ISSUING or run.settlements is None:
        raise TransientStorageError(f"run {run.run_id} is not settled yet")
    state = context.results.period_state(run.program_id, run.period)
    held = sum(_issue_one(run, program, shard, state, now, context) for shard in shards)
    if context.results.mark_shards_done(run, ISSUED, shards) == run.shards:
        # The set is complete: the finishing task (queued again by a redelivery, or by
        # two tasks completing the set at once: finishing is idempotent)
        _fan_out(run, "finish", [0], context)
    return TaskOutcome(held=held)


def finish_task(run: Run, program: LoadedProgram, context: RunContext) -> TaskOutcome:
    """Commit a run whose shards are all issued, then write its payout file and announce
    it; or, for a committed run a failure left unannounced, what follows the commit."""
    if run.status == RunStatus.ISSUING:
        if len(run.issued) != run.shards:
            raise TransientStorageError(f"run {run.run_id} is not issued yet")
        finish_run(run, program, context)
    elif run.status == RunStatus.COMPLETE and not run.announced and run.trigger != PROVISIONAL:
        _after_commit(run, program, context)
    return TaskOutcome()


def _issue_one(
    run: Run,
    program: LoadedProgram,
    shard: int,
    state: PeriodState | None,
    now: datetime,
    context: RunContext,
) -> int:
    """Finish the shard's drafts; write a revision for each statement that differs from
    the creator's latest committed one (readable once the run commits). Returns the
    creators held."""
    assert run.settlements is not None
    settlements = {name: record.restore() for name, record in run.settlements.items()}
    drafts = context.results.drafts(run, shard)
    committed = state.committed_runs if state else frozenset()
    latest = context.results.latest_revisions(
        run.program_id, run.period, run.shard(shard), committed
    )
    statements = []
    revisions: list[StatementRevision] = []
    for draft in drafts:
        statement = _finish_or_hold(program, draft, settlements, context)
        statements.append(statement)
        current = latest.get(statement.creator_id)
        if run.dry_run or (current is not None and current.digest == statement.digest):
            continue
        revisions.append(with_revision(statement, (current.revision if current else 0) + 1))
    context.results.write_revisions(run, revisions, now)
    if not run.dry_run and context.exports is not None:
        _put_fragment(run, shard, statements, revisions, latest, context)
    context.results.put_shard_result(run, ISSUED, shard, tally_issued(statements, len(revisions)))
    return sum(1 for statement in statements if HELD in statement.flags)


def _put_fragment(
    run: Run,
    shard: int,
    statements: list[Statement],
    revisions: list[StatementRevision],
    latest: Mapping[str, LatestRevision],
    context: RunContext,
) -> None:
    """The shard's part of the payout file: every creator's latest statement once the
    run commits (this run's revision, or the committed one it matched)."""
    assert context.exports is not None
    revised = {revision.creator_id: revision.revision for revision in revisions}
    amounts: list[LatestAmount] = []
    for statement in statements:
        number = revised.get(statement.creator_id) or latest[statement.creator_id].revision
        amounts.append(latest_amount(statement, run.program_id, run.period, number))
    # A creator with a statement but no draft in this run (none is known to happen: a
    # creator's inputs are kept as long as the period can be recomputed) keeps it.
    drafted = {statement.creator_id for statement in statements}
    for kept in context.results.statements_of(
        run.program_id, run.period, [p for c, p in latest.items() if c not in drafted]
    ):
        amounts.append(latest_amount(kept, run.program_id, run.period, kept.revision))
    context.exports.put_fragment(
        run.program_id, run.period, run.run_id, shard, fragment_bytes(amounts)
    )


def announce_shard(run: Run, shards: list[int], context: RunContext) -> TaskOutcome:
    """Announce the revisions a committed run wrote in its shards. A shard announced is
    recorded, so a task delivered again skips it; one that failed mid-way announces the
    shard again (at least once: consumers deduplicate on creator_id and revision)."""
    if run.status != RunStatus.COMPLETE:
        raise TransientStorageError(f"run {run.run_id} is not committed")
    for shard in shards:
        if shard in run.announced_shards:
            continue
        _announce_statements(run, context.results.run_revisions(run, shard), context)
        context.results.mark_shards_done(run, ANNOUNCED, [shard])
    return TaskOutcome()


def _finish_or_hold(
    program: LoadedProgram,
    draft: StatementDraft,
    settlements: Mapping[str, Settlement],
    context: RunContext,
) -> Statement:
    try:
        statement = finish_statement(program, draft, settlements)
        if context.results.fits(statement):
            return statement
    except Exception:  # isolation: one creator's data never stops the others
        logger.exception("creator held while issuing", creator_id=draft.body.creator_id)
    return held_statement(
        program, held_draft(program, Period.parse(draft.body.period), draft.body.creator_id)
    )


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
        context.results.close_run(run, RunStatus.COMPLETE, summary)
        _after_commit(replace(run, status=RunStatus.COMPLETE, summary=summary), program, context)
        return
    digest = summary_digest(summary)
    state = context.results.period_state(run.program_id, run.period)
    revised = sum(shard.revised for shard in issued.values())
    try:
        if revised == 0 and state is not None and state.summary_digest == digest:
            context.results.close_run(run, RunStatus.UNCHANGED)  # same inputs: nothing new
            return
        revision = (state.summary_revision if state else 0) + 1
        # Fenced: the transaction is conditional on the run still holding its period.
        context.results.complete_run(run, summary, digest, revision)
    except ConditionFailed:
        return  # another finisher closed the run (it announces it), or the run lost
        # its period (it writes nothing)
    _after_commit(
        replace(run, status=RunStatus.COMPLETE, summary=summary, summary_revision=revision),
        program,
        context,
    )


def _after_commit(run: Run, program: LoadedProgram, context: RunContext) -> None:
    """What follows a stored summary revision: the payout files of that revision (written
    once: a redelivery writes the same bytes or nothing), then the announcements (the
    statements', fanned out once by shard, and the run's). Runs again if a task finds
    the run complete but not announced."""
    assert run.summary is not None
    export = None
    if not run.dry_run and run.summary_revision is not None and context.exports is not None:
        with_creators = [
            index
            for index, shard in sorted(context.results.issued_shards(run).items())
            if shard.creators
        ]
        with ExitStack() as files:  # the temporary copies of the files merged, and the CSV
            exports = context.exports
            previous = exports.previous_paid(
                run.program_id, run.period, run.summary_revision, files
            )
            fragments = exports.fragments(
                run.program_id, run.period, run.run_id, with_creators, files
            )
            export = assemble_payout_export(
                run.program_id,
                run.period,
                run.summary_revision,
                program.content_hash,
                merge_fragments(fragments),
                previous,
            )
            files.enter_context(export.csv_file)
            exports.write(export)
    if export is not None:
        assert context.publisher is not None
        context.publisher.publish(
            PAYOUT_FILE_READY,
            [
                {
                    "program_id": run.program_id,
                    "period": run.period.name,
                    "revision": export.revision,
                    "csv_key": export.csv_key,
                    "manifest_key": export.manifest_key,
                }
            ],
        )
    if not run.dry_run and not run.announce_tasks_sent:
        revised = [
            index
            for index, shard in sorted(context.results.issued_shards(run).items())
            if shard.revised
        ]
        if revised:
            _fan_out(run, "announce", revised, context)
        context.results.mark_announce_tasks_sent(run)
    _announce_run(run, context)


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
        "creators_held": summary.held,
        "markets": [
            {"market": m.market, "creators": m.creators, "eligible": m.eligible, "paid": m.paid}
            for m in summary.markets
        ],
        "events": summary.events.model_dump(),
    }
