"""Recording one creator fact and keeping the creator's current decision up to date."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bonus_engine.eligibility import EligibilityDecision, judge_eligibility
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
from bonus_engine.storage.dynamo import ConditionFailed, TransientStorageError
from bonus_engine.storage.facts_store import CreatorRecord, FactsStore, StoredDecision
from bonus_engine.storage.rejections_store import RejectionStore
from bonus_engine.timestamps import parse_rfc3339, to_utc_text

ELIGIBILITY_CHANGED = "CreatorEligibilityChanged"
DECISION_ATTEMPTS = 5


@dataclass
class FactOutcome:
    fact: Fact | None = None
    new: bool = False
    rejection: Rejection | None = None
    changed_programs: list[str] = field(default_factory=list)


def record_fact(
    event: Mapping[str, Any],
    now: datetime,
    programs: Mapping[str, LoadedProgram],
    facts: FactsStore,
    rejections: RejectionStore,
    publisher: EventPublisher,
    recompute_window_months: int,
) -> FactOutcome:
    """Store the fact an EventBridge event carries and refresh the creator's decision for
    every program. A malformed fact is rejected with its reason (and nothing raises); a
    redelivered fact writes nothing new and announces nothing twice."""
    try:
        fact = parse_fact(event.get("detail-type"), event.get("detail"))
    except (UnknownFactType, InvalidFact) as error:
        rejection = _rejection(event, error, now)
        rejections.record([rejection])
        return FactOutcome(rejection=rejection)

    outcome = FactOutcome(fact=fact)
    record = facts.creator(fact.creator_id)
    # A fact that arrives after a period closed can change it: those periods are marked,
    # in the same batch as the fact itself (one request).
    affected = closed_periods_since(_changes_from(fact), now, recompute_window_months)
    if not record.has(fact):
        facts.add_fact_marking(fact, _received_at(event, now), affected, now)
        outcome.new = True
        record.facts.append(fact)
    elif affected:
        # Stored already, perhaps by a batch that failed before its markers landed: mark
        # again (a redelivery writes a new mark at most: one recomputation that finds
        # nothing changed and stays silent).
        facts.mark_changed(affected, now, fact.fact_id)

    for program in programs.values():
        if _refresh_decision(fact.creator_id, program, now, record, facts, publisher):
            outcome.changed_programs.append(program.rules.program_id)
    return outcome


def _changes_from(fact: Fact) -> datetime:
    """From when a fact can change computed periods: when it occurred, except for a
    restricted post, which never earns in any period (SPEC section 2): every closed
    period of the recompute window is recomputed (one that the post did not touch
    recomputes to the same statements and writes nothing)."""
    if isinstance(fact, PostRestricted):
        return datetime.min.replace(tzinfo=UTC)
    return fact.occurred_at


def _refresh_decision(
    creator_id: str,
    program: LoadedProgram,
    now: datetime,
    record: CreatorRecord,
    facts: FactsStore,
    publisher: EventPublisher,
) -> bool:
    """Judge the creator now; store and announce the decision if it changed. Returns
    whether this call stored a change. Concurrent writers are settled by the decision's
    version: the loser reads the creator again and judges on what it then finds."""
    program_id = program.rules.program_id
    for _ in range(DECISION_ATTEMPTS):
        decision = judge_eligibility(program.rules, record.facts, now)
        stored = record.decisions.get(program_id)
        reasons = [reason.value for reason in decision.reasons]
        if stored is not None and stored.same_decision(decision.eligible, reasons, decision.market):
            if not stored.announced:  # stored before, but the announcement failed
                _announce(publisher, creator_id, program_id, stored)
                facts.mark_announced(creator_id, program_id, stored.version)
            return False
        try:
            version = facts.save_decision(
                creator_id, program_id, decision.eligible, reasons, decision.market, now, stored
            )
        except ConditionFailed:
            fresh = facts.creator(creator_id)
            record.facts, record.decisions = fresh.facts, fresh.decisions
            continue
        saved = _as_stored(decision, reasons, version, now)
        record.decisions[program_id] = saved
        _announce(publisher, creator_id, program_id, saved)
        facts.mark_announced(creator_id, program_id, version)
        return True
    raise TransientStorageError(f"the decision of {creator_id} kept changing under us")


def _as_stored(
    decision: EligibilityDecision, reasons: list[str], version: int, now: datetime
) -> StoredDecision:
    return StoredDecision(
        eligible=decision.eligible,
        reasons=tuple(reasons),
        market=decision.market,
        version=version,
        announced=False,
        as_of=to_utc_text(now),
    )


def _announce(
    publisher: EventPublisher, creator_id: str, program_id: str, decision: StoredDecision
) -> None:
    publisher.publish(
        ELIGIBILITY_CHANGED,
        [
            {
                "creator_id": creator_id,
                "program_id": program_id,
                "eligible": decision.eligible,
                "reasons": list(decision.reasons),
                "market": decision.market,
                "as_of": decision.as_of,
                "decision_version": decision.version,
            }
        ],
    )


def _rejection(event: Mapping[str, Any], error: Exception, now: datetime) -> Rejection:
    reason = (
        RejectionReason.UNKNOWN_FACT_TYPE
        if isinstance(error, UnknownFactType)
        else RejectionReason.INVALID_FACT
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
