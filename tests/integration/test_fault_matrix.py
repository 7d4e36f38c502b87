"""Every write path survives a crash at any write, and a stale run never pays.

The fault matrix: a clean run of a small month records every kind of write the functions
make (each DynamoDB write, queue send and bus put, told apart by what it writes). Then,
for each of them, the same month is run again with a crash injected once, just before
that write reaches AWS or just after it landed; Lambda's retries and SQS's redelivery
(as the emulation delivers them) must end in the very same tables: no revision twice, no
statement lost, nothing paid twice, every revision announced.

Then the stale run of a closed defect: a run taken over after its hold went stale, whose
issue tasks come back after the newer run completed, writes nothing.
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from integration_support import BusCapture

from bonus_engine import dependencies
from bonus_engine.periods import Period
from bonus_engine.storage import keys
from bonus_engine.storage.dynamo import Table
from bonus_engine.storage.results_store import ResultsStore, RunStatus
from bonus_engine.timestamps import to_utc_text
from bonus_local.emulator import Emulation
from bonus_local.event_sources import SqsEventSource
from bonus_local.pipeline import LocalPipeline
from bonus_local.replay import read_engagement, read_facts

REPOSITORY = Path(__file__).resolve().parents[2]
SMALL = REPOSITORY / "examples" / "small"
MARCH = Period.parse("2026-03")
WRITES = {
    "PutItem",
    "UpdateItem",
    "BatchWriteItem",
    "TransactWriteItems",
    "SendMessage",
    "SendMessageBatch",
    "PutEvents",
    "PutObject",
}


def site(function: str, operation: str, params: dict[str, Any]) -> str:
    """A kind of write: the function, the operation and what it writes (the key prefix
    or the update's first clause), e.g. `ComputeBonusShardFunction:UpdateItem:ADD scored`."""
    what = ""
    if operation == "BatchWriteItem":
        ((_table, requests),) = params["RequestItems"].items()
        what = requests[0]["PutRequest"]["Item"]["pk"]["S"].split("#", 1)[0]
    elif operation == "PutItem":
        item = params["Item"]
        what = item["sk"]["S"].split("#", 1)[0] if "#" in item["sk"]["S"] else item["sk"]["S"]
        if item["pk"]["S"].startswith("FACTS#"):
            what = "decision" if "~decision" in item["sk"]["S"] else "fact"
            if item.get("announced", {}).get("BOOL"):
                what = "announced"
    elif operation == "UpdateItem":
        what = " ".join(params["UpdateExpression"].split()[:2])
    elif operation == "TransactWriteItems":
        ((kind, first),) = params["TransactItems"][0].items()
        if first.get("Item", {}).get("pk", {}).get("S", "").startswith("FACTS#"):
            # a batch of facts' decisions, or their marks
            what = "announced" if first["Item"]["announced"]["BOOL"] else "decisions"
        else:
            what = "revisions" if kind == "ConditionCheck" else "close"
    elif operation == "PutEvents":
        what = params["Entries"][0]["DetailType"]
    elif operation == "PutObject":
        # payouts:csv, payouts:json (finance's files), runs:csv (a shard's fragment)
        what = params["Key"].split("/", 1)[0] + ":" + params["Key"].rsplit(".", 1)[-1]
    return f"{function}:{operation}:{what}"


class Faults:
    """Records every write's site; crashes once at a chosen site, before or after."""

    def __init__(self) -> None:
        self.sites: list[str] = []
        self.crash_at: tuple[str, str] | None = None  # (site, "before" | "after")
        self.crashed = False
        self._pending: str | None = None

    def before(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        import os

        function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        if function is None or model.name not in WRITES:
            self._pending = None
            return
        where = site(function, model.name, params)
        self.sites.append(where)
        self._pending = where
        if not self.crashed and self.crash_at == (where, "before"):
            self.crashed = True
            raise RuntimeError(f"injected crash before {where}")

    def after(self, **_: Any) -> None:
        where, self._pending = self._pending, None
        if where is not None and not self.crashed and self.crash_at == (where, "after"):
            self.crashed = True
            raise RuntimeError(f"injected crash after {where}")


@pytest.fixture
def faults(pipeline: LocalPipeline) -> Iterator[Faults]:
    recorder = Faults()
    boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    assert session is not None
    session.events.register("before-parameter-build", recorder.before)
    session.events.register("after-call", recorder.after)
    dependencies.forget()  # the functions' clients come from this session
    # Fewer, larger shard tasks: the same code paths at a fraction of the invocations.
    for function in pipeline.functions.values():
        if "BUCKETS_PER_TASK" in function.environment:
            function.environment["BUCKETS_PER_TASK"] = "16"
    yield recorder
    dependencies.forget()


def run_month(pipeline: LocalPipeline, bus: BusCapture) -> dict[str, Any]:
    facts = read_facts(SMALL / "facts.jsonl")
    # Most facts in one batch (their decisions in transactions), the last three one at a
    # time (a decision changed alone: a conditional put and update).
    pipeline.put_facts(facts[:-3])
    for fact in facts[-3:]:
        pipeline.put_facts([fact])
    pipeline.send_engagement(read_engagement(SMALL / "engagement.jsonl"))
    pipeline.request_compute("spring-bonus", MARCH)
    return tables(pipeline, bus)


def tables(pipeline: LocalPipeline, bus: BusCapture) -> dict[str, Any]:
    """What the month left that anybody reads, without run ids and instants."""
    results = pipeline.results
    return {
        "statements": [
            (s.creator_id, s.revision, s.amount_minor, tuple(s.flags), s.digest)
            for s in results.latest_statements("spring-bonus", MARCH)
        ],
        "summaries": [
            (revision, summary.model_dump_json())
            for revision, summary in results.summaries("spring-bonus", MARCH)
        ],
        "announced": sorted(
            {(d["creator_id"], d["revision"]) for d in bus.details("BonusStatementIssued")}
        ),
        # At least once: a crash between the put and its record repeats an announcement.
        "periods_announced": sorted(
            {(d["period"], d["summary_revision"]) for d in bus.details("BonusPeriodComputed")}
        ),
        "rejected": sorted(
            (r["source"], r["reason"], r.get("position"))
            for r in pipeline.rejections_since(datetime(2000, 1, 1, tzinfo=UTC))
        ),
        "dead_letters": pipeline.dead_letters(),
        "payout_files": payout_files(pipeline.emulation),
    }


def payout_files(emulation: Emulation) -> dict[str, bytes]:
    s3, bucket = emulation.s3, emulation.bucket_name("PayoutExportBucket")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="payouts/").get("Contents", [])
    return {
        item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed
    }


@pytest.fixture
def bus(emulation: Emulation) -> BusCapture:
    return BusCapture(emulation, ["BonusStatementIssued", "BonusPeriodComputed"])


# The clean run, computed once: its tables and the write sites it went through.
_CLEAN: dict[str, Any] = {}

EXPECTED_SITES = {
    "IngestEngagementFunction:BatchWriteItem:EVENT",
    "IngestEngagementFunction:BatchWriteItem:CHANGED",
    "IngestEngagementFunction:BatchWriteItem:REJECTED",
    "CheckEligibilityFunction:BatchWriteItem:CHANGED",  # a fact and its change markers
    "CheckEligibilityFunction:BatchWriteItem:REJECTED",
    "CheckEligibilityFunction:PutItem:decision",
    "CheckEligibilityFunction:PutItem:announced",
    "CheckEligibilityFunction:TransactWriteItems:decisions",
    "CheckEligibilityFunction:TransactWriteItems:announced",
    "CheckEligibilityFunction:PutEvents:CreatorEligibilityChanged",
    "StartBonusRunsFunction:UpdateItem:SET active_run_id",
    "StartBonusRunsFunction:PutItem:RUN",
    "StartBonusRunsFunction:SendMessageBatch:",
    "ComputeBonusShardFunction:BatchWriteItem:DRAFT",
    "ComputeBonusShardFunction:PutItem:SCORED",
    "ComputeBonusShardFunction:PutItem:ISSUED",
    "ComputeBonusShardFunction:UpdateItem:ADD scored",
    "ComputeBonusShardFunction:UpdateItem:ADD issued",
    "ComputeBonusShardFunction:UpdateItem:SET settlements",
    "ComputeBonusShardFunction:UpdateItem:SET issue_tasks_sent",
    "ComputeBonusShardFunction:SendMessageBatch:",
    "ComputeBonusShardFunction:BatchWriteItem:STATEMENTS",
    "ComputeBonusShardFunction:TransactWriteItems:close",
    "ComputeBonusShardFunction:UpdateItem:SET announce_tasks_sent",
    "ComputeBonusShardFunction:UpdateItem:ADD announced_shards",
    "ComputeBonusShardFunction:PutEvents:BonusStatementIssued",
    "ComputeBonusShardFunction:PutEvents:BonusPeriodComputed",
    "ComputeBonusShardFunction:UpdateItem:SET announced",
    "ComputeBonusShardFunction:PutObject:runs:csv",
    "ComputeBonusShardFunction:PutObject:payouts:csv",
    "ComputeBonusShardFunction:PutObject:payouts:json",
    "ComputeBonusShardFunction:PutEvents:PayoutFileReady",
}


def clean_run(pipeline: LocalPipeline, bus: BusCapture, faults: Faults) -> dict[str, Any]:
    result = run_month(pipeline, bus)
    return {"tables": result, "sites": set(faults.sites)}


def test_a_clean_run_goes_through_every_kind_of_write_the_matrix_covers(
    pipeline: LocalPipeline, bus: BusCapture, faults: Faults
) -> None:
    clean = clean_run(pipeline, bus, faults)
    _CLEAN.update(clean)

    assert clean["sites"] == EXPECTED_SITES
    assert all(revision == 1 for _, revision, *_ in clean["tables"]["statements"])
    assert clean["tables"]["dead_letters"] == {
        "EngagementDeadLetterQueue": 0,
        "FactsDeadLetterQueue": 0,
        "ComputeDeadLetterQueue": 0,
    }


def reset(emulation: Emulation) -> None:
    """Every emulated resource emptied and provisioned again from the template."""
    from moto.moto_api._internal.models import moto_api_backend

    moto_api_backend.reset()
    emulation.provision()


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("where", sorted(EXPECTED_SITES))
def test_a_crash_at_any_write_ends_in_the_tables_of_a_clean_run(
    pipeline: LocalPipeline,
    emulation: Emulation,
    bus: BusCapture,
    faults: Faults,
    where: str,
    when: str,
) -> None:
    if not _CLEAN:  # the first crash test of a worker makes the clean run to compare with
        _CLEAN.update(clean_run(pipeline, bus, faults))
        reset(emulation)
        bus = BusCapture(emulation, ["BonusStatementIssued", "BonusPeriodComputed"])
    faults.crash_at = (where, when)

    crashed = run_month(pipeline, bus)

    assert faults.crashed, f"the run never reached {where}"
    assert crashed == _CLEAN["tables"]


# --- a stale run --------------------------------------------------------------------------------


def compute_source(pipeline: LocalPipeline) -> SqsEventSource:
    (source,) = [
        s for s in pipeline.sqs_sources if s.function.spec.logical_id == "ComputeBonusShardFunction"
    ]
    return source


def request(pipeline: LocalPipeline, event_id: str) -> dict[str, Any]:
    coordinator = pipeline.functions["StartBonusRunsFunction"]
    result: dict[str, Any] = coordinator.invoke(
        {
            "id": event_id,
            "detail-type": "ComputeBonusesRequested",
            "source": "creator-bonus",
            "time": to_utc_text(datetime.now(UTC)),
            "detail": {"program_id": "spring-bonus", "period": MARCH.name},
        }
    )
    return result


def take_messages(pipeline: LocalPipeline, queue_logical_id: str) -> list[str]:
    """Receive and delete every message on a queue (as if they were in flight)."""
    sqs, url = pipeline.emulation.sqs, pipeline.emulation.queue_url(queue_logical_id)
    bodies = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            bodies.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return bodies


def take_over_while_issuing(
    pipeline: LocalPipeline, emulation: Emulation
) -> tuple[str, str, list[str]]:
    """Run A computes March up to its issue phase, whose tasks are taken off the queue;
    a late event changes alice's points, A's hold goes stale (3 h) and run B takes the
    period over and completes. Returns A's and B's run ids and A's issue tasks."""
    facts = read_facts(SMALL / "facts.jsonl")
    # Most facts in one batch (their decisions in transactions), the last three one at a
    # time (a decision changed alone: a conditional put and update).
    pipeline.put_facts(facts[:-3])
    for fact in facts[-3:]:
        pipeline.put_facts([fact])
    pipeline.send_engagement(read_engagement(SMALL / "engagement.jsonl"))
    results = ResultsStore(Table(emulation.dynamodb, emulation.table_name("BonusResultsTable")))
    stale = request(pipeline, "request-a")["started"][0]["run_id"]
    source = compute_source(pipeline)
    while (run := results.run("spring-bonus", MARCH, stale)) and not run.issue_tasks_sent:
        assert source.poll_once() > 0
    in_flight = take_messages(pipeline, "ComputeQueue")
    assert in_flight
    late = json.loads(read_engagement(SMALL / "engagement.jsonl")[0])
    late = late["events"][0] if "events" in late else late
    pipeline.send_engagement([json.dumps({**late, "event_id": "late-1", "count": 900_000})])
    emulation.dynamodb.update_item(
        TableName=emulation.table_name("BonusResultsTable"),
        Key={k: {"S": v} for k, v in keys.period_state_key("spring-bonus", MARCH).items()},
        UpdateExpression="SET active_since = :old",
        ExpressionAttributeValues={
            ":old": {"S": to_utc_text(datetime.now(UTC) - timedelta(hours=4))}
        },
    )
    newer = request(pipeline, "request-b")["started"][0]["run_id"]
    pipeline.settle()
    return stale, newer, in_flight


@pytest.mark.parametrize("emulation", ["patched", "stock"], indirect=True)
def test_issue_tasks_of_a_taken_over_run_redelivered_after_the_newer_run_write_nothing(
    pipeline: LocalPipeline, emulation: Emulation, bus: BusCapture
) -> None:
    results = ResultsStore(Table(emulation.dynamodb, emulation.table_name("BonusResultsTable")))
    # Given run A scored and settled March with its issue tasks in flight, and run B took
    # the period over (A's hold went stale) and completed on a late event
    stale, newer, in_flight = take_over_while_issuing(pipeline, emulation)
    before = tables(pipeline, bus)

    # When A's issue tasks come back (a third receive, or a redrive from the DLQ)
    url = emulation.queue_url("ComputeQueue")
    for body in in_flight:
        emulation.sqs.send_message(QueueUrl=url, MessageBody=body)
    pipeline.settle()

    # Then A wrote nothing: the statements, summaries and announcements are B's
    assert tables(pipeline, bus) == before
    assert all(revision == 1 for _, revision, *_ in before["statements"])
    final = results.run("spring-bonus", MARCH, stale)
    assert final is not None
    assert final.status == RunStatus.SUPERSEDED
    newest = results.run("spring-bonus", MARCH, newer)
    assert newest is not None
    assert newest.status == RunStatus.COMPLETE


def test_issue_tasks_that_lose_the_period_after_their_check_write_revisions_nobody_reads(
    pipeline: LocalPipeline, emulation: Emulation, bus: BusCapture, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = ResultsStore(Table(emulation.dynamodb, emulation.table_name("BonusResultsTable")))
    # Given run A settled March with its issue tasks in flight, and run B took the period
    # over (A's hold went stale) and completed on a late event
    stale, _, in_flight = take_over_while_issuing(pipeline, emulation)
    before = tables(pipeline, bus)

    # When A's issue tasks run as if they had passed the fence just before B took over
    monkeypatch.setattr(ResultsStore, "holds_period", lambda self, run: True)
    url = emulation.queue_url("ComputeQueue")
    for body in in_flight:
        emulation.sqs.send_message(QueueUrl=url, MessageBody=body)
    pipeline.settle()

    # Then A's revisions are stored but nobody reads them: A could not commit, so the
    # statements, summaries, announcements and payout files are still B's alone
    stored = emulation.dynamodb.scan(TableName=emulation.table_name("BonusResultsTable"))["Items"]
    assert any(item["sk"]["S"].endswith(f"#{stale}") for item in stored)
    assert tables(pipeline, bus) == before
    state = results.period_state("spring-bonus", MARCH)
    assert state is not None
    assert stale not in state.committed_runs
    alice = results.revisions("spring-bonus", MARCH, "alice")
    assert {revision.revision for revision in alice} == {1}


def test_a_retried_start_resumes_the_same_run_instead_of_refusing_itself(
    pipeline: LocalPipeline, emulation: Emulation
) -> None:
    # Given the coordinator claimed March and failed to send the fan-out
    facts = read_facts(SMALL / "facts.jsonl")
    # Most facts in one batch (their decisions in transactions), the last three one at a
    # time (a decision changed alone: a conditional put and update).
    pipeline.put_facts(facts[:-3])
    for fact in facts[-3:]:
        pipeline.put_facts([fact])
    pipeline.send_engagement(read_engagement(SMALL / "engagement.jsonl"))
    coordinator = pipeline.functions["StartBonusRunsFunction"]
    first = request(pipeline, "request-1")
    take_messages(pipeline, "ComputeQueue")  # the fan-out is lost

    # When the same event is delivered again (Lambda's retry of the failed invocation)
    again = request(pipeline, "request-1")
    pipeline.settle()

    # Then it is the same run, which completes
    assert coordinator is not None
    assert again["started"][0]["run_id"] == first["started"][0]["run_id"]
    results = ResultsStore(Table(emulation.dynamodb, emulation.table_name("BonusResultsTable")))
    run = results.run("spring-bonus", MARCH, first["started"][0]["run_id"])
    assert run is not None
    assert run.status == RunStatus.COMPLETE
    assert results.period_state("spring-bonus", MARCH).active_run_id is None  # type: ignore[union-attr]
