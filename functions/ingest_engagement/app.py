"""IngestEngagementFunction: SQS engagement messages -> stored events and rejections.

Each message is a unit: it succeeds (its events stored, its bad events rejected) or it
comes back in `batchItemFailures` to be redelivered (a transient storage failure).
"""

from collections import Counter
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer, single_metric
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from bonus_engine import dependencies, timestamps
from bonus_engine.engagement import MessageContext
from bonus_engine.ingestion import ingest_message

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    stores = dependencies.for_ingestion()
    sent_at = datetime.fromtimestamp(int(record.attributes.sent_timestamp) / 1000, UTC)
    outcome = ingest_message(
        record.body,
        MessageContext(message_id=record.message_id, received_at=sent_at),
        timestamps.utc_now(),
        stores.engagement,
        stores.rejections,
    )
    metrics.add_metric("EventsAccepted", MetricUnit.Count, outcome.accepted)
    metrics.add_metric("EventsDuplicate", MetricUnit.Count, outcome.duplicates)
    for reason, count in Counter(r.reason.value for r in outcome.rejections).items():
        with single_metric(
            name="EventsRejected",
            unit=MetricUnit.Count,
            value=count,
            default_dimensions=metrics.default_dimensions,
        ) as metric:
            metric.add_dimension(name="reason", value=reason)
    for rejection in outcome.rejections:
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


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    metrics.add_metric("Messages", MetricUnit.Count, len(event.get("Records", [])))
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
