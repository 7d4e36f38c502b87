"""CheckEligibilityFunction: creator facts (from the bus, through FactsQueue) -> each
creator's timeline and current decision; `CreatorEligibilityChanged` when a decision
changes.

The messages of an invocation are recorded together (`record_facts`: a Query a creator,
writes of 25, decisions in transactions, announcements 10 a request). A malformed fact is
rejected (kept with its reason) and its message succeeds; a storage or bus failure sends
back, in `batchItemFailures`, the messages of the creators it touched: SQS redelivers
them and, after the queue's maxReceiveCount, moves them to the facts dead-letter queue.
"""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import SQSEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from bonus_engine import dependencies, timestamps

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # The facts, rules and eligibility models, on the first invocation rather than at
    # import (cold start).
    from bonus_engine.creator_facts import record_facts
    from bonus_engine.rejection_metrics import count_by_reason

    records = list(SQSEvent(event).records)
    wired = dependencies.for_eligibility()
    outcomes = record_facts(
        [record.body for record in records],
        timestamps.utc_now(),
        wired.programs,
        wired.facts,
        wired.rejections,
        wired.publisher,
        wired.recompute_window_months,
    )
    metrics.add_metric("Facts", MetricUnit.Count, len(records))
    metrics.add_metric("FactsRecorded", MetricUnit.Count, sum(o.new for o in outcomes))
    metrics.add_metric(
        "FactsDuplicate",
        MetricUnit.Count,
        sum(1 for o in outcomes if o.fact and not o.new and not o.failure),
    )
    metrics.add_metric(
        "EligibilityChanges", MetricUnit.Count, sum(len(o.changed_programs) for o in outcomes)
    )
    count_by_reason(
        metrics, "FactsRejected", [o.rejection for o in outcomes if o.rejection is not None]
    )
    for record, outcome in zip(records, outcomes, strict=True):
        if outcome.rejection is not None:
            logger.warning(
                "fact rejected",
                message_id=record.message_id,
                reason=outcome.rejection.reason.value,
                detail=outcome.rejection.detail,
                period=outcome.rejection.period.name,
            )
        elif outcome.fact is not None and outcome.failure is None:
            logger.info(
                "fact recorded",
                message_id=record.message_id,
                kind=outcome.fact.kind,
                creator_id=outcome.fact.creator_id,
                new=outcome.new,
                changed_programs=outcome.changed_programs,
            )
    failed = [record.message_id for record, o in zip(records, outcomes, strict=True) if o.failure]
    if failed:
        metrics.add_metric("MessagesFailed", MetricUnit.Count, len(failed))
        logger.warning("messages to be redelivered: storage or bus failed", messages=len(failed))
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
