"""The results table: period state, runs and their shard work, statements, summaries.

Items (pk / sk):
- PERIOD#<program>#<period> / STATE: who is computing it, when it was first computed,
  the latest summary revision;
- PERIOD#<program>#<period> / RUN#<run id>: one run (phase, settled markets, shards done);
- PERIOD#<program>#<period> / SUMMARY#<revision>: each distinct run summary, kept;
- RUN#<run id> / SCORED#<bucket> and ISSUED#<bucket>: what each shard added up to;
- DRAFT#<run id>#<bucket> / <creator>: a creator's statement before settlement;
- LATEST#<program>#<period>#<bucket> / <creator>: the latest revision's number and digest;
- STATEMENT#<program>#<period>#<creator> / REV#<revision>: each revision, kept.

Statement bodies and drafts are stored as zlib-compressed JSON: a creator's breakdown by
post can be long, and an item holds at most 400 KB.
"""

import json
import zlib
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from bonus_engine.computation import IssuedShard, RunSummary, ScoredShard, SettlementRecord
from bonus_engine.periods import Period
from bonus_engine.statements import StatementDraft, StatementRevision
from bonus_engine.storage import keys
from bonus_engine.storage.dynamo import ConditionFailed, Item, Table, TransientStorageError
from bonus_engine.storage.retention import RUN_WORK_DAYS, expires_after
from bonus_engine.timestamps import from_utc_text, to_utc_text

SCORED = "scored"
ISSUED = "issued"
DRAFT_LIMIT_BYTES = 300 * 1024  # a packed draft or statement above this is held, never stored
TRANSACTION_BYTES = 3 * 1024 * 1024  # of 4 MB a transaction may hold
REVISIONS_PER_TRANSACTION = 49  # 2 items each, beside the fence's check: 99 of 100


class RunStatus(StrEnum):
    """A run's states. A run moves scoring -> issuing -> complete (or unchanged: it
    changed nothing), or to superseded from scoring or issuing, when another run took
    its period over. Each transition is a conditional update on the state it leaves."""

    SCORING = "scoring"
    ISSUING = "issuing"
    COMPLETE = "complete"
    UNCHANGED = "unchanged"
    SUPERSEDED = "superseded"


ACTIVE = (RunStatus.SCORING, RunStatus.ISSUING)


class RunInProgress(Exception):
    """Another run holds the period."""


class Superseded(Exception):
    """The run no longer holds its period: its task writes nothing more (fencing)."""


@dataclass(frozen=True)
class PeriodState:
    active_run_id: str | None
    active_since: datetime | None
    first_computed_at: datetime | None  # start of the first run that completed
    last_completed_started_at: datetime | None  # start of the latest run that completed
    summary_revision: int
    summary_digest: str | None


@dataclass(frozen=True)
class Run:
    run_id: str
    program_id: str
    period: Period
    rules_hash: str
    trigger: str
    dry_run: bool
    started_at: datetime
    late_after: datetime | None  # events accepted after this instant are late
    status: RunStatus
    shards: int
    scored: frozenset[int]
    issued: frozenset[int]
    settlements: dict[str, SettlementRecord] | None
    summary: RunSummary | None
    summary_revision: int | None
    announced: bool
    issue_tasks_sent: bool = False  # the settler fanned out the issue phase


@dataclass(frozen=True)
class ProvisionalSettlement:
    """What a provisional (dry) run of an open period settled, market by market: the
    pool's amount per point and the budget scale the creators' estimates use."""

    run_id: str
    as_of: datetime  # when the provisional run started
    settlements: dict[str, SettlementRecord]


@dataclass(frozen=True)
class LatestRevision:
    creator_id: str
    revision: int
    digest: str
    run_id: str  # the run that wrote it


def pack(model: BaseModel) -> bytes:
    return zlib.compress(model.model_dump_json().encode(), 6)


def unpack(value: bytes) -> bytes:
    return zlib.decompress(value)


class ResultsStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    # --- period state and runs -------------------------------------------------------

    def period_state(self, program_id: str, period: Period) -> PeriodState | None:
        item = self.table.get(keys.period_state_key(program_id, period))
        return _state(item) if item else None

    def claim_period(
        self, program_id: str, period: Period, run_id: str, now: datetime, stale_before: datetime
    ) -> PeriodState:
        """Take the period for a run: conditional on no other run holding it, on its hold
        being stale, or on the holder being this very run (a retried start resumes it).
        The holder's id is the fencing token every later write of a run is checked
        against. Raises RunInProgress otherwise."""
        try:
            item = self.table.update(
                keys.period_state_key(program_id, period),
                "SET active_run_id = :run, active_since = :now, "
                "summary_revision = if_not_exists(summary_revision, :zero)",
                values={
                    ":run": run_id,
                    ":now": to_utc_text(now),
                    ":stale": to_utc_text(stale_before),
                    ":zero": 0,
                },
                condition="attribute_not_exists(active_run_id) OR active_since < :stale "
                "OR active_run_id = :run",
            )
        except ConditionFailed:
            raise RunInProgress(f"{program_id} {period} is being computed") from None
        return _state(item)

    def provisional(self, program_id: str, period: Period) -> ProvisionalSettlement | None:
        """The latest provisional settlement of a period (one GetItem), if any."""
        item = self.table.get(keys.provisional_key(program_id, period), consistent=False)
        if item is None:
            return None
        return ProvisionalSettlement(
            run_id=item["run_id"],
            as_of=from_utc_text(item["as_of"]),
            settlements={
                name: SettlementRecord.model_validate(record)
                for name, record in json.loads(item["settlements"]).items()
            },
        )

    def save_provisional(
        self, program_id: str, period: Period, provisional: ProvisionalSettlement
    ) -> None:
        """Keep a provisional settlement unless a newer one is stored (conditional on
        `as_of`: a late, older run never replaces a newer one)."""
        text = json.dumps({name: r.model_dump() for name, r in provisional.settlements.items()})
        with suppress(ConditionFailed):
            self.table.put(
                {
                    **keys.provisional_key(program_id, period),
                    "run_id": provisional.run_id,
                    "as_of": to_utc_text(provisional.as_of),
                    "settlements": text,
                },
                condition="attribute_not_exists(pk) OR as_of <= :as_of",
                values={":as_of": to_utc_text(provisional.as_of)},
            )

    def holds_period(self, run: "Run") -> bool:
        """Whether the run still holds its period (a strongly consistent read)."""
        state = self.period_state(run.program_id, run.period)
        return state is not None and state.active_run_id == run.run_id

    def mark_superseded(self, run: "Run") -> None:
        """Record that the run lost its period (for operators; the fence itself is the
        period's holder). Conditional on the run still being active."""
        with suppress(ConditionFailed):
            self.table.update(
                keys.run_key(run.program_id, run.period, run.run_id),
                "SET #status = :superseded",
                values={
                    ":superseded": RunStatus.SUPERSEDED.value,
                    ":scoring": RunStatus.SCORING.value,
                    ":issuing": RunStatus.ISSUING.value,
                },
                names={"#status": "status"},
                condition="#status IN (:scoring, :issuing)",
            )

    def create_run(self, run: Run) -> None:
        item: Item = {
            **keys.run_key(run.program_id, run.period, run.run_id),
            "run_id": run.run_id,
            "program_id": run.program_id,
            "period": run.period.name,
            "rules_hash": run.rules_hash,
            "trigger": run.trigger,
            "dry_run": run.dry_run,
            "started_at": to_utc_text(run.started_at),
            "late_after": to_utc_text(run.late_after) if run.late_after else None,
            "status": run.status,
            "shards": run.shards,
            "announced": False,
        }
        if run.dry_run:
            item["expires_at"] = expires_after(run.started_at, RUN_WORK_DAYS)
        # A run id derives from what asked for the run: a retried start finds it there.
        with suppress(ConditionFailed):
            self.table.put(item, condition="attribute_not_exists(pk)")

    def run(self, program_id: str, period: Period, run_id: str) -> Run | None:
        item = self.table.get(keys.run_key(program_id, period, run_id))
        return _run(item) if item else None

    def mark_shards_done(self, run: Run, phase: str, buckets: Sequence[int]) -> int:
        """Add the buckets to the phase's done set (a set: adding twice changes nothing);
        returns how many buckets of the phase are done."""
        item = self.table.update(
            keys.run_key(run.program_id, run.period, run.run_id),
            f"ADD {phase} :buckets",
            values={":buckets": set(buckets)},
        )
        return len(item.get(phase, ()))

    def save_settlements(self, run: Run, settlements: dict[str, SettlementRecord]) -> bool:
        """Record the markets' settlement and move the run to issuing. Deterministic, so
        a second settler writes the same; returns False if the run already moved on."""
        text = json.dumps({name: record.model_dump() for name, record in settlements.items()})
        try:
            self.table.update(
                keys.run_key(run.program_id, run.period, run.run_id),
                "SET settlements = :settlements, #status = :issuing",
                values={":settlements": text, ":issuing": "issuing", ":scoring": "scoring"},
                names={"#status": "status"},
                condition="#status IN (:scoring, :issuing)",
            )
        except ConditionFailed:
            return False
        return True

    def put_shard_result(
        self, run: Run, phase: str, bucket: int, result: ScoredShard | IssuedShard
    ) -> None:
        # Naturally idempotent: the shard's own key, recomputed from the same data.
        self.table.put(
            {
                **keys.shard_result_key(run.run_id, phase, bucket),
                "result": result.model_dump_json(),
                "expires_at": expires_after(run.started_at, RUN_WORK_DAYS),
            }
        )

    def scored_shards(self, run: Run) -> dict[int, ScoredShard]:
        return {
            _bucket_of(item): ScoredShard.model_validate_json(item["result"])
            for item in self.table.query(
                keys.shard_results_partition(run.run_id), prefix="SCORED#", consistent=True
            )
        }

    def issued_shards(self, run: Run) -> dict[int, IssuedShard]:
        return {
            _bucket_of(item): IssuedShard.model_validate_json(item["result"])
            for item in self.table.query(
                keys.shard_results_partition(run.run_id), prefix="ISSUED#", consistent=True
            )
        }

    def complete_run(self, run: Run, summary: RunSummary, digest: str, revision: int) -> None:
        """Store a new summary revision, release the period and close the run, in one
        transaction. Conditional on the revision being new: a second finisher fails."""
        now_text = to_utc_text(run.started_at)
        self.table.transact(
            [
                {
                    "Put": {
                        "Item": {
                            **keys.summary_key(run.program_id, run.period, revision),
                            "run_id": run.run_id,
                            "digest": digest,
                            "summary": summary.model_dump_json(),
                            "started_at": now_text,
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {
                    "Update": {
                        "Key": keys.period_state_key(run.program_id, run.period),
                        "UpdateExpression": "SET summary_revision = :revision, "
                        "summary_digest = :digest, last_completed_started_at = :started, "
                        "first_computed_at = if_not_exists(first_computed_at, :started) "
                        "REMOVE active_run_id, active_since",
                        "ConditionExpression": "active_run_id = :run",
                        "ExpressionAttributeValues": {
                            ":revision": revision,
                            ":digest": digest,
                            ":started": now_text,
                            ":run": run.run_id,
                        },
                    }
                },
                self._close_run(run, "complete", summary, revision),
            ]
        )

    def close_run(
        self, run: Run, status: RunStatus | str, summary: RunSummary | None = None
    ) -> None:
        """Close a run that writes no summary revision (unchanged, or a dry run)."""
        actions: list[dict[str, Any]] = [self._close_run(run, status, summary, None)]
        if not run.dry_run:
            actions.append(
                {
                    "Update": {
                        "Key": keys.period_state_key(run.program_id, run.period),
                        "UpdateExpression": "SET last_completed_started_at = :started, "
                        "first_computed_at = if_not_exists(first_computed_at, :started) "
                        "REMOVE active_run_id, active_since",
                        "ConditionExpression": "active_run_id = :run",
                        "ExpressionAttributeValues": {
                            ":run": run.run_id,
                            ":started": to_utc_text(run.started_at),
                        },
                    }
                }
            )
        self.table.transact(actions)

    def _close_run(
        self, run: Run, status: RunStatus | str, summary: RunSummary | None, revision: int | None
    ) -> dict[str, Any]:
        assignments = ["#status = :status"]
        values: dict[str, Any] = {":status": str(status), ":issuing": RunStatus.ISSUING.value}
        if summary is not None:
            assignments.append("summary = :summary")
            values[":summary"] = summary.model_dump_json()
        if revision is not None:
            assignments.append("summary_revision = :revision")
            values[":revision"] = revision
        return {
            "Update": {
                "Key": keys.run_key(run.program_id, run.period, run.run_id),
                "UpdateExpression": "SET " + ", ".join(assignments),
                "ConditionExpression": "#status = :issuing",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": values,
            }
        }

    def mark_issue_tasks_sent(self, run: Run) -> None:
        """The issue phase was fanned out: a score task delivered again from now on has
        nothing left to do (before, it settles and fans out again, in case the settler
        failed halfway)."""
        self.table.update(
            keys.run_key(run.program_id, run.period, run.run_id),
            "SET issue_tasks_sent = :yes",
            values={":yes": True},
        )

    def mark_run_announced(self, run: Run) -> None:
        self.table.update(
            keys.run_key(run.program_id, run.period, run.run_id),
            "SET announced = :yes",
            values={":yes": True},
        )

    def summaries(self, program_id: str, period: Period) -> list[tuple[int, RunSummary]]:
        """Every stored summary revision of the period, oldest first."""
        return [
            (
                int(item["sk"].removeprefix("SUMMARY#")),
                RunSummary.model_validate_json(item["summary"]),
            )
            for item in self.table.query(
                keys.period_partition(program_id, period), prefix="SUMMARY#", consistent=True
            )
        ]

    # --- drafts ------------------------------------------------------------------------

    @staticmethod
    def fits(model: BaseModel) -> bool:
        """Whether a draft or statement can be stored (a creator with tens of thousands
        of posts in a month cannot: that creator is held)."""
        return len(pack(model)) <= DRAFT_LIMIT_BYTES

    def put_drafts(self, run: Run, drafts: Sequence[StatementDraft]) -> None:
        # Naturally idempotent: each creator's own key, recomputed from the same data.
        expires_at = expires_after(run.started_at, RUN_WORK_DAYS)
        self.table.batch_put(
            [
                {
                    **keys.draft_key(run.run_id, draft.body.creator_id),
                    "draft": pack(draft),
                    "expires_at": expires_at,
                }
                for draft in drafts
            ]
        )

    def drafts(self, run: Run, bucket: int) -> list[StatementDraft]:
        return [
            StatementDraft.model_validate_json(unpack(item["draft"]))
            for item in self.table.query(keys.draft_partition(run.run_id, bucket), consistent=True)
        ]

    # --- statements --------------------------------------------------------------------

    def latest_revisions(
        self, program_id: str, period: Period, bucket: int
    ) -> dict[str, LatestRevision]:
        return {
            item["sk"]: LatestRevision(
                creator_id=item["sk"],
                revision=int(item["revision"]),
                digest=item["digest"],
                run_id=item["run_id"],
            )
            for item in self.table.query(
                keys.latest_partition(program_id, period, bucket), consistent=True
            )
        }

    def write_revisions(
        self, run: "Run", statements: Sequence[StatementRevision], issued_at: datetime
    ) -> list[LatestRevision]:
        """Write new statement revisions and move each creator's latest pointer to them,
        fenced: each TransactWriteItems checks that the run still holds its period
        (`active_run_id` on the period's state) beside up to 49 creators' revision (a new
        item) and pointer (conditional on the revision before). All or nothing: readers
        follow the pointers, so they never see a revision half-written, and a task of a
        superseded run writes nothing (raises Superseded). A pointer that moved under
        the task (another delivery of it got there first) raises TransientStorageError:
        the redelivery finds the revisions written and skips them."""
        written: list[LatestRevision] = []
        chunk: list[tuple[StatementRevision, bytes]] = []
        size = 0
        for statement in statements:
            packed = pack(statement)
            if chunk and (
                len(chunk) == REVISIONS_PER_TRANSACTION or size + len(packed) > TRANSACTION_BYTES
            ):
                written += self._write_chunk(run, chunk, issued_at)
                chunk, size = [], 0
            chunk.append((statement, packed))
            size += len(packed)
        if chunk:
            written += self._write_chunk(run, chunk, issued_at)
        return written

    def _write_chunk(
        self, run: "Run", chunk: list[tuple[StatementRevision, bytes]], issued_at: datetime
    ) -> list[LatestRevision]:
        actions: list[dict[str, Any]] = [
            {
                "ConditionCheck": {
                    "Key": keys.period_state_key(run.program_id, run.period),
                    "ConditionExpression": "active_run_id = :run",
                    "ExpressionAttributeValues": {":run": run.run_id},
                }
            }
        ]
        written = []
        for statement, packed in chunk:
            key = keys.statement_key(
                statement.program_id, run.period, statement.creator_id, statement.revision
            )
            latest = LatestRevision(
                statement.creator_id, statement.revision, statement.digest, run.run_id
            )
            previous = statement.revision - 1
            pointer: dict[str, Any] = {
                "Item": _latest_item(statement.program_id, run.period, latest),
                "ConditionExpression": "attribute_not_exists(pk)"
                if previous == 0
                else "revision = :previous",
            }
            if previous:
                pointer["ExpressionAttributeValues"] = {":previous": previous}
            actions += [
                {
                    "Put": {
                        "Item": {
                            **key,
                            "creator_id": statement.creator_id,
                            "revision": statement.revision,
                            "digest": statement.digest,
                            "run_id": run.run_id,
                            "issued_at": to_utc_text(issued_at),
                            "statement": packed,
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Put": pointer},
            ]
            written.append(latest)
        try:
            self.table.transact(actions)
        except ConditionFailed as failure:
            if 0 in failure.failed:
                raise Superseded(f"run {run.run_id} no longer holds {run.period}") from None
            raise TransientStorageError("a statement moved under the task; retry it") from None
        return written

    def statement(
        self, program_id: str, period: Period, creator_id: str, revision: int
    ) -> StatementRevision | None:
        item = self.table.get(keys.statement_key(program_id, period, creator_id, revision))
        if item is None:
            return None
        return StatementRevision.model_validate_json(unpack(item["statement"]))

    def revisions(
        self, program_id: str, period: Period, creator_id: str
    ) -> list[StatementRevision]:
        """Every revision of one creator's statement, oldest first (one Query)."""
        partition = keys.statement_key(program_id, period, creator_id, 0)["pk"]
        return [
            StatementRevision.model_validate_json(unpack(item["statement"]))
            for item in self.table.query(partition, consistent=True)
        ]

    def latest_statements(self, program_id: str, period: Period) -> list[StatementRevision]:
        """Every creator's latest statement revision, sorted by creator_id."""
        found = []
        for bucket in range(keys.CREATOR_BUCKETS):
            pointers = self.latest_revisions(program_id, period, bucket)
            statement_keys = [
                keys.statement_key(program_id, period, p.creator_id, p.revision)
                for p in pointers.values()
            ]
            found += [
                StatementRevision.model_validate_json(unpack(item["statement"]))
                for item in self.table.batch_get(statement_keys)
            ]
        return sorted(found, key=lambda statement: statement.creator_id)


def _latest_item(program_id: str, period: Period, latest: LatestRevision) -> Item:
    return {
        **keys.latest_key(program_id, period, latest.creator_id),
        "revision": latest.revision,
        "digest": latest.digest,
        "run_id": latest.run_id,
    }


def _bucket_of(item: Item) -> int:
    return int(item["sk"].split("#", 1)[1])


def _optional_time(text: str | None) -> datetime | None:
    return from_utc_text(text) if text else None


def _state(item: Item) -> PeriodState:
    return PeriodState(
        active_run_id=item.get("active_run_id"),
        active_since=_optional_time(item.get("active_since")),
        first_computed_at=_optional_time(item.get("first_computed_at")),
        last_completed_started_at=_optional_time(item.get("last_completed_started_at")),
        summary_revision=int(item.get("summary_revision", 0)),
        summary_digest=item.get("summary_digest"),
    )


def _run(item: Item) -> Run:
    settlements = None
    if item.get("settlements"):
        settlements = {
            name: SettlementRecord.model_validate(record)
            for name, record in json.loads(item["settlements"]).items()
        }
    return Run(
        run_id=item["run_id"],
        program_id=item["program_id"],
        period=Period.parse(item["period"]),
        rules_hash=item["rules_hash"],
        trigger=item["trigger"],
        dry_run=item["dry_run"],
        started_at=from_utc_text(item["started_at"]),
        late_after=_optional_time(item.get("late_after")),
        status=RunStatus(item["status"]),
        shards=int(item["shards"]),
        scored=frozenset(int(b) for b in item.get(SCORED, ())),
        issued=frozenset(int(b) for b in item.get(ISSUED, ())),
        settlements=settlements,
        summary=RunSummary.model_validate_json(item["summary"]) if item.get("summary") else None,
        summary_revision=int(item["summary_revision"]) if item.get("summary_revision") else None,
        announced=item["announced"],
        issue_tasks_sent=bool(item.get("issue_tasks_sent", False)),
    )
