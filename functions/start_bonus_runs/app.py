"""StartBonusRunsFunction, the coordinator: the hourly schedule starts every due period
that needs computing (and a provisional run of each open period); a
`ComputeBonusesRequested` on the bus (re)computes one period. It only starts runs: the
shards on the compute queue do the work. A start is idempotent on what asked for it (the
event's id), so a retried invocation resumes the same run."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from bonus_engine import dependencies, timestamps

logger = Logger()
tracer = Tracer()
metrics = Metrics()

COMPUTE_REQUESTED = "ComputeBonusesRequested"


@logger.inject_lambda_context(correlation_id_path="id")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The run machinery, on the first invocation rather than at import (cold start).
    from bonus_engine.bonus_run import (
        RequestRefused,
        ScheduleRefused,
        start_due_runs,
        start_requested_run,
    )

    run_context, window_months = dependencies.for_coordinator()
    now = timestamps.utc_now()
    trigger_id = str(event.get("id") or "")[:128] or None
    if event.get("detail-type") == COMPUTE_REQUESTED:
        try:
            run = start_requested_run(event.get("detail"), now, run_context, trigger_id)
        except RequestRefused as refusal:
            metrics.add_dimension("reason", refusal.reason.value)
            metrics.add_metric("RequestsRefused", MetricUnit.Count, 1)
            logger.warning(
                "compute request refused", reason=refusal.reason.value, detail=str(refusal)
            )
            return {"started": [], "refused": refusal.reason.value, "detail": str(refusal)}
        started = [run]
    else:
        try:
            scheduled_at = timestamps.parse_rfc3339(event.get("time"))
            started = start_due_runs(scheduled_at, now, window_months, run_context, trigger_id)
        except (ValueError, ScheduleRefused) as refusal:
            metrics.add_metric("SchedulesRefused", MetricUnit.Count, 1)
            logger.error("schedule event refused", detail=str(refusal)[:1000])
            return {"started": [], "refused": "schedule_time", "detail": str(refusal)}
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
            {
                "run_id": r.run_id,
                "program_id": r.program_id,
                "period": r.period.name,
                "trigger": r.trigger,
            }
            for r in started
        ]
    }
