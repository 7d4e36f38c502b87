"""The results table: period state, runs and their shard work, statements, summaries.

Items (pk / sk):
- PERIOD#<program>#<period> / STATE: who is computing it, when it was first computed,
  the latest summary revision;
- PERIOD#<program>#<period> / RUN#<run id>: one run (phase, settled markets, shards done);
- PERIOD#<program>#<period> / SUMMARY#<revision>: each distinct run summary, kept;
- RUN#<run id> / SCORED#<shard> and ISSUED#<shard>: what each shard added up to;
- DRAFT#<run id>#<shard> / <chunk>: the shard's statements before settlement, packed;
- STATEMENTS#<program>#<period>#<bucket> / <slot>#<creator>#<revision>#<run id>: each
  statement revision, kept; readable once its run is one of the period's
  `committed_runs` (the period's state), which the run's summary transaction adds it to.

Statement bodies and drafts are stored as zlib-compressed JSON: a creator's breakdown by
post can be long, and an item holds at most 400 KB.

Revisions are plain batched puts, not transactions (1 write unit each instead of 2 for
the revision and 2 for a pointer): a revision only becomes visible when its run commits,
fenced by the summary's transaction, so a run that loses its period mid-way leaves
revisions nobody reads, and a redelivered task puts the same items again.
"""

import json
import zlib
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, TypeAdapter

from bonus_engine.computation import IssuedShard, RunSummary, ScoredShard, SettlementRecord
from bonus_engine.periods import Period
from bonus_engine.statements import StatementDraft, StatementRevision
from bonus_engine.storage import keys
from bonus_engine.storage.dynamo import ConditionFailed, Item, Table
from bonus_engine.storage.retention import RUN_WORK_DAYS, expires_after
from bonus_engine.timestamps import from_utc_text, to_utc_text

SCORED = "scored"
ISSUED = "issued"
ANNOUNCED = "announced_shards"
DRAFT_LIMIT_BYTES = 300 * 1024  # a packed draft or statement above this is held, never stored
_DRAFTS = TypeAdapter(list[StatementDraft])
DRAFT_CHUNK_BYTES = 48 * 1024  # drafts packed together up to this (compressed) per item


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


@dataclass(frozen=True)
class PeriodState:
    active_run_id: str | None
    active_since: datetime | None
    first_computed_at: datetime | None  # start of the first run that completed
    last_completed_started_at: datetime | None  # start of the latest run that completed
    summary_revision: int
    summary_digest: str | None
    committed_runs: frozenset[str] = frozenset()  # runs whose revisions are readable


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
    shards: int  # CREATOR_BUCKETS x splits
    scored: frozenset[int]
    issued: frozenset[int]
    settlements: dict[str, SettlementRecord] | None
    summary: RunSummary | None
    summary_revision: int | None
    announced: bool
    issue_tasks_sent: bool = False  # the settler fanned out the issue phase
    splits: int = 1  # each bucket split in this many shards (keys.Shard)
    announce_tasks_sent: bool = False  # the committed run fanned out its announcements
    announced_shards: frozenset[int] = frozenset()  # shards whose statements were announced

    def shard(self, index: int) -> keys.Shard:
        return keys.Shard(index, self.splits)


@dataclass(frozen=True)
class ProvisionalSettlement:
    """What a provisional (dry) run of an open period settled, market by market: the
    pool's amount per point and the budget scale the creators' estimates use."""

    run_id: str
    as_of: datetime  # when the provisional run started
    settlements: dict[str, SettlementRecord]
    creators: int = 0  # the creators it scored (what the month's run should expect)


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
            creators=int(item.get("creators", 0)),
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
                    "creators": provisional.creators,
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
            "splits": run.splits,
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

    def mark_shards_done(self, run: Run, phase: str, shards: Sequence[int]) -> int:
        """Add the shards to the phase's done set (a set: adding twice changes nothing);
        returns how many shards of the phase are done."""
        item = self.table.update(
            keys.run_key(run.program_id, run.period, run.run_id),
            f"ADD {phase} :shards",
            values={":shards": set(shards)},
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
        self, run: Run, phase: str, shard: int, result: ScoredShard | IssuedShard
    ) -> None:
        # Naturally idempotent: the shard's own key, recomputed from the same data.
        self.table.put(
            {
                **keys.shard_result_key(run.run_id, phase, run.shard(shard)),
                "result": result.model_dump_json(),
                "expires_at": expires_after(run.started_at, RUN_WORK_DAYS),
            }
        )

    def scored_shards(self, run: Run) -> dict[int, ScoredShard]:
        return {
            _shard_of(item): ScoredShard.model_validate_json(item["result"])
            for item in self.table.query(
                keys.shard_results_partition(run.run_id), prefix="SCORED#", consistent=True
            )
        }

    def issued_shards(self, run: Run) -> dict[int, IssuedShard]:
        return {
            _shard_of(item): IssuedShard.model_validate_json(item["result"])
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
                        "ADD committed_runs :runs "
                        "REMOVE active_run_id, active_since",
                        "ConditionExpression": "active_run_id = :run",
                        "ExpressionAttributeValues": {
                            ":revision": revision,
                            ":digest": digest,
                            ":started": now_text,
                            ":run": run.run_id,
                            ":runs": {run.run_id},
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

    def mark_announce_tasks_sent(self, run: Run) -> None:
        """The statements' announcements were fanned out: a finisher run again does not
        send them twice."""
        self.table.update(
            keys.run_key(run.program_id, run.period, run.run_id),
            "SET announce_tasks_sent = :yes",
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

    def put_drafts(self, run: Run, shard: int, drafts: Sequence[StatementDraft]) -> None:
        """A shard's drafts, packed together a chunk an item (a write unit holds several
        drafts, and they compress better together). Naturally idempotent: the same
        drafts, in creator order, give the same chunks under the same keys."""
        partition = keys.draft_partition(run.run_id, run.shard(shard))
        expires_at = expires_after(run.started_at, RUN_WORK_DAYS)
        chunks: list[bytes] = []
        chunk: list[str] = []
        size = 0
        for draft in drafts:
            text = draft.model_dump_json()
            if chunk and size + len(text) > DRAFT_CHUNK_BYTES * 4:  # ~4:1 compression
                chunks.append(_pack_texts(chunk))
                chunk, size = [], 0
            chunk.append(text)
            size += len(text)
        if chunk:
            chunks.append(_pack_texts(chunk))
        self.table.batch_put(
            [
                {"pk": partition, "sk": f"{number:06d}", "drafts": packed, "expires_at": expires_at}
                for number, packed in enumerate(chunks)
            ]
        )

    def drafts(self, run: Run, shard: int) -> list[StatementDraft]:
        partition = keys.draft_partition(run.run_id, run.shard(shard))
        return [
            draft
            for item in self.table.query(partition, consistent=True)
            for draft in _DRAFTS.validate_json(unpack(item["drafts"]))
        ]

    # --- statements --------------------------------------------------------------------

    def latest_revisions(
        self, program_id: str, period: Period, shard: keys.Shard, committed: frozenset[str]
    ) -> dict[str, LatestRevision]:
        """The latest committed revision of each creator of the shard (one paginated
        Query of the shard's revisions, their keys and digests only)."""
        latest: dict[str, LatestRevision] = {}
        partition = keys.statements_partition(program_id, period, shard.bucket)
        for item in self.table.query(
            partition, between=shard.sort_key_range(), consistent=True, projection="sk, digest"
        ):
            found = _revision_of(item)
            if found.run_id not in committed:
                continue
            known = latest.get(found.creator_id)
            if known is None or known.revision < found.revision:
                latest[found.creator_id] = found
        return latest

    def run_revisions(self, run: Run, shard: int) -> list[LatestRevision]:
        """The revisions a run wrote in a shard (to announce them once it committed)."""
        where = run.shard(shard)
        partition = keys.statements_partition(run.program_id, run.period, where.bucket)
        found = (
            _revision_of(item)
            for item in self.table.query(
                partition, between=where.sort_key_range(), consistent=True, projection="sk"
            )
        )
        return [revision for revision in found if revision.run_id == run.run_id]

    def write_revisions(
        self, run: "Run", statements: Sequence[StatementRevision], issued_at: datetime
    ) -> None:
        """Put new statement revisions (batched). They are readable only once the run
        commits (`committed_runs`): a task of a run that loses its period leaves items
        nobody reads, and a redelivered task puts the same items again."""
        self.table.batch_put(
            [
                {
                    **keys.statement_key(
                        statement.program_id,
                        run.period,
                        statement.creator_id,
                        statement.revision,
                        run.run_id,
                    ),
                    "creator_id": statement.creator_id,
                    "revision": statement.revision,
                    "digest": statement.digest,
                    "run_id": run.run_id,
                    "issued_at": to_utc_text(issued_at),
                    "statement": pack(statement),
                }
                for statement in statements
            ]
        )

    def statements_of(
        self, program_id: str, period: Period, revisions: Sequence[LatestRevision]
    ) -> list[StatementRevision]:
        """The statements of the given revisions (a GetItem each: only for the creators a
        run has no draft of, which is not known to happen)."""
        found = [
            self.table.get(
                keys.statement_key(program_id, period, r.creator_id, r.revision, r.run_id)
            )
            for r in sorted(revisions, key=lambda revision: revision.creator_id)
        ]
        return [
            StatementRevision.model_validate_json(unpack(item["statement"]))
            for item in found
            if item is not None
        ]

    def revisions(
        self, program_id: str, period: Period, creator_id: str
    ) -> list[StatementRevision]:
        """Every committed revision of one creator's statement, oldest first (a GetItem
        of the period's state and one Query)."""
        state = self.period_state(program_id, period)
        if state is None or not state.committed_runs:
            return []
        partition = keys.statements_partition(program_id, period, keys.creator_bucket(creator_id))
        return [
            StatementRevision.model_validate_json(unpack(item["statement"]))
            for item in self.table.query(
                partition, prefix=keys.creator_prefix(creator_id), consistent=True
            )
            if item["run_id"] in state.committed_runs
        ]

    def latest_statements(self, program_id: str, period: Period) -> list[StatementRevision]:
        """Every creator's latest committed statement revision, sorted by creator_id."""
        state = self.period_state(program_id, period)
        if state is None or not state.committed_runs:
            return []
        latest: dict[str, Item] = {}
        for bucket in range(keys.CREATOR_BUCKETS):
            for item in self.table.query(keys.statements_partition(program_id, period, bucket)):
                if item["run_id"] not in state.committed_runs:
                    continue
                known = latest.get(item["creator_id"])
                if known is None or int(known["revision"]) < int(item["revision"]):
                    latest[item["creator_id"]] = item
        return [
            StatementRevision.model_validate_json(unpack(latest[creator]["statement"]))
            for creator in sorted(latest)
        ]


def _revision_of(item: Item) -> LatestRevision:
    """A revision from its sort key, `<slot>#<creator>#<revision>#<run id>` (the digest
    when it was read)."""
    _slot, creator_id, revision, run_id = item["sk"].split("#")
    return LatestRevision(creator_id, int(revision), item.get("digest", ""), run_id)


def _pack_texts(texts: list[str]) -> bytes:
    return zlib.compress(("[" + ",".join(texts) + "]").encode(), 6)


def _shard_of(item: Item) -> int:
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
        committed_runs=frozenset(item.get("committed_runs", ())),
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
        splits=int(item.get("splits", 1)),
        announce_tasks_sent=bool(item.get("announce_tasks_sent", False)),
        announced_shards=frozenset(int(b) for b in item.get(ANNOUNCED, ())),
    )
