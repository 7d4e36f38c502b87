"""StartBonusRunsFunction, the coordinator: the hourly schedule starts every due period
that needs computing; `ComputeBonusesRequested` on the bus (re)computes one period.
It only starts runs: the shards on the compute queue do the work."""

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from bonus_engine import dependencies
from bonus_engine.bonus_run import RequestRefused, start_due_runs, start_requested_run
from bonus_engine.timestamps import parse_rfc3339

logger = Logger()
tracer = Tracer()
metrics = Metrics()

COMPUTE_REQUESTED = "ComputeBonusesRequested"


@logger.inject_lambda_context(correlation_id_path="id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    run_context, window_months = dependencies.for_coordinator()
    now = datetime.now(UTC)
    if event.get("detail-type") == COMPUTE_REQUESTED:
        try:
            run = start_requested_run(event.get("detail"), now, run_context)
        except RequestRefused as refusal:
            metrics.add_metric("RequestsRefused", MetricUnit.Count, 1)
            logger.warning("compute request refused", reason=str(refusal))
            return {"started": [], "refused": str(refusal)}
        started = [run]
    else:
        started = start_due_runs(_event_time(event), now, window_months, run_context)
    metrics.add_metric("RunsStarted", MetricUnit.Count, len(started))
    for run in started:
        logger.info(
            "run started",
            run_id=run.run_id,
            program_id=run.program_id,
            period=run.period.name,
            trigger=run.trigger,
            dry_run=run.dry_run,
        )
    return {
        "started": [
            {"run_id": r.run_id, "program_id": r.program_id, "period": r.period.name}
            for r in started
        ]
    }


def _event_time(event: dict[str, Any]) -> datetime:
    """The instant the schedule fired (EventBridge's `time`)."""
    try:
        return parse_rfc3339(event.get("time"))
    except ValueError:
        return datetime.now(UTC)
