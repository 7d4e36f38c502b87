"""CheckEligibilityFunction: a creator fact from the bus -> the creator's timeline and
current decision; `CreatorEligibilityChanged` when the decision changes.

A malformed fact is rejected (kept with its reason) and the invocation succeeds; a
storage or bus failure raises, so Lambda retries the event and, after its retries,
sends it to the facts dead-letter queue.
"""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from bonus_engine import dependencies, timestamps

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context(correlation_id_path="id")
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The facts, rules and eligibility models, on the first invocation rather than at
    # import (cold start).
    from bonus_engine.creator_facts import record_fact

    wired = dependencies.for_eligibility()
    outcome = record_fact(
        event,
        timestamps.utc_now(),
        wired.programs,
        wired.facts,
        wired.rejections,
        wired.publisher,
        wired.recompute_window_months,
    )
    metrics.add_metric("Facts", MetricUnit.Count, 1)
    if outcome.rejection is not None:
        metrics.add_dimension(name="reason", value=outcome.rejection.reason.value)
        metrics.add_metric("FactsRejected", MetricUnit.Count, 1)
        logger.warning(
            "fact rejected",
            reason=outcome.rejection.reason.value,
            detail=outcome.rejection.detail,
            period=outcome.rejection.period.name,
        )
        return {"status": "rejected", "reason": outcome.rejection.reason.value}
    assert outcome.fact is not None
    metrics.add_metric("FactsRecorded" if outcome.new else "FactsDuplicate", MetricUnit.Count, 1)
    metrics.add_metric("EligibilityChanges", MetricUnit.Count, len(outcome.changed_programs))
    logger.info(
        "fact recorded",
        kind=outcome.fact.kind,
        creator_id=outcome.fact.creator_id,
        new=outcome.new,
        changed_programs=outcome.changed_programs,
    )
    return {
        "status": "recorded" if outcome.new else "duplicate",
        "changed_programs": outcome.changed_programs,
    }
