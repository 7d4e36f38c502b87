"""Recording creator facts and keeping each creator's current decision up to date.

Facts reach the eligibility function from the bus through a queue, up to 100 an
invocation (`record_facts`): one Query a creator, their new facts and change markers
stored together (BatchWriteItem, 25 a request), the decisions they change stored in
transactions (each with its own version check), announced 10 a PutEvents request and
marked as announced in transactions. Each message keeps its own outcome: a malformed
fact is a rejection, and a transient failure sends back the messages of the creators it
touched, never the others'.
"""

import json
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bonus_engine.eligibility import judge_eligibility
from bonus_engine.facts import Fact, InvalidFact, PostRestricted, UnknownFactType, parse_fact
from bonus_engine.messaging import EventPublisher
from bonus_engine.periods import Period, closed_periods_since
from bonus_engine.program_rules import LoadedProgram
from bonus_engine.rejections import (
    Rejection,
    RejectionReason,
    RejectionSource,
    bounded_id,
    bounded_text,
    json_excerpt,
)
from bonus_engine.storage.change_markers import change_marker_items
from bonus_engine.storage.dynamo import Item, TransientStorageError
from bonus_engine.storage.facts_store import (
    Announced,
    CreatorRecord,
    DecisionChange,
    FactsStore,
    StoredDecision,
    fact_item,
)
from bonus_engine.storage.rejections_store import RejectionStore
from bonus_engine.timestamps import parse_rfc3339

ELIGIBILITY_CHANGED = "CreatorEligibilityChanged"
DECISION_ATTEMPTS = 5


@dataclass
class FactOutcome:
    fact: Fact | None = None
    new: bool = False
    rejection: Rejection | None = None
    changed_programs: list[str] = field(default_factory=list)
    failure: TransientStorageError | None = None  # the message comes back


class UnreadableMessage(InvalidFact):
    """A queue message that is not an EventBridge event (a JSON object)."""


def record_facts(
    events: Sequence[Mapping[str, Any] | str],
    now: datetime,
    programs: Mapping[str, LoadedProgram],
    facts: FactsStore,
    rejections: RejectionStore,
    publisher: EventPublisher,
    recompute_window_months: int,
) -> list[FactOutcome]:
    """Store the facts the events carry (an EventBridge event, or a queue message's body
    holding one) and refresh their creators' decisions for every program. A malformed
    fact is rejected with its reason (nothing raises); a redelivered fact writes nothing
    new and announces nothing twice; a transient failure marks the outcomes of the
    creators it touched as failed, and the others are recorded."""
    batch = _Batch(events, now, recompute_window_months)
    batch.reject(rejections)
    records = batch.read(facts)
    batch.store(facts, records)
    announcements = batch.decide(facts, programs, records)
    batch.announce(facts, publisher, announcements)
    return batch.outcomes


class _Batch:
    def __init__(
        self, events: Sequence[Mapping[str, Any] | str], now: datetime, window_months: int
    ) -> None:
        self.now = now
        self.window_months = window_months
        self.events: list[Mapping[str, Any]] = []
        self.outcomes = [FactOutcome() for _ in events]
        self.by_creator: dict[str, list[int]] = defaultdict(list)  # message positions
        for position, raw in enumerate(events):
            outcome = self.outcomes[position]
            try:
                event = _event(raw)
            except UnreadableMessage as error:
                self.events.append({})
                outcome.rejection = _rejection(raw, error, now)
                continue
            self.events.append(event)
            try:
                outcome.fact = parse_fact(event.get("detail-type"), event.get("detail"))
            except (UnknownFactType, InvalidFact) as error:
                outcome.rejection = _rejection(event, error, now)
            else:
                self.by_creator[outcome.fact.creator_id].append(position)

    def fail(self, creators: Iterable[str], error: TransientStorageError) -> None:
        for creator in creators:
            for position in self.by_creator[creator]:
                self.outcomes[position].failure = error

    def failed(self, creator: str) -> bool:
        return any(self.outcomes[p].failure for p in self.by_creator[creator])

    def reject(self, rejections: RejectionStore) -> None:
        rejected = [o for o in self.outcomes if o.rejection is not None]
        if not rejected:
            return
        try:
            rejections.record([o.rejection for o in rejected if o.rejection is not None])
        except TransientStorageError as error:
            for outcome in rejected:
                outcome.failure = error

    def read(self, facts: FactsStore) -> dict[str, CreatorRecord]:
        """Each creator's record: one strongly consistent Query a creator."""
        records = {}
        for creator in self.by_creator:
            try:
                records[creator] = facts.creator(creator)
            except TransientStorageError as error:
                self.fail([creator], error)
        return records

    def store(self, facts: FactsStore, records: dict[str, CreatorRecord]) -> None:
        """The facts the records do not hold, after one change marker for each closed
        period they change (however many facts of the batch change it: the computation
        asks only whether a period has a mark since its run). A fact found stored,
        perhaps by a batch that failed before its markers landed, marks again (a
        redelivery writes a new mark at most: one recomputation that finds nothing
        changed and stays silent). The markers go first: a stored fact's mark has
        landed."""
        new_facts: list[Item] = []
        affected: set[Period] = set()
        marking: list[str] = []  # the ids of the facts that mark
        writers = []
        for creator, record in records.items():
            writes = len(new_facts), len(marking)
            for position in self.by_creator[creator]:
                outcome = self.outcomes[position]
                assert outcome.fact is not None
                fact = outcome.fact
                periods = closed_periods_since(_changes_from(fact), self.now, self.window_months)
                if periods:
                    affected.update(periods)
                    marking.append(fact.fact_id)
                if not record.has(fact):
                    new_facts.append(fact_item(fact, _received_at(self.events[position], self.now)))
                    outcome.new = True
                    record.facts.append(fact)
            if (len(new_facts), len(marking)) != writes:
                writers.append(creator)
        markers = change_marker_items(affected, self.now, min(marking), "facts") if marking else []
        if not markers and not new_facts:
            return
        try:
            facts.put_all([*markers, *new_facts])
        except TransientStorageError as error:
            self.fail(writers, error)
            for creator in writers:
                del records[creator]

    def decide(
        self,
        facts: FactsStore,
        programs: Mapping[str, LoadedProgram],
        records: dict[str, CreatorRecord],
    ) -> dict[tuple[str, str], StoredDecision]:
        """Judge each creator now and store the decisions that changed. Concurrent
        writers are settled by each decision's version: a creator whose change lost is
        read again and judged on what is then found. Returns what is to be announced:
        the changes stored, and the stored decisions whose announcement failed before."""
        announcements: dict[tuple[str, str], StoredDecision] = {}
        pending = records
        for _ in range(DECISION_ATTEMPTS):
            changes = []
            for creator, record in pending.items():
                for program in programs.values():
                    change = _change(creator, program, record, self.now)
                    stored = record.decisions.get(program.rules.program_id)
                    if change is not None:
                        changes.append(change)
                    elif stored is not None and not stored.announced:
                        announcements[(creator, program.rules.program_id)] = stored
            if not changes:
                return announcements
            try:
                saved = facts.save_decisions(changes)
            except TransientStorageError as error:
                self.fail({change.creator_id for change in changes}, error)
                return announcements
            for change in saved:
                stored = change.stored()
                records[change.creator_id].decisions[change.program_id] = stored
                announcements[(change.creator_id, change.program_id)] = stored
                last = self.by_creator[change.creator_id][-1]
                self.outcomes[last].changed_programs.append(change.program_id)
            lost = {change.creator_id for change in changes} - {c.creator_id for c in saved}
            pending = {}
            for creator in lost:
                try:
                    pending[creator] = records[creator] = facts.creator(creator)
                except TransientStorageError as error:
                    self.fail([creator], error)
        self.fail(pending, TransientStorageError("a decision kept changing under us"))
        return announcements

    def announce(
        self,
        facts: FactsStore,
        publisher: EventPublisher,
        announcements: dict[tuple[str, str], StoredDecision],
    ) -> None:
        """Put the changes on the bus, then mark them as announced. If either fails, the
        creators' messages come back: their redelivery finds the decisions stored and not
        marked, and announces them (at least once: consumers deduplicate on
        `decision_version`)."""
        due = {key: d for key, d in announcements.items() if not self.failed(key[0])}
        if not due:
            return
        creators = {creator for creator, _ in due}
        try:
            publisher.publish(
                ELIGIBILITY_CHANGED,
                [_announcement(creator, program, d) for (creator, program), d in due.items()],
            )
            facts.mark_all_announced(
                [Announced(creator, program, d) for (creator, program), d in due.items()]
            )
        except TransientStorageError as error:
            self.fail(creators, error)


def _change(
    creator_id: str, program: LoadedProgram, record: CreatorRecord, now: datetime
) -> DecisionChange | None:
    """The decision to store, if it is not the one stored."""
    decision = judge_eligibility(program.rules, record.facts, now)
    reasons = tuple(reason.value for reason in decision.reasons)
    stored = record.decisions.get(program.rules.program_id)
    if stored is not None and stored.same_decision(decision.eligible, reasons, decision.market):
        return None
    return DecisionChange(
        creator_id,
        program.rules.program_id,
        decision.eligible,
        reasons,
        decision.market,
        now,
        stored,
    )


def _event(raw: Mapping[str, Any] | str) -> Mapping[str, Any]:
    """The EventBridge event; a queue message's body is parsed first."""
    if not isinstance(raw, str):
        return raw
    try:
        event = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested too deep to read
        raise UnreadableMessage("the message is not JSON (an EventBridge event)") from None
    if not isinstance(event, dict):
        raise UnreadableMessage("the message is not a JSON object (an EventBridge event)")
    return event


def _changes_from(fact: Fact) -> datetime:
    """From when a fact can change computed periods: when it occurred, except for a
    restricted post, which never earns in any period (SPEC section 2): every closed
    period of the recompute window is recomputed (one that the post did not touch
    recomputes to the same statements and writes nothing)."""
    if isinstance(fact, PostRestricted):
        return datetime.min.replace(tzinfo=UTC)
    return fact.occurred_at


def _announcement(creator_id: str, program_id: str, decision: StoredDecision) -> dict[str, Any]:
    return {**decision.fields(creator_id, program_id), "decision_version": decision.version}


def _rejection(event: Mapping[str, Any] | str, error: Exception, now: datetime) -> Rejection:
    reason = (
        RejectionReason.UNKNOWN_FACT_TYPE
        if isinstance(error, UnknownFactType)
        else RejectionReason.INVALID_FACT
    )
    if isinstance(event, str):  # a message that is no event: kept as it came
        raw, cut = bounded_text(event)
        return Rejection(
            source=RejectionSource.FACTS,
            reason=reason,
            detail=bounded_text(str(error))[0],
            period=Period.containing(now),
            received_at=now,
            raw=raw,
            cut=cut,
        )
    detail = event.get("detail")
    detail_map: Mapping[str, Any] = detail if isinstance(detail, Mapping) else {}
    raw, cut = json_excerpt({"detail-type": event.get("detail-type"), "detail": detail})
    return Rejection(
        source=RejectionSource.FACTS,
        reason=reason,
        detail=bounded_text(str(error))[0],
        period=_period_of(detail_map.get("occurred_at")) or Period.containing(now),
        received_at=_received_at(event, now),
        raw=raw,
        cut=cut,
        message_id=bounded_id(event.get("id")),
        creator_id=bounded_id(detail_map.get("creator_id")),
    )


def _period_of(value: object) -> Period | None:
    try:
        return Period.containing(parse_rfc3339(value))
    except ValueError:
        return None


def _received_at(event: Mapping[str, Any], now: datetime) -> datetime:
    """When EventBridge received it (the event's `time`, stable across redeliveries)."""
    try:
        return parse_rfc3339(event.get("time"))
    except ValueError:
        return now
