"""Rejections counted in CloudWatch by reason: one metric line a reason, each with the
handler's default dimensions and a `reason` dimension of its own."""

from collections import Counter
from collections.abc import Iterable

from aws_lambda_powertools import Metrics, single_metric
from aws_lambda_powertools.metrics import MetricUnit

from bonus_engine.rejections import Rejection


def count_by_reason(metrics: Metrics, name: str, rejections: Iterable[Rejection]) -> None:
    for reason, count in Counter(r.reason.value for r in rejections).items():
        with single_metric(
            name=name,
            unit=MetricUnit.Count,
            value=count,
            default_dimensions=metrics.default_dimensions,
        ) as metric:
            metric.add_dimension(name="reason", value=reason)
