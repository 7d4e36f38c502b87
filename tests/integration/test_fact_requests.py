"""What one creator fact costs the eligibility function in DynamoDB requests, and how the
emulation delivers facts: one event per invocation, the stand-in queue emptied."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from integration_support import BusCapture

from bonus_engine.creator_facts import record_fact
from bonus_engine.messaging import EventPublisher
from bonus_engine.periods import Period
from bonus_engine.program_rules import load_programs
from bonus_engine.storage import keys
from bonus_engine.storage.dynamo import Item, Table
from bonus_engine.storage.facts_store import FactsStore
from bonus_engine.storage.rejections_store import RejectionStore
from bonus_local.emulator import Emulation, stand_in_queue_name
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
        record_fact(fact, now, self.programs, self.store, self.rejections, self.publisher, 2)
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

    # The record, the fact with the markers of March and April, the decision, its mark.
    assert requests == {"Query": 1, "BatchWriteItem": 1, "PutItem": 1, "UpdateItem": 1}
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


def test_each_fact_is_one_invocation_and_the_rule_queue_is_left_empty(
    pipeline: LocalPipeline, emulation: Emulation
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
    assert function.invocations == 137
    assert sum(delivered) == 137
    url = emulation.queue_urls[stand_in_queue_name("CheckEligibilityFunction", "CreatorFacts")]
    attributes = emulation.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
    assert attributes["Attributes"]["ApproximateNumberOfMessages"] == "0"
    assert attributes["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "0"
