"""The whole pipeline on the emulation: facts through the bus and the template's rules to
the eligibility function, engagement through the queue to the ingestion function, and
the period computed by the coordinator and the shard workers, all as AWS would deliver.
"""

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bonus_engine import timestamps
from bonus_engine.computation import RunSummary
from bonus_engine.periods import Period
from bonus_engine.statements import StatementRevision
from bonus_engine.storage.dynamo import Table, from_attributes
from bonus_engine.storage.results_store import ResultsStore
from bonus_engine.timestamps import to_utc_text
from bonus_local.emulator import Emulation, stand_in_queue_name
from bonus_local.event_sources import RuleTarget, SqsEventSource
from bonus_local.lambda_runtime import FunctionOutput, LocalFunction

# The template's logical ids the pipeline feeds (a test checks they exist).
ENGAGEMENT_QUEUE = "EngagementQueue"
COMPUTE_QUEUE = "ComputeQueue"
RESULTS_TABLE = "BonusResultsTable"
REJECTIONS_TABLE = "RejectionsTable"

SQS_MESSAGE_LIMIT = 262_144  # bytes, one message and one batch
DRAIN_EVERY = 100  # messages sent between drains: the emulated queue stays shallow

Progress = Callable[[int], None]


def _no_progress(_: int) -> None:
    return None


class LocalPipeline:
    def __init__(
        self, emulation: Emulation, program_rules_dir: Path, output: FunctionOutput | None = None
    ) -> None:
        self.emulation = emulation
        self.output = output or FunctionOutput()
        template = emulation.template
        sqs = emulation.sqs
        self._sqs = sqs
        self._events = emulation.events
        self.functions = {
            function_id: LocalFunction(
                spec, emulation.environment(function_id, program_rules_dir), self.output
            )
            for function_id, spec in template.functions.items()
        }
        self.sqs_sources: list[SqsEventSource] = []
        self.rule_targets: list[RuleTarget] = []
        for function_id, spec in template.functions.items():
            for event in spec.events:
                if event.type == "SQS":
                    queue = template.queue_for_arn(event.properties["Queue"])
                    self.sqs_sources.append(
                        SqsEventSource(
                            function=self.functions[function_id],
                            sqs=sqs,
                            queue_url=emulation.queue_urls[queue.name],
                            batch_size=int(event.properties.get("BatchSize", 10)),
                            reports_item_failures="ReportBatchItemFailures"
                            in event.properties.get("FunctionResponseTypes", []),
                        )
                    )
                elif event.type == "EventBridgeRule":
                    failure = spec.event_invoke_config.get("DestinationConfig", {}).get(
                        "OnFailure", {}
                    )
                    self.rule_targets.append(
                        RuleTarget(
                            function=self.functions[function_id],
                            sqs=sqs,
                            queue_url=emulation.queue_urls[
                                stand_in_queue_name(function_id, event.name)
                            ],
                            retry_attempts=int(
                                spec.event_invoke_config.get("MaximumRetryAttempts", 2)
                            ),
                            on_failure_url=(
                                emulation.queue_urls[
                                    template.queue_for_arn(failure["Destination"]).name
                                ]
                                if failure
                                else None
                            ),
                        )
                    )
        self.scheduled = [
            self.functions[function_id]
            for function_id, spec in template.functions.items()
            if any(event.type == "Schedule" for event in spec.events)
        ]

    # --- inputs -------------------------------------------------------------------------

    def put_facts(
        self, entries: Sequence[dict[str, Any]], progress: Progress = _no_progress
    ) -> None:
        """Put each entry ({source, detail-type, detail}) on the bus, 10 a request, and
        deliver what the rules matched every DRAIN_EVERY entries (the queues stay
        shallow)."""
        for chunk in range(0, len(entries), DRAIN_EVERY):
            delivered = entries[chunk : chunk + DRAIN_EVERY]
            for start in range(0, len(delivered), 10):
                batch = delivered[start : start + 10]
                response = self._events.put_events(
                    Entries=[
                        {
                            "Source": entry["source"],
                            "DetailType": entry["detail-type"],
                            "Detail": json.dumps(entry["detail"]),
                            "EventBusName": self.emulation.bus_name,
                        }
                        for entry in batch
                    ]
                )
                if response.get("FailedEntryCount"):
                    raise RuntimeError(f"PutEvents refused entries: {response['Entries']}")
            self.settle()
            progress(len(delivered))

    def send_engagement(self, bodies: Iterable[str], progress: Progress = _no_progress) -> None:
        """Send each body as one message to the engagement queue (batches of up to 10
        and 256 KB), delivering to the ingestion function as Lambda would."""
        queue_url = self.emulation.queue_url(ENGAGEMENT_QUEUE)
        batch: list[str] = []
        size = 0
        sent_since_drain = 0
        for body in bodies:
            body_size = len(body.encode())
            if batch and (len(batch) == 10 or size + body_size > SQS_MESSAGE_LIMIT):
                self._send_batch(queue_url, batch)
                sent_since_drain += len(batch)
                progress(len(batch))
                batch, size = [], 0
                if sent_since_drain >= DRAIN_EVERY:
                    self.drain_queues()
                    sent_since_drain = 0
            batch.append(body)
            size += body_size
        if batch:
            self._send_batch(queue_url, batch)
            progress(len(batch))
        self.drain_queues()

    def _send_batch(self, queue_url: str, bodies: list[str]) -> None:
        response = self._sqs.send_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "MessageBody": body} for i, body in enumerate(bodies)],
        )
        if response.get("Failed"):
            raise RuntimeError(f"SendMessageBatch refused messages: {response['Failed']}")

    # --- the computation ----------------------------------------------------------------

    def request_compute(self, program_id: str, period: Period, dry_run: bool = False) -> None:
        """Put `ComputeBonusesRequested` on the bus and run what follows to the end."""
        self._events.put_events(
            Entries=[
                {
                    "Source": "creator-bonus",
                    "DetailType": "ComputeBonusesRequested",
                    "Detail": json.dumps(
                        {"program_id": program_id, "period": period.name, "dry_run": dry_run}
                    ),
                    "EventBusName": self.emulation.bus_name,
                }
            ]
        )
        self.settle()

    def fire_schedule(self, at: datetime) -> None:
        """Invoke the scheduled functions with the event the hourly schedule sends, at `at`
        (moto does not fire schedules), and run what follows to the end."""
        event = {
            "version": "0",
            "id": f"schedule-{at.timestamp():.0f}",
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": "123456789012",
            "time": to_utc_text(at).replace(".000000", ""),
            "region": "us-east-1",
            "resources": ["arn:aws:events:us-east-1:123456789012:rule/hourly"],
            "detail": {},
        }
        with frozen_clock(at):  # the functions read the clock the schedule fired at
            for function in self.scheduled:
                function.invoke(event)
            self.settle()

    # --- delivery -----------------------------------------------------------------------

    def drain_rules(self) -> int:
        return sum(target.drain() for target in self.rule_targets)

    def drain_queues(self) -> int:
        return sum(source.drain() for source in self.sqs_sources)

    def settle(self) -> None:
        """Deliver until nothing is left anywhere (a delivery can cause others)."""
        while self.drain_rules() + self.drain_queues():
            pass

    # --- reading what it produced -------------------------------------------------------

    @property
    def results(self) -> ResultsStore:
        return ResultsStore(
            Table(self.emulation.dynamodb, self.emulation.table_name(RESULTS_TABLE))
        )

    def statements(self, program_id: str, period: Period) -> list[StatementRevision]:
        return self.results.latest_statements(program_id, period)

    def latest_summary(self, program_id: str, period: Period) -> tuple[int, RunSummary] | None:
        summaries = self.results.summaries(program_id, period)
        return summaries[-1] if summaries else None

    def rejections_since(self, since: datetime) -> list[dict[str, Any]]:
        """Every rejection (engagement and facts) received at or after `since`."""
        client = self.emulation.dynamodb
        table = self.emulation.table_name(REJECTIONS_TABLE)
        found = []
        for page in client.get_paginator("scan").paginate(
            TableName=table,
            FilterExpression="received_at >= :since",
            ExpressionAttributeValues={":since": {"S": to_utc_text(since)}},
        ):
            found += [from_attributes(attributes) for attributes in page.get("Items", [])]
        return sorted(
            found,
            key=lambda r: (r["source"], r["received_at"], int(r.get("position") or 0), r["sk"]),
        )

    def dead_letters(self) -> dict[str, int]:
        """How many messages each dead-letter queue holds."""
        counts = {}
        for logical_id, queue in self.emulation.template.queues.items():
            if "DeadLetter" not in logical_id:
                continue
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=self.emulation.queue_urls[queue.name],
                AttributeNames=["ApproximateNumberOfMessages"],
            )["Attributes"]
            counts[logical_id] = int(attributes["ApproximateNumberOfMessages"])
        return counts


def utc_now() -> datetime:
    return datetime.now(UTC)


@contextmanager
def frozen_clock(instant: datetime) -> Iterator[None]:
    """Every function's clock (`bonus_engine.timestamps.utc_now`) reads `instant`."""
    original = timestamps.utc_now
    timestamps.utc_now = lambda: instant
    try:
        yield
    finally:
        timestamps.utc_now = original
