"""ComputeBonusShardFunction, a worker: one shard task from the compute queue (score or
issue one bucket of creators for a run). A failure comes back in `batchItemFailures`
and is redelivered; a task that keeps failing ends in the compute dead-letter queue."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from bonus_engine import dependencies
from bonus_engine.bonus_run import ShardTask, run_shard_task

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    task = ShardTask.model_validate_json(record.body)
    logger.append_keys(run_id=task.run_id, phase=task.phase, buckets=task.buckets)
    run_shard_task(task, datetime.now(UTC), dependencies.for_shards())
    metrics.add_metric(f"Shards_{task.phase}", MetricUnit.Count, 1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    metrics.add_metric("ShardTasks", MetricUnit.Count, len(event.get("Records", [])))
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
