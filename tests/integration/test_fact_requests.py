"""What creator facts cost the eligibility function in DynamoDB requests, alone and in a
batch, what a batch does when part of it fails, and how the emulation delivers facts:
through the rule's queue, up to 100 an invocation."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from integration_support import BusCapture

from bonus_engine.creator_facts import FactOutcome, record_facts
from bonus_engine.messaging import DeliveryError, EventPublisher
from bonus_engine.periods import Period
from bonus_engine.program_rules import load_programs
from bonus_engine.rejections import TEXT_LIMIT_BYTES, RejectionSource
from bonus_engine.storage import keys
from bonus_engine.storage.dynamo import Item, Table, TransientStorageError
from bonus_engine.storage.facts_store import FactsStore
from bonus_engine.storage.rejections_store import RejectionStore
from bonus_local.emulator import Emulation
from bonus_local.pipeline import LocalPipeline

PROGRAMS_DIR = Path(__file__).resolve().parents[2] / "layers" / "program_rules" / "programs"

NOW = datetime(2026, 5, 10, 12, tzinfo=UTC)  # March and April are closed, 2 months watched
CHANGED = "CreatorEligibilityChanged"


def event(detail_type: str, **detail: Any) -> dict[str, Any]:
    """An event as EventBridge delivers it (received by the bus two seconds before NOW)."""
    return {
        "id": "e-1",
        "source": "creators",
        "detail-type": detail_type,
        "time": "2026-05-10T11:59:58Z",
        "detail": detail,
    }


def invited(**overrides: Any) -> dict[str, Any]:
    detail = {
        "creator_id": "ana",
        "occurred_at": "2026-03-15T00:00:00Z",
        "program_id": "spring-bonus",
    }
    return event("CreatorInvited", **{**detail, **overrides})


class Facts:
    def __init__(self, emulation: Emulation) -> None:
        self.table = Table(emulation.dynamodb, emulation.table_name("CreatorFactsTable"))
        self.store = FactsStore(self.table)
        self.rejections = RejectionStore(
            Table(emulation.dynamodb, emulation.table_name("RejectionsTable"))
        )
        self.publisher = EventPublisher(emulation.events, emulation.bus_name)
        self.programs = load_programs(PROGRAMS_DIR)

    def record(self, fact: dict[str, Any], now: datetime = NOW) -> dict[str, int]:
        """Record the fact; the DynamoDB requests it took, by operation."""
        before = dict(self.table.usage.requests)
        (outcome,) = record_facts(
            [fact], now, self.programs, self.store, self.rejections, self.publisher, 2
        )
        assert outcome.failure is None
        return {
            operation: count - before.get(operation, 0)
            for operation, count in self.table.usage.requests.items()
            if count != before.get(operation, 0)
        }


@pytest.fixture
def facts(emulation: Emulation) -> Facts:
    return Facts(emulation)


def test_a_late_fact_that_changes_the_decision_takes_four_requests(
    facts: Facts, emulation: Emulation
) -> None:
    bus = BusCapture(emulation, [CHANGED])

    requests = facts.record(invited())

    # The record, the fact with the markers of March and April, the decision, and the
    # decision again, marked as announced.
    assert requests == {"Query": 1, "BatchWriteItem": 1, "PutItem": 2}
    since = datetime(2026, 5, 10, tzinfo=UTC)
    assert facts.store.changed_since(Period.parse("2026-03"), since)
    assert facts.store.changed_since(Period.parse("2026-04"), since)
    assert not facts.store.changed_since(Period.parse("2026-02"), since)
    (decision,) = facts.store.creator("ana").decisions.values()
    assert decision.announced
    assert [d["decision_version"] for d in bus.details(CHANGED)] == [1]


def test_a_redelivered_late_fact_marks_again_and_changes_nothing_else(
    facts: Facts, emulation: Emulation
) -> None:
    bus = BusCapture(emulation, [CHANGED])
    facts.record(invited())
    later = datetime(2026, 5, 10, 13, tzinfo=UTC)

    requests = facts.record(invited(), now=later)

    # A first delivery whose batch failed halfway may have stored the fact without its
    # markers: whoever finds the fact stored marks again.
    assert requests == {"Query": 1, "BatchWriteItem": 1}
    assert facts.store.changed_since(Period.parse("2026-04"), later)
    assert len(facts.store.timeline("ana")) == 1
    assert len(bus.details(CHANGED)) == 1


def test_a_fact_of_an_open_period_is_stored_alone(facts: Facts) -> None:
    facts.record(invited())

    later = datetime(2026, 5, 10, 13, tzinfo=UTC)

    requests = facts.record(
        invited(occurred_at="2026-05-02T00:00:00Z", program_id="other"), now=later
    )

    assert requests == {"Query": 1, "BatchWriteItem": 1}  # no decision changed
    assert len(facts.store.timeline("ana")) == 2
    between = datetime(2026, 5, 10, 12, 30, tzinfo=UTC)  # after the first fact's markers
    assert not facts.store.changed_since(Period.parse("2026-04"), between)


def test_the_stored_fact_is_the_same_item_on_every_delivery(facts: Facts) -> None:
    facts.record(invited())
    (first,) = stored_facts(facts.table)

    # A delivery that raced the first one (its Query found nothing) puts it again, later.
    (parsed,) = facts.store.timeline("ana")
    bus_time = datetime(2026, 5, 10, 11, 59, 58, tzinfo=UTC)
    facts.store.add_fact_marking(parsed, bus_time, [], datetime(2026, 5, 10, 14, tzinfo=UTC))

    assert stored_facts(facts.table) == [first]
    assert first["received_at"] == "2026-05-10T11:59:58.000000Z"  # when the bus received it


def stored_facts(table: Table) -> list[Item]:
    partition = keys.facts_partition(keys.creator_bucket("ana"))
    return [item for item in table.query(partition) if item["kind"] != "decision"]


def test_facts_reach_the_function_a_hundred_an_invocation_and_the_queue_is_left_empty(
    pipeline: LocalPipeline, emulation: Emulation, facts: Facts
) -> None:
    entries = [
        {
            "source": "creators",
            "detail-type": "CreatorProfileChanged",
            "detail": {
                "creator_id": f"c{n:03d}",
                "occurred_at": "2026-01-01T00:00:00Z",
                "account_type": "professional",
                "country": "US",
                "adult": True,
                "followers": 100,
            },
        }
        for n in range(137)  # more than one drain, more than one receive
    ]
    delivered: list[int] = []

    pipeline.put_facts(entries, delivered.append)

    function = pipeline.functions["CheckEligibilityFunction"]
    assert function.invocations == 2  # the template's BatchSize: 100
    assert sum(delivered) == 137
    assert all(facts.store.decision(f"c{n:03d}", "spring-bonus") for n in range(137))
    attributes = emulation.sqs.get_queue_attributes(
        QueueUrl=emulation.queue_url("FactsQueue"), AttributeNames=["All"]
    )
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"
    assert attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0"


def late_invitations(creators: list[str]) -> list[dict[str, Any]]:
    return [{**invited(creator_id=creator), "id": f"e-{creator}"} for creator in creators]


def record_batch(facts: Facts, events: list[Any], now: datetime = NOW) -> list[FactOutcome]:
    return record_facts(
        events, now, facts.programs, facts.store, facts.rejections, facts.publisher, 2
    )


def test_a_batch_takes_a_query_a_creator_and_its_writes_together(
    facts: Facts, emulation: Emulation
) -> None:
    bus = BusCapture(emulation, [CHANGED])
    creators = [f"c{n:03d}" for n in range(60)]
    before = dict(facts.table.usage.requests)

    outcomes = record_batch(facts, late_invitations(creators))

    requests = {
        operation: count - before.get(operation, 0)
        for operation, count in facts.table.usage.requests.items()
    }
    # 60 facts and a marker for each period they change (March and April, not one a
    # fact), 25 a request; the 60 decisions, then their announced marks, in a
    # transaction each.
    assert requests == {"Query": 60, "BatchWriteItem": 3, "TransactWriteItems": 2}
    assert all(o.new and o.changed_programs == ["spring-bonus"] for o in outcomes)
    assert sorted(d["creator_id"] for d in bus.details(CHANGED)) == creators
    for creator in creators:
        decision = facts.store.decision(creator, "spring-bonus")
        assert decision is not None
        assert decision.announced
        assert decision.version == 1
    for period in ("2026-03", "2026-04"):
        assert facts.store.changed_since(Period.parse(period), datetime(2026, 5, 10, tzinfo=UTC))


def test_writes_that_fail_halfway_leave_no_fact_without_its_mark_and_come_back(
    facts: Facts, emulation: Emulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch's markers (one for each closed month) go before its facts: when the
    second of its three BatchWriteItems fails, the facts of the first are stored with
    both months already marked, every creator of the batch comes back, and the
    redelivery stores the rest and marks the months again."""
    bus = BusCapture(emulation, [CHANGED])
    creators = [f"c{n:03d}" for n in range(60)]
    real = Table._call
    writes: list[int] = []

    def second_write_throttled(self: Table, operation: str, *args: Any, **kwargs: Any) -> Any:
        if operation == "BatchWriteItem":
            writes.append(len(kwargs["RequestItems"][self.name]))
            if len(writes) == 2:
                raise TransientStorageError("ProvisionedThroughputExceededException")
        return real(self, operation, *args, **kwargs)

    monkeypatch.setattr(Table, "_call", second_write_throttled)
    first = record_batch(facts, late_invitations(creators))
    monkeypatch.setattr(Table, "_call", real)

    assert all(outcome.failure is not None for outcome in first)
    stored = [c for c in creators if facts.store.timeline(c)]
    assert writes == [25, 25]
    assert len(stored) == 23  # the first write's 2 markers and 23 facts landed
    before = NOW.replace(hour=0)
    for period in ("2026-03", "2026-04"):
        assert facts.store.changed_since(Period.parse(period), before)
    assert bus.details(CHANGED) == []  # nothing decided, nothing announced

    later = NOW.replace(hour=13)
    again = record_batch(facts, late_invitations(creators), now=later)

    assert all(outcome.failure is None for outcome in again)
    assert [c for c in creators if not facts.store.timeline(c)] == []
    assert sorted(o.new for o in again) == [False] * 23 + [True] * 37
    between = NOW.replace(minute=30)
    for period in ("2026-03", "2026-04"):  # marked again, by the redelivery
        assert facts.store.changed_since(Period.parse(period), between)
    assert sorted(d["creator_id"] for d in bus.details(CHANGED)) == creators


def test_a_creator_whose_decision_changed_meanwhile_is_judged_again_and_the_rest_stored(
    facts: Facts, emulation: Emulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = BusCapture(emulation, [CHANGED])
    facts.record(invited(creator_id="ana"))  # ana's decision: version 1
    real = FactsStore.save_decisions
    raced = []

    def another_writer_first(self: FactsStore, changes: Any) -> Any:
        if not raced:  # between this batch's Query and its transaction
            raced.append(True)
            stored = self.decision("ana", "spring-bonus")
            self.save_decision("ana", "spring-bonus", True, [], None, NOW, stored)
        return real(self, changes)

    monkeypatch.setattr(FactsStore, "save_decisions", another_writer_first)
    revoked = event(
        "CreatorInvitationRevoked",
        creator_id="ana",
        occurred_at="2026-03-20T00:00:00Z",
        program_id="spring-bonus",
    )

    outcomes = record_batch(facts, [revoked, *late_invitations(["ben", "cy"])])

    assert all(outcome.failure is None for outcome in outcomes)
    ana = facts.store.decision("ana", "spring-bonus")
    assert ana is not None
    assert (ana.version, ana.eligible, ana.announced) == (3, False, True)  # judged again
    assert "not_invited" in ana.reasons
    for creator in ("ben", "cy"):
        decision = facts.store.decision(creator, "spring-bonus")
        assert decision is not None
        assert decision.version == 1
        assert decision.announced
    versions = sorted((d["creator_id"], d["decision_version"]) for d in bus.details(CHANGED))
    assert versions == [("ana", 1), ("ana", 3), ("ben", 1), ("cy", 1)]


def test_a_creator_whose_read_fails_comes_back_alone(
    facts: Facts, emulation: Emulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = FactsStore.creator

    def throttled_for_ben(self: FactsStore, creator_id: str) -> Any:
        if creator_id == "ben":
            raise TransientStorageError("ThrottlingException")
        return real(self, creator_id)

    monkeypatch.setattr(FactsStore, "creator", throttled_for_ben)
    batch = [*late_invitations(["ana", "ben"]), "not json", *late_invitations(["cy"])]

    outcomes = record_batch(facts, batch)

    assert [o.failure is not None for o in outcomes] == [False, True, False, False]
    assert outcomes[2].rejection is not None
    assert outcomes[2].rejection.reason.value == "invalid_fact"
    monkeypatch.setattr(FactsStore, "creator", real)
    assert facts.store.decision("ben", "spring-bonus") is None
    assert facts.store.decision("cy", "spring-bonus") is not None


def test_a_failed_announcement_sends_back_its_creators_and_their_redelivery_announces_once(
    facts: Facts, emulation: Emulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    bus = BusCapture(emulation, [CHANGED])
    real = EventPublisher.publish

    def timed_out(self: EventPublisher, detail_type: str, details: Any) -> None:
        raise DeliveryError("PutEvents timed out")

    monkeypatch.setattr(EventPublisher, "publish", timed_out)
    batch = late_invitations(["ana", "ben"])

    first = record_batch(facts, batch)

    assert all(outcome.failure is not None for outcome in first)
    monkeypatch.setattr(EventPublisher, "publish", real)

    again = record_batch(facts, batch)  # SQS delivers the messages again
    record_batch(facts, batch)  # and once more: nothing left to announce

    assert all(outcome.failure is None and not outcome.new for outcome in again)
    assert sorted(d["creator_id"] for d in bus.details(CHANGED)) == ["ana", "ben"]


def test_unreadable_messages_are_rejected_and_the_facts_beside_them_recorded(
    facts: Facts, emulation: Emulation
) -> None:
    deep = "[" * 100_000 + "]" * 100_000  # json.loads gives up (RecursionError)
    lone_surrogate = '"\\ud800"'  # JSON, but a string, not an event
    nested = "[" * 900 + "]" * 900  # readable, but no creator id
    deep_detail = (
        '{"id": "e-deep", "detail-type": "CreatorInvited", "detail": {"creator_id": '
        + nested
        + ', "occurred_at": "2026-05-01T00:00:00Z", "program_id": "spring-bonus"}}'
    )
    batch = [deep, *late_invitations(["ana"]), lone_surrogate, "[1, 2]", "\u0000", deep_detail]

    outcomes = record_batch(facts, batch)

    assert [o.failure for o in outcomes] == [None] * 6
    assert [o.rejection is None for o in outcomes] == [False, True, False, False, False, False]
    assert {o.rejection.reason.value for o in outcomes if o.rejection} == {"invalid_fact"}
    assert facts.store.decision("ana", "spring-bonus") is not None
    stored = RejectionStore(Table(emulation.dynamodb, emulation.table_name("RejectionsTable")))
    kept = list(stored.list(RejectionSource.FACTS, Period.containing(NOW)))
    assert len(kept) == 5
    assert all(len(r["raw"].encode()) <= TEXT_LIMIT_BYTES for r in kept)


def test_a_fact_delivered_twice_in_one_batch_is_stored_and_announced_once(
    facts: Facts, emulation: Emulation
) -> None:
    bus = BusCapture(emulation, [CHANGED])
    (fact,) = late_invitations(["ana"])

    first, second = record_batch(facts, [fact, fact])

    assert (first.new, second.new) == (True, False)
    assert len(facts.store.timeline("ana")) == 1
    assert [d["decision_version"] for d in bus.details(CHANGED)] == [1]
