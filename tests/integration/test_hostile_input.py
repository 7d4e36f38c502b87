"""No input, however malformed, reaches a dead-letter queue or crashes a function (SPEC 1
and 2): generated bodies and facts through the real handlers on moto, with the cases
that once did (each named after what it broke) kept as examples.

What must hold for every input: the handler returns; it reports no failed message; each
bad event is one rejection with a reason; every good event beside it is stored once; and
every item written fits DynamoDB's 400 KB (and the rejection's texts their 8 KB)."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from integration_support import sqs_record

from bonus_engine import dependencies
from bonus_engine.rejections import TEXT_LIMIT_BYTES, RejectionReason
from bonus_engine.storage.dynamo import Table
from bonus_engine.storage.facts_store import FactsStore
from bonus_local.emulator import Emulation
from bonus_local.lambda_runtime import LocalFunction
from bonus_local.pipeline import LocalPipeline

ITEM_LIMIT = 400 * 1024
REASONS = {reason.value for reason in RejectionReason}


# --- what the functions write, measured ------------------------------------------------------


class WrittenItems:
    """Every item the functions put, by table, with its size as DynamoDB counts it
    (attribute names and values in UTF-8; a close upper bound is enough here)."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        if model.service_model.service_name != "dynamodb":
            return
        for requests in params.get("RequestItems", {}).values():
            for request in requests:
                if "PutRequest" in request:
                    self.sizes.append(_size(request["PutRequest"]["Item"]))
        if "Item" in params:
            self.sizes.append(_size(params["Item"]))


def _size(attributes: dict[str, Any]) -> int:
    return len(json.dumps(attributes, ensure_ascii=False).encode("utf-8", "surrogatepass"))


@pytest.fixture
def written(pipeline: LocalPipeline) -> Iterator[WrittenItems]:
    recorder = WrittenItems()
    boto3.setup_default_session()
    assert boto3.DEFAULT_SESSION is not None
    boto3.DEFAULT_SESSION.events.register("before-parameter-build", recorder)
    dependencies.forget()  # the functions' clients come from the recording session
    yield recorder
    dependencies.forget()


# --- engagement bodies -----------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    text: str  # the event's JSON text, as it appears in the body
    event_id: str | None  # set for a valid event: it must be stored once


def valid_event(n: int, creator: str) -> Part:
    event_id = f"ok-{n}"
    document = {
        "event_id": event_id,
        "creator_id": creator,
        "post_id": f"p-{n % 3}",
        "format": "reel",
        "metric": "view",
        "count": n + 1,
        "occurred_at": "2026-03-10T12:00:00Z",
    }
    return Part(json.dumps(document), event_id)


def event_text(**fields: Any) -> str:
    document = {
        "event_id": "bad-1",
        "creator_id": "c-bad",
        "post_id": "p",
        "format": "reel",
        "metric": "view",
        "count": 1,
        "occurred_at": "2026-03-10T12:00:00Z",
        **fields,
    }
    return json.dumps(document)


def nested(depth: int) -> str:
    return '{"event_id": "deep", "x": ' + "[" * depth + "]" * depth + "}"


# Bad events, each the JSON text of one item of an envelope.
BAD_EVENTS = [
    "{}",
    "null",
    '"an event"',
    "[1, 2, 3]",
    event_text(event_id="\\ud800"),  # a lone surrogate in the idempotency key
    event_text(creator_id="a\\udfff"),
    event_text(post_id="p#forged"),
    event_text(count=0),
    event_text(count=10**12),
    '{"event_id": "n1", "count": 1e400}',
    '{"event_id": "n2", "count": ' + "9" * 5000 + "}",  # past Python's int digits limit
    '{"event_id": "n3", "count": NaN}',
    '{"event_id": "n4", "count": -Infinity}',
    event_text(occurred_at="2999-01-01T00:00:00Z"),
    event_text(occurred_at="2026-03-10 12:00"),
    event_text(quality="bot"),
    event_text(extra=True),
    event_text()[:-1] + ', "count": 2}',  # a key named twice
    '{"' + "k" * 60_000 + '": 1}',  # a huge unknown key
    event_text(note="x" * 30_000),
    nested(20),
    nested(700),
]

bad_events = st.sampled_from(BAD_EVENTS) | st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
).map(json.dumps)


@st.composite
def envelopes(draw: st.DrawFn) -> list[Part]:
    size = draw(st.integers(min_value=1, max_value=12))
    parts = []
    for n in range(size):
        if draw(st.booleans()):
            parts.append(valid_event(n, f"c-{n % 2}"))
        else:
            parts.append(Part(draw(bad_events), None))
    return parts


def envelope_body(parts: list[Part]) -> str:
    return '{"events": [' + ", ".join(part.text for part in parts) + "]}"


def stored_event_ids(emulation: Emulation) -> list[str]:
    table = emulation.table_name("EngagementTable")
    items = emulation.dynamodb.scan(TableName=table)["Items"]
    return sorted(
        # pk: EVENT#<event_id>; no id admits `#`
        item["pk"]["S"].removeprefix("EVENT#")
        for item in items
        if item["pk"]["S"].startswith("EVENT#")
    )


def rejections(emulation: Emulation) -> list[dict[str, Any]]:
    table = emulation.table_name("RejectionsTable")
    return emulation.dynamodb.scan(TableName=table)["Items"]


def assert_bounded(found: list[dict[str, Any]], written: WrittenItems) -> None:
    assert all(size < ITEM_LIMIT for size in written.sizes)
    for item in found:
        assert item["reason"]["S"] in REASONS
        for name in ("raw", "detail"):
            assert len(item[name]["S"].encode("utf-8")) <= TEXT_LIMIT_BYTES


def reset(emulation: Emulation) -> None:
    """Empty the tables between generated examples (one emulation for all of them)."""
    for logical_id in ("EngagementTable", "RejectionsTable"):
        table = emulation.table_name(logical_id)
        for item in emulation.dynamodb.scan(TableName=table)["Items"]:
            emulation.dynamodb.delete_item(
                TableName=table, Key={"pk": item["pk"], "sk": item["sk"]}
            )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(parts=envelopes())
@example(parts=[valid_event(0, "c-0"), Part(BAD_EVENTS[4], None)])
@example(parts=[valid_event(0, "c-0"), Part(nested(700), None), valid_event(1, "c-1")])
@example(parts=[Part('{"' + "k" * 250_000 + '": 1}', None), valid_event(1, "c-1")])
def test_an_envelope_of_good_and_bad_events_stores_the_good_and_rejects_each_bad_one(
    ingest: LocalFunction, emulation: Emulation, written: WrittenItems, parts: list[Part]
) -> None:
    reset(emulation)
    body = envelope_body(parts)

    response = ingest.invoke({"Records": [sqs_record(body, message_id="m-1")]})

    assert response == {"batchItemFailures": []}
    assert stored_event_ids(emulation) == sorted(p.event_id for p in parts if p.event_id)
    found = rejections(emulation)
    assert len(found) == sum(1 for p in parts if p.event_id is None)
    assert_bounded(found, written)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=st.text(max_size=300)
    | st.binary(max_size=300).map(lambda b: b.decode("latin-1"))
    | st.sampled_from(
        [
            "[" * 100_000 + "]" * 100_000,  # deeper than any parser's recursion
            '{"events": []}',
            '{"events": [' + ", ".join(["{}"] * 501) + "]}",
            '{"events": [{}], "events": [{}]}',
            '{"events": [{}], "\\ud800": 1}',
            '{"events": {}}',
            "x" * 250_000,
        ]
    )
)
def test_a_body_that_is_not_one_event_or_an_envelope_is_one_rejection(
    ingest: LocalFunction, emulation: Emulation, written: WrittenItems, body: str
) -> None:
    reset(emulation)

    response = ingest.invoke({"Records": [sqs_record(body, message_id="m-1")]})

    assert response == {"batchItemFailures": []}
    found = rejections(emulation)
    assert stored_event_ids(emulation) == []
    assert len(found) >= 1
    assert_bounded(found, written)


def test_a_conflicting_copy_named_twice_in_one_envelope_is_two_rejections(
    ingest: LocalFunction, emulation: Emulation
) -> None:
    # Given [A, B, B] where B has A's event_id and other content (two rejections with the
    # same text once shared a key, and the batch write refused them: dead letters)
    first = valid_event(0, "c-0")
    copy = Part(first.text.replace('"count": 1', '"count": 5'), None)

    response = ingest.invoke(
        {"Records": [sqs_record(envelope_body([first, copy, copy]), message_id="m-1")]}
    )

    assert response == {"batchItemFailures": []}
    assert stored_event_ids(emulation) == ["ok-0"]
    assert sorted(item["reason"]["S"] for item in rejections(emulation)) == [
        "conflicting_duplicate",
        "conflicting_duplicate",
    ]


def test_the_same_bad_body_in_three_messages_is_three_rejections_and_a_redelivery_none_more(
    ingest: LocalFunction, emulation: Emulation
) -> None:
    records = [sqs_record("{}", message_id=f"m-{n}") for n in range(3)]

    ingest.invoke({"Records": records})
    ingest.invoke({"Records": [records[0]]})  # SQS delivers m-0 again

    assert len(rejections(emulation)) == 3


def test_a_long_key_is_cut_in_the_rejection_and_said_so(
    ingest: LocalFunction, emulation: Emulation
) -> None:
    body = json.dumps({"events": [{"k" * 255_000: 1}]})

    ingest.invoke({"Records": [sqs_record(body, message_id="m-1")]})

    (item,) = rejections(emulation)
    assert len(item["detail"]["S"].encode()) <= TEXT_LIMIT_BYTES
    assert len(item["raw"]["S"].encode()) <= TEXT_LIMIT_BYTES
    assert item["raw_truncated"]["BOOL"] is True


# --- creator facts ---------------------------------------------------------------------------


FACT_DETAILS = st.fixed_dictionaries(
    {
        "creator_id": st.sampled_from(["c-1", "\ud800", "a#b", "x" * 70]),
        "occurred_at": st.just("2026-03-01T00:00:00Z"),
    },
    optional={
        "program_id": st.sampled_from(["spring-bonus", "", "p" * 100]),
        "bonus_cap": st.sampled_from(
            ["1e1000000", "1e-500000", "0", "-1", "1.001", "9" * 16, "NaN", "100.5", 100]
        ),
        "extra": st.recursive(st.text(max_size=5), lambda c: st.lists(c, max_size=2), max_leaves=4),
    },
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    detail_type=st.sampled_from(["CreatorInvited", "PolicyStrikeIssued", "Nope", "\ud800"]),
    detail=FACT_DETAILS,
)
def test_a_fact_of_any_shape_is_recorded_or_rejected_never_raised(
    pipeline: LocalPipeline,
    emulation: Emulation,
    written: WrittenItems,
    detail_type: str,
    detail: dict[str, Any],
) -> None:
    result, rejected = deliver_fact(pipeline, detail_type, detail)

    assert result == {"batchItemFailures": []}  # recorded or rejected: never sent back
    assert all(size < ITEM_LIMIT for size in written.sizes)
    assert {r["reason"] for r in rejected} <= {"invalid_fact", "unknown_fact_type"}


@pytest.mark.parametrize("cap", ["1e1000000", "1e-500000", "0", "0.00", "1.001", "9" * 16, "+5"])
def test_a_bonus_cap_out_of_bounds_is_an_invalid_fact(pipeline: LocalPipeline, cap: str) -> None:
    detail = {
        "creator_id": "c-1",
        "occurred_at": "2026-03-01T00:00:00Z",
        "program_id": "spring-bonus",
        "bonus_cap": cap,
    }

    result, rejected = deliver_fact(pipeline, "CreatorInvited", detail)

    assert result == {"batchItemFailures": []}
    assert [r["reason"] for r in rejected] == ["invalid_fact"]


def test_the_widest_bonus_cap_is_accepted(pipeline: LocalPipeline) -> None:
    detail = {
        "creator_id": "c-1",
        "occurred_at": "2026-03-01T00:00:00Z",
        "program_id": "spring-bonus",
        "bonus_cap": "9" * 15 + ".99",
    }

    result, rejected = deliver_fact(pipeline, "CreatorInvited", detail)

    assert (result, rejected) == ({"batchItemFailures": []}, [])
    emulation = pipeline.emulation
    facts = FactsStore(Table(emulation.dynamodb, emulation.table_name("CreatorFactsTable")))
    (fact,) = facts.timeline("c-1")
    assert fact.kind == "CreatorInvited"


def deliver_fact(
    pipeline: LocalPipeline, detail_type: str, detail: Any
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Deliver one fact to the eligibility function as FactsQueue would: the handler's
    result, and the rejections it stored."""
    since = datetime.now(UTC) - timedelta(seconds=1)
    event = {"id": "evt-1", "detail-type": detail_type, "source": "creators", "detail": detail}
    eligibility = pipeline.functions["CheckEligibilityFunction"]
    result = eligibility.invoke({"Records": [sqs_record(json.dumps(event))]})
    return result, pipeline.rejections_since(since)


@pytest.mark.parametrize("emulation", ["patched", "stock"], indirect=True)
def test_no_sample_or_hostile_input_left_anything_in_a_dead_letter_queue(
    pipeline: LocalPipeline,
) -> None:
    # Through the queue and the bus, as AWS delivers: the worst bodies and facts above
    pipeline.send_engagement([envelope_body([Part(t, None)]) for t in BAD_EVENTS[:12]])
    pipeline.send_engagement(["[" * 100_000 + "]" * 100_000, "x" * 250_000])
    pipeline.put_facts(
        [
            {
                "source": "creators",
                "detail-type": "CreatorInvited",
                "detail": {
                    "creator_id": "\ud800",
                    "occurred_at": "2026-03-01T00:00:00Z",
                    "program_id": "spring-bonus",
                    "bonus_cap": "1e1000000",
                },
            }
        ]
    )

    assert pipeline.dead_letters() == {
        "EngagementDeadLetterQueue": 0,
        "FactsDeadLetterQueue": 0,
        "ComputeDeadLetterQueue": 0,
    }
