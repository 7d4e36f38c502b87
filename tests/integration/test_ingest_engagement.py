"""IngestEngagementFunction against moto, with the resources template.yaml declares."""

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
from integration_support import DynamoFaults, body, failed_ids, sqs_record, stored_counts
from moto import mock_aws

from bonus_engine import dependencies
from bonus_engine.periods import Period
from bonus_engine.rejections import RejectionSource
from bonus_engine.storage.dynamo import Table
from bonus_engine.storage.engagement_store import EngagementStore
from bonus_engine.storage.rejections_store import RejectionStore
from bonus_local.emulator import CREDENTIALS, Emulation
from bonus_local.lambda_runtime import LocalFunction
from bonus_local.pipeline import LocalPipeline

EVENTS = Path(__file__).resolve().parents[2] / "events"
PROGRAMS = Path(__file__).resolve().parents[2] / "layers" / "program_rules" / "programs"
MARCH = Period.parse("2026-03")


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())


def event(event_id: str, count: int = 10, **changes: Any) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "creator_id": "creator-1",
        "post_id": "post-1",
        "format": "reel",
        "metric": "view",
        "count": count,
        "occurred_at": "2026-03-10T12:00:00Z",
        **changes,
    }


def rejections(store: RejectionStore, period: Period = MARCH) -> list[dict[str, Any]]:
    return list(store.list(RejectionSource.ENGAGEMENT, period))


# --- the sample events of events/ ---------------------------------------------------------


def test_the_single_event_sample_stores_its_event(
    ingest: LocalFunction, engagement_store: EngagementStore
) -> None:
    response = ingest.invoke(sample("ingest-single-event.json"))

    assert response == {"batchItemFailures": []}
    assert stored_counts(engagement_store, MARCH) == {("creator-ana", "post-1", "view"): 1200}


def test_the_envelope_sample_stores_every_event_including_the_retraction(
    ingest: LocalFunction, engagement_store: EngagementStore
) -> None:
    response = ingest.invoke(sample("ingest-envelope.json"))

    assert response == {"batchItemFailures": []}
    assert stored_counts(engagement_store, MARCH) == {
        ("creator-ana", "post-1", "like"): 40,
        ("creator-ana", "post-2", "comment"): 6,
        ("creator-ben", "post-7", "share"): 3,
        ("creator-ben", "post-7", "like"): -1,
    }


def test_the_mixed_sample_keeps_the_good_events_and_lists_each_bad_one_with_its_reason(
    ingest: LocalFunction, engagement_store: EngagementStore, rejection_store: RejectionStore
) -> None:
    response = ingest.invoke(sample("ingest-mixed-batch.json"))

    # No message comes back: bad input is set aside, not retried.
    assert response == {"batchItemFailures": []}
    assert stored_counts(engagement_store, MARCH) == {
        ("creator-chae", "post-3", "view"): 5000,
        ("creator-chae", "post-4", "share"): 2,
    }
    march = {
        (r["reason"], r.get("event_id"), r.get("position")) for r in rejections(rejection_store)
    }
    assert march == {("invalid_event", "evt-0202", 1), ("invalid_event", "evt-0204", None)}
    # The body that is not JSON has no occurred_at: it is listed under the month it arrived.
    arrival = Period.parse("2026-04")
    assert [r["reason"] for r in rejections(rejection_store, arrival)] == ["invalid_json"]


# --- bad input ---------------------------------------------------------------------------


def test_an_invalid_event_among_valid_ones_is_listed_and_the_valid_ones_are_counted(
    ingest: LocalFunction, engagement_store: EngagementStore, rejection_store: RejectionStore
) -> None:
    message = sqs_record(
        body(event("e-1"), event("e-2", count=0), event("e-3", post_id="post-2"), event("e-4"))
    )

    response = ingest.invoke({"Records": [message]})

    assert failed_ids(response) == set()
    assert stored_counts(engagement_store, MARCH) == {
        ("creator-1", "post-1", "view"): 20,
        ("creator-1", "post-2", "view"): 10,
    }
    (rejected,) = rejections(rejection_store)
    assert rejected["reason"] == "invalid_event"
    assert rejected["event_id"] == "e-2"
    assert rejected["position"] == 1
    assert "count: must not be zero" in rejected["detail"]


def test_a_body_that_is_not_json_is_rejected_once_and_never_comes_back(
    pipeline: LocalPipeline, rejection_store: RejectionStore
) -> None:
    pipeline.send_engagement(["{not json", json.dumps(event("e-1"))])

    ingest = pipeline.functions["IngestEngagementFunction"]
    assert ingest.invocations == 1  # one batch, nothing redelivered
    arrival = Period.containing(datetime.now(UTC))
    assert [r["reason"] for r in rejections(rejection_store, arrival)] == ["invalid_json"]
    assert pipeline.dead_letters()["EngagementDeadLetterQueue"] == 0


def test_an_event_id_reused_with_other_content_is_rejected_and_the_first_stands(
    ingest: LocalFunction, engagement_store: EngagementStore, rejection_store: RejectionStore
) -> None:
    ingest.invoke({"Records": [sqs_record(body(event("e-1", count=10)))]})

    ingest.invoke({"Records": [sqs_record(body(event("e-1", count=99)))]})

    assert stored_counts(engagement_store, MARCH) == {("creator-1", "post-1", "view"): 10}
    assert [r["reason"] for r in rejections(rejection_store)] == ["conflicting_duplicate"]


def test_a_redelivered_event_keeps_the_time_it_was_first_accepted(
    ingest: LocalFunction, engagement_store: EngagementStore
) -> None:
    message = sqs_record(body(event("e-1")))
    ingest.invoke({"Records": [message]})
    (first,) = engagement_store.creator_events(MARCH, "creator-1")

    ingest.invoke({"Records": [message]})

    (again,) = engagement_store.creator_events(MARCH, "creator-1")
    assert again["accepted_at"] == first["accepted_at"]


def test_an_event_of_a_closed_period_marks_the_period_as_changed(
    ingest: LocalFunction, engagement_store: EngagementStore
) -> None:
    before = datetime.now(UTC)

    ingest.invoke({"Records": [sqs_record(body(event("e-1")))]})

    assert engagement_store.changed_since(MARCH, before)
    assert not engagement_store.changed_since(Period.parse("2026-02"), before)


# --- transient faults --------------------------------------------------------------------


def _writes_event(event_id: str) -> Any:
    """Selects the write requests that hold the event (its sort key ends in #<id>)."""

    def check(_: int, kwargs: dict[str, Any]) -> bool:
        return f'#{event_id}"' in json.dumps(kwargs["RequestItems"])

    return check


def test_throttling_on_one_write_fails_only_that_message_and_redelivery_makes_counts_exact(
    ingest: LocalFunction, engagement_store: EngagementStore, dynamo_faults: DynamoFaults
) -> None:
    first, second, third = (
        sqs_record(body(event("e-1"))),
        sqs_record(body(event("e-2", post_id="post-2"))),
        sqs_record(body(event("e-3", post_id="post-3"))),
    )
    # The batch's write holding e-2 is throttled, then e-2's own when each message is
    # tried alone: only that message comes back.
    dynamo_faults.throttle("batch_write_item", _writes_event("e-2"), times=2)

    response = ingest.invoke({"Records": [first, second, third]})

    assert failed_ids(response) == {second["messageId"]}
    assert stored_counts(engagement_store, MARCH) == {
        ("creator-1", "post-1", "view"): 10,
        ("creator-1", "post-3", "view"): 10,
    }
    # Lambda redelivers the failed message only.
    redelivered = dict(second, attributes={**second["attributes"], "ApproximateReceiveCount": "2"})
    assert ingest.invoke({"Records": [redelivered]}) == {"batchItemFailures": []}
    assert stored_counts(engagement_store, MARCH) == {
        ("creator-1", "post-1", "view"): 10,
        ("creator-1", "post-2", "view"): 10,
        ("creator-1", "post-3", "view"): 10,
    }


def test_a_message_whose_write_fails_halfway_is_completed_by_its_redelivery(
    ingest: LocalFunction, engagement_store: EngagementStore, dynamo_faults: DynamoFaults
) -> None:
    # 100 events are written in 4 requests of 25 (after the period's change marker);
    # the third request of events fails.
    events = [event(f"e-{i}", count=i + 1, post_id=f"post-{i % 7}") for i in range(100)]
    message = sqs_record(body(*events))
    dynamo_faults.throttle("batch_write_item", _writes_event("e-50"), times=1)

    assert failed_ids(ingest.invoke({"Records": [message]})) == {message["messageId"]}
    assert sum(stored_counts(engagement_store, MARCH).values()) < sum(range(1, 101))

    assert ingest.invoke({"Records": [message]}) == {"batchItemFailures": []}
    assert sum(stored_counts(engagement_store, MARCH).values()) == sum(range(1, 101))


def test_items_left_unprocessed_by_dynamodb_are_written_on_a_retry(
    ingest: LocalFunction,
    engagement_store: EngagementStore,
    dynamo_faults: DynamoFaults,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = dynamo_faults.client
    real = client.batch_write_item
    calls = []

    def leave_first_call_unprocessed(**kwargs: Any) -> Any:
        calls.append(kwargs)
        if len(calls) == 1:
            return {"UnprocessedItems": kwargs["RequestItems"]}
        return real(**kwargs)

    monkeypatch.setattr(client, "batch_write_item", leave_first_call_unprocessed)

    response = ingest.invoke({"Records": [sqs_record(body(event("e-1"), event("e-2")))]})

    assert response == {"batchItemFailures": []}
    assert calls[1]["RequestItems"] == calls[0]["RequestItems"]  # the same items, again
    assert stored_counts(engagement_store, MARCH) == {("creator-1", "post-1", "view"): 20}


def test_a_message_that_keeps_failing_ends_in_the_dead_letter_queue_and_others_pass(
    pipeline: LocalPipeline, engagement_store: EngagementStore, dynamo_faults: DynamoFaults
) -> None:
    dynamo_faults.throttle("batch_write_item", _writes_event("e-poison"))

    pipeline.send_engagement([body(event("e-poison")), body(event("e-ok", post_id="post-2"))])

    assert pipeline.dead_letters()["EngagementDeadLetterQueue"] == 1
    assert stored_counts(engagement_store, MARCH) == {("creator-1", "post-2", "view"): 10}


# --- the property: any delivery pattern counts each event_id once -----------------------


@contextmanager
def fresh_ingestion() -> Iterator[tuple[LocalFunction, EngagementStore]]:
    dependencies.forget()
    with (
        mock.patch.dict(os.environ, CREDENTIALS),
        mock_aws(),
        Emulation(in_process=True) as emulation,
    ):
        pipeline = LocalPipeline(emulation, PROGRAMS)
        table = Table(emulation.dynamodb, emulation.table_name("EngagementTable"))
        yield pipeline.functions["IngestEngagementFunction"], EngagementStore(table)
    dependencies.forget()


distinct_events = st.lists(
    st.builds(
        lambda creator, post, metric, count: {
            "creator_id": f"c{creator}",
            "post_id": f"p{post}",
            "format": "carousel",
            "metric": metric,
            "count": count,
            "occurred_at": "2026-03-15T00:00:00Z",
        },
        st.integers(0, 3),
        st.integers(0, 2),
        st.sampled_from(["view", "like", "comment", "share"]),
        st.integers(-50, 1000).filter(bool),
    ),
    min_size=1,
    max_size=25,
).map(lambda events: [dict(e, event_id=f"e{i}") for i, e in enumerate(events)])


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[list[dict[str, Any]]], int]:
    """Events, the batches Lambda would deliver (messages of one event or an envelope,
    every event at least once, some several times, in any order), and which write fails."""
    events = draw(distinct_events)
    copies = [e for e in events for _ in range(draw(st.integers(1, 3)))]
    copies = draw(st.permutations(copies))
    messages = []
    while copies:
        size = draw(st.integers(1, 6))
        chunk, copies = copies[:size], copies[size:]
        text = json.dumps(chunk[0]) if len(chunk) == 1 else json.dumps({"events": chunk})
        messages.append(sqs_record(text))
    messages += draw(st.lists(st.sampled_from(messages), max_size=3))  # whole-message repeats
    batches = []
    while messages:
        size = draw(st.integers(1, 10))
        batches.append(messages[:size])
        messages = messages[size:]
    return events, batches, draw(st.integers(1, 6))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deliveries())
def test_any_delivery_pattern_counts_each_event_id_exactly_once(
    delivery: tuple[list[dict[str, Any]], list[list[dict[str, Any]]], int],
) -> None:
    events, batches, failing_write = delivery
    with fresh_ingestion() as (ingest, store):
        faults = DynamoFaults(pytest.MonkeyPatch())
        faults.throttle("batch_write_item", lambda n, kw: n == failing_write, times=1)
        try:
            for batch in batches:
                pending = batch
                while pending:  # Lambda redelivers what the function reported
                    failed = failed_ids(ingest.invoke({"Records": pending}))
                    pending = [record for record in pending if record["messageId"] in failed]
        finally:
            faults.monkeypatch.undo()

        expected: dict[tuple[str, str, str], int] = {}
        for e in events:
            key = (e["creator_id"], e["post_id"], e["metric"])
            expected[key] = expected.get(key, 0) + e["count"]
        assert stored_counts(store, MARCH) == expected


@pytest.mark.parametrize(
    "other",
    [
        {"occurred_at": "2026-04-02T08:00:00Z"},  # another instant, in another month
        {"creator_id": "creator-2"},  # another creator
        {"post_id": "post-9"},
    ],
)
def test_an_event_id_sent_again_with_other_content_anywhere_is_a_conflict_and_the_first_stands(
    ingest: LocalFunction,
    engagement_store: EngagementStore,
    rejection_store: RejectionStore,
    other: dict[str, Any],
) -> None:
    # Given e-1 accepted in March
    ingest.invoke({"Records": [sqs_record(body(event("e-1")))]})

    # When e-1 comes again with other content, even for another creator or month
    response = ingest.invoke({"Records": [sqs_record(body(event("e-1", **other)))]})

    # Then it is rejected as a conflicting duplicate and only the first counts
    assert failed_ids(response) == set()
    april = Period.parse("2026-04")
    assert stored_counts(engagement_store, MARCH) == {("creator-1", "post-1", "view"): 10}
    assert stored_counts(engagement_store, april) == {}
    conflicts = rejections(rejection_store, Period.parse(event("e", **other)["occurred_at"][:7]))
    assert [r["reason"] for r in conflicts] == ["conflicting_duplicate"]


def test_two_conflicting_copies_stored_at_the_same_moment_are_counted_once(
    ingest: LocalFunction, engagement_store: EngagementStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given e-1 stored for creator-1, and a conflicting copy for creator-2 whose
    # invocation read before the first one wrote (its dedupe read finds nothing)
    ingest.invoke({"Records": [sqs_record(body(event("e-1")))]})
    monkeypatch.setattr(Table, "batch_get", lambda self, keys, **_: iter(()))

    # When the copy is stored
    response = ingest.invoke({"Records": [sqs_record(body(event("e-1", creator_id="creator-2")))]})

    # Then the event is one item, the later put: it counts once, never for both creators
    assert failed_ids(response) == set()
    assert stored_counts(engagement_store, MARCH) == {("creator-2", "post-1", "view"): 10}


def test_fifty_single_event_messages_are_stored_together_in_a_few_requests(
    ingest: LocalFunction,
    engagement_store: EngagementStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given 50 messages of one event each, delivered in one invocation
    from bonus_engine import aws_clients

    ingest.invoke({"Records": []})  # the function's client exists
    client = aws_clients.dynamodb()
    calls: dict[str, int] = {}
    for operation in ("batch_get_item", "batch_write_item"):
        real = getattr(client, operation)

        def counted(_real: Any = real, _name: str = operation, **kwargs: Any) -> Any:
            calls[_name] = calls.get(_name, 0) + 1
            return _real(**kwargs)

        monkeypatch.setattr(client, operation, counted)
    records = [sqs_record(body(event(f"e-{n}", post_id=f"post-{n}"))) for n in range(50)]

    # When the invocation stores them
    response = ingest.invoke({"Records": records})

    # Then every event is stored, with one dedupe read and writes of 25 (the closed
    # month's change marker, then the events, one item each), not two requests a message
    assert failed_ids(response) == set()
    assert len(stored_counts(engagement_store, MARCH)) == 50
    assert calls == {"batch_get_item": 1, "batch_write_item": 1 + 2}
