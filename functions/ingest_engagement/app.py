"""IngestEngagementFunction: SQS engagement messages -> stored events and rejections.

The messages of an invocation are stored together (`ingest_messages`: one dedupe read per
100 events, writes of 25, however many events each message holds); each message is still
a unit: it succeeds (its events stored, its bad events rejected) or it comes back alone in
`batchItemFailures` (a transient storage failure). The partial batch response is built
here rather than by Powertools' BatchProcessor, whose record handler sees one message at
a time and so cannot store a batch together.
"""

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import SQSEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from bonus_engine import dependencies, timestamps

if TYPE_CHECKING:
    from bonus_engine.ingestion import IngestOutcome

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The engagement models, on the first invocation rather than at import (cold start).
    from bonus_engine.engagement import MessageContext
    from bonus_engine.ingestion import Message, ingest_messages

    records = list(SQSEvent(event).records)
    metrics.add_metric("Messages", MetricUnit.Count, len(records))
    messages = [
        Message(
            record.body,
            MessageContext(
                message_id=record.message_id,
                received_at=datetime.fromtimestamp(
                    int(record.attributes.sent_timestamp) / 1000, UTC
                ),
            ),
        )
        for record in records
    ]
    stores = dependencies.for_ingestion()
    outcomes = ingest_messages(messages, timestamps.utc_now(), stores.engagement, stores.rejections)
    _report(outcomes)
    return {
        "batchItemFailures": [
            {"itemIdentifier": record.message_id}
            for record, outcome in zip(records, outcomes, strict=True)
            if outcome.failed
        ]
    }


def _report(outcomes: "list[IngestOutcome]") -> None:
    metrics.add_metric("EventsAccepted", MetricUnit.Count, sum(o.accepted for o in outcomes))
    metrics.add_metric("EventsDuplicate", MetricUnit.Count, sum(o.duplicates for o in outcomes))
    failed = sum(1 for o in outcomes if o.failed)
    if failed:
        metrics.add_metric("MessagesFailed", MetricUnit.Count, failed)
        logger.warning("messages to be redelivered: storage failed", messages=failed)
    from bonus_engine.rejection_metrics import count_by_reason

    rejections = [r for outcome in outcomes for r in outcome.rejections]
    count_by_reason(metrics, "EventsRejected", rejections)
    for rejection in rejections:
        # Bounded: detail and ids are cut (bonus_engine.rejections), so a line stays
        # under 16 KB whatever arrived.
        logger.warning(
            "engagement rejected",
            reason=rejection.reason.value,
            detail=rejection.detail,
            message_id=rejection.message_id,
            position=rejection.position,
            event_id=rejection.event_id,
            period=rejection.period.name,
        )
