"""ComputeBonusShardFunction, a worker: one shard task from the compute queue (score or
issue one bucket of creators for a run). A failure comes back in `batchItemFailures`
and is redelivered; a task that keeps failing ends in the compute dead-letter queue. A
task of a run that lost its period writes nothing, is acknowledged and counted
(`TasksSuperseded`); creators whose computation failed are counted (`CreatorsHeld`)."""

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

from bonus_engine import dependencies, timestamps

logger = Logger()
tracer = Tracer()
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@tracer.capture_method
def record_handler(record: SQSRecord) -> None:
    # The run machinery, on the first record rather than at import (cold start).
    from bonus_engine.bonus_run import ShardTask, run_shard_task

    task = ShardTask.model_validate_json(record.body)
    logger.append_keys(run_id=task.run_id, phase=task.phase, shards=task.shards)
    outcome = run_shard_task(task, timestamps.utc_now(), dependencies.for_shards())
    metrics.add_metric("ShardTasks", MetricUnit.Count, 1)
    if outcome.superseded:
        metrics.add_metric("TasksSuperseded", MetricUnit.Count, 1)
        logger.warning("task of a superseded run: nothing written")
    if outcome.held:
        metrics.add_metric("CreatorsHeld", MetricUnit.Count, outcome.held)
        logger.error("creators held", held=outcome.held)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> Any:
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
