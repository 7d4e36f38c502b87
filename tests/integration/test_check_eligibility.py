"""CheckEligibilityFunction: facts through the bus and the template's rule, the timeline,
the current decision and CreatorEligibilityChanged."""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from integration_support import BusCapture, DynamoFaults
from moto import mock_aws

from bonus_engine import dependencies
from bonus_engine.creator_facts import record_facts
from bonus_engine.eligibility import judge_eligibility
from bonus_engine.messaging import EventPublisher
from bonus_engine.periods import Period
from bonus_engine.program_rules import load_programs
from bonus_engine.rejections import RejectionSource
from bonus_engine.storage.dynamo import Table
from bonus_engine.storage.facts_store import FactsStore
from bonus_engine.storage.rejections_store import RejectionStore
from bonus_local.emulator import CREDENTIALS, Emulation
from bonus_local.lambda_runtime import LocalFunction
from bonus_local.pipeline import LocalPipeline

EVENTS = Path(__file__).resolve().parents[2] / "events" / "facts"
PROGRAMS = Path(__file__).resolve().parents[2] / "layers" / "program_rules" / "programs"
CHANGED = "CreatorEligibilityChanged"


def entry(detail_type: str, **detail: Any) -> dict[str, Any]:
    """A PutEvents entry, as upstream systems send it."""
    return {"source": "creators", "detail-type": detail_type, "detail": detail}


def profile(
    creator: str = "ana", at: str = "2026-01-01T00:00:00Z", **changes: Any
) -> dict[str, Any]:
    fields = {"account_type": "professional", "country": "US", "adult": True, "followers": 100}
    return entry(
        "CreatorProfileChanged", creator_id=creator, occurred_at=at, **{**fields, **changes}
    )


def invited(creator: str = "ana", at: str = "2026-01-02T00:00:00Z", **extra: Any) -> dict[str, Any]:
    return entry(
        "CreatorInvited", creator_id=creator, occurred_at=at, program_id="spring-bonus", **extra
    )


@pytest.fixture
def facts_store(emulation: Emulation) -> FactsStore:
    return FactsStore(Table(emulation.dynamodb, emulation.table_name("CreatorFactsTable")))


@pytest.fixture
def bus(emulation: Emulation) -> BusCapture:
    return BusCapture(emulation, [CHANGED])


@pytest.fixture
def check_eligibility(pipeline: LocalPipeline) -> LocalFunction:
    return pipeline.functions["CheckEligibilityFunction"]


# --- the samples of events/facts ----------------------------------------------------------


def sample(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A sample SQS event of events/facts, and the EventBridge event its message holds."""
    event = json.loads((EVENTS / name).read_text())
    (record,) = event["Records"]
    return event, json.loads(record["body"])


@pytest.mark.parametrize(
    "name", sorted(path.name for path in EVENTS.glob("*.json") if "malformed" not in path.name)
)
def test_every_fact_sample_is_recorded_by_the_handler(
    name: str, check_eligibility: LocalFunction, facts_store: FactsStore
) -> None:
    event, fact_event = sample(name)

    result = check_eligibility.invoke(event)

    assert result == {"batchItemFailures": []}
    (fact,) = facts_store.timeline(fact_event["detail"]["creator_id"])
    assert fact.kind == fact_event["detail-type"]


def test_the_malformed_sample_is_rejected_with_every_field_named(
    check_eligibility: LocalFunction, emulation: Emulation
) -> None:
    event, _ = sample("malformed-profile.json")

    result = check_eligibility.invoke(event)

    assert result == {"batchItemFailures": []}  # rejected: the message is not retried
    store = RejectionStore(Table(emulation.dynamodb, emulation.table_name("RejectionsTable")))
    (rejection,) = store.list(RejectionSource.FACTS, Period.parse("2026-02"))
    assert rejection["reason"] == "invalid_fact"
    for field in ("account_type", "country", "adult", "followers"):
        assert field in rejection["detail"]


# --- through the bus and the template's rule ---------------------------------------------


def test_a_malformed_fact_among_good_ones_is_rejected_and_the_good_ones_apply(
    pipeline: LocalPipeline, facts_store: FactsStore, emulation: Emulation
) -> None:
    facts = [
        profile("ana"),
        entry("CreatorInvited", creator_id="ana", occurred_at="2026-01-02", program_id="x"),
        invited("ana"),
        entry("PolicyStrikeIssued", creator_id="ana", occurred_at="2026-01-03T00:00:00Z"),
        profile("ben", country="JP"),
    ]

    pipeline.put_facts(facts)

    decision = facts_store.decision("ana", "spring-bonus")
    assert decision is not None
    assert decision.eligible
    assert facts_store.decision("ben", "spring-bonus") is not None
    store = RejectionStore(Table(emulation.dynamodb, emulation.table_name("RejectionsTable")))
    # A readable occurred_at files a rejection under its month; an unreadable one under
    # the month the fact arrived.
    january = list(store.list(RejectionSource.FACTS, Period.parse("2026-01")))
    arrival = list(store.list(RejectionSource.FACTS, Period.containing(datetime.now(UTC))))
    assert [r["detail"].split(":")[0] for r in january] == ["strike_id"]
    assert [r["detail"].split(":")[0] for r in arrival] == ["occurred_at"]
    assert {r["reason"] for r in january + arrival} == {"invalid_fact"}
    assert pipeline.dead_letters()["FactsDeadLetterQueue"] == 0


def test_facts_of_other_sources_or_types_never_reach_the_function(
    pipeline: LocalPipeline,
) -> None:
    pipeline.put_facts(
        [
            {**profile(), "source": "someone-else"},
            {"source": "creators", "detail-type": "CreatorDeleted", "detail": {"creator_id": "a"}},
        ]
    )

    assert pipeline.functions["CheckEligibilityFunction"].invocations == 0


# --- the decision and its announcements ----------------------------------------------------


def test_eligibility_changed_is_announced_once_per_real_change_and_never_on_redelivery(
    pipeline: LocalPipeline, bus: BusCapture
) -> None:
    pipeline.put_facts([profile()])  # first decision: not invited
    pipeline.put_facts([invited(bonus_cap="150.00")])  # eligible
    pipeline.put_facts([invited(bonus_cap="150.00")])  # the same fact again
    pipeline.put_facts([profile(followers=200)])  # a change that changes no decision
    pipeline.put_facts(
        [
            entry(
                "PolicyStrikeIssued",
                creator_id="ana",
                occurred_at="2026-01-05T00:00:00Z",
                strike_id="s1",
            )
        ]
    )

    changes = bus.details(CHANGED)
    assert [(c["eligible"], c["reasons"]) for c in changes] == [
        (False, ["not_invited"]),
        (True, []),
        (False, ["policy_strikes"]),
    ]
    assert all("bonus_cap" not in json.dumps(c) for c in changes)  # no individual amount


def test_a_failed_announcement_is_made_by_the_retry_and_only_once(
    pipeline: LocalPipeline, bus: BusCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline.put_facts([profile()])
    failures = []
    real = EventPublisher.publish

    def fail_once(self: EventPublisher, detail_type: str, details: Any) -> None:
        if detail_type == CHANGED and not failures:
            failures.append(detail_type)
            raise RuntimeError("PutEvents timed out")
        real(self, detail_type, details)

    monkeypatch.setattr(EventPublisher, "publish", fail_once)

    pipeline.put_facts([invited()])  # the decision is stored, then the put fails

    assert failures == [CHANGED]
    assert [c["eligible"] for c in bus.details(CHANGED)] == [False, True]


def test_a_throttled_fact_is_retried_and_applied_once(
    pipeline: LocalPipeline, facts_store: FactsStore, dynamo_faults: DynamoFaults
) -> None:
    dynamo_faults.throttle("put_item", lambda n, kw: True, times=1)

    pipeline.put_facts([profile()])

    assert len(facts_store.timeline("ana")) == 1
    assert pipeline.functions["CheckEligibilityFunction"].invocations == 2
    assert pipeline.dead_letters()["FactsDeadLetterQueue"] == 0


def test_a_fact_that_keeps_failing_is_set_aside_in_the_dead_letter_queue(
    pipeline: LocalPipeline, dynamo_faults: DynamoFaults, emulation: Emulation
) -> None:
    dynamo_faults.throttle("put_item", lambda n, kw: True)

    pipeline.put_facts([profile()])

    assert pipeline.dead_letters()["FactsDeadLetterQueue"] == 1
    url = emulation.queue_url("FactsDeadLetterQueue")
    (message,) = emulation.sqs.receive_message(QueueUrl=url)["Messages"]
    # The event as the rule put it on FactsQueue, after the queue's maxReceiveCount (5).
    assert json.loads(message["Body"])["detail"]["creator_id"] == "ana"
    assert pipeline.functions["CheckEligibilityFunction"].invocations == 5


def test_a_late_fact_marks_the_closed_periods_it_changes(
    pipeline: LocalPipeline, facts_store: FactsStore
) -> None:
    before = datetime.now(UTC)

    pipeline.put_facts([profile(at="2026-09-15T00:00:00Z")])

    # RecomputeWindowMonths (3) closed months at most, those ending after the fact.
    now = Period.containing(datetime.now(UTC))
    marked = [
        p
        for p in (now.previous(), now.previous().previous())
        if facts_store.changed_since(p, before)
    ]
    assert marked == [
        p
        for p in (now.previous(), now.previous().previous())
        if p.end > datetime(2026, 9, 15, tzinfo=UTC)
    ]
    assert not facts_store.changed_since(Period.parse("2026-08"), before)


# --- the property: order and duplicates never matter ----------------------------------------


@contextmanager
def fresh_facts() -> Iterator[tuple[FactsStore, RejectionStore, EventPublisher]]:
    dependencies.forget()
    with (
        mock.patch.dict(os.environ, CREDENTIALS),
        mock_aws(),
        Emulation(in_process=True) as emulation,
    ):
        yield (
            FactsStore(Table(emulation.dynamodb, emulation.table_name("CreatorFactsTable"))),
            RejectionStore(Table(emulation.dynamodb, emulation.table_name("RejectionsTable"))),
            EventPublisher(emulation.events, emulation.bus_name),
        )
    dependencies.forget()


day = st.integers(1, 28).map(lambda d: f"2026-02-{d:02d}T00:00:00Z")
a_fact = st.one_of(
    st.builds(
        lambda at, country: profile(at=at, country=country),
        day,
        st.sampled_from(["US", "KR", "FR"]),
    ),
    st.builds(lambda at: invited(at=at), day),
    st.builds(
        lambda at: entry(
            "CreatorInvitationRevoked", creator_id="ana", occurred_at=at, program_id="spring-bonus"
        ),
        day,
    ),
    st.builds(
        lambda at, strike, expires: entry(
            "PolicyStrikeIssued",
            creator_id="ana",
            occurred_at=at,
            strike_id=strike,
            **({"expires_at": expires} if expires else {}),
        ),
        day,
        st.sampled_from(["s1", "s2"]),
        st.one_of(st.none(), day),
    ),
    st.builds(
        lambda at, strike: entry(
            "PolicyStrikeLifted", creator_id="ana", occurred_at=at, strike_id=strike
        ),
        day,
        st.sampled_from(["s1", "s2"]),
    ),
)


def _event(fact: dict[str, Any]) -> dict[str, Any]:
    return {"id": "x", "time": "2026-03-01T00:00:00Z", **fact}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(a_fact, min_size=1, max_size=8), st.data())
def test_any_order_duplication_and_batching_of_facts_gives_the_same_timeline_and_decision(
    facts: list[dict[str, Any]], data: st.DataObject
) -> None:
    programs = load_programs(PROGRAMS)
    rules = programs["spring-bonus"].rules
    replayed = data.draw(
        st.permutations(facts + data.draw(st.lists(st.sampled_from(facts), max_size=4)))
    )
    # One at a time, then the replay in batches cut anywhere (a batch may hold a fact twice).
    cuts = sorted(data.draw(st.sets(st.integers(1, len(replayed)), max_size=3)) | {len(replayed)})
    batches = [replayed[start:end] for start, end in zip([0, *cuts], cuts, strict=False)]
    now = datetime(2026, 3, 1, tzinfo=UTC)
    outcomes = []
    for delivery in ([[fact] for fact in facts], batches):
        with fresh_facts() as (store, rejections, publisher):
            for batch in delivery:
                events = [_event(fact) for fact in batch]
                results = record_facts(events, now, programs, store, rejections, publisher, 3)
                assert all(result.failure is None for result in results)
            timeline = store.timeline("ana")
            stored = store.decision("ana", "spring-bonus")
            assert stored is not None
            outcomes.append(
                (
                    [f.fact_id for f in timeline],
                    (stored.eligible, stored.reasons),
                    [
                        judge_eligibility(rules, timeline, at)
                        for at in (now, datetime(2026, 2, 15, tzinfo=UTC))
                    ],
                )
            )
    assert outcomes[0] == outcomes[1]
