"""CreatorApiFunction: the creator and operator HTTP API (SPEC section 7).

The doorway only: the route, the caller (from the claims API Gateway's JWT authorizer
validated), the language, then one call into `bonus_engine.creator_api` and the JSON
response. Logs carry the route, the status and the error code, never an amount.

Each route imports `bonus_engine.creator_api` (and with it the computation it reads
through) when it is first called, not at import: a cold start pays only for the doorway.
"""

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from bonus_engine import dependencies, i18n
from bonus_engine.api_access import ApiError, Caller, caller_from_claims
from bonus_engine.storage.dynamo import TransientStorageError

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayHttpResolver()

Json = dict[str, Any]


def _locale() -> str:
    return i18n.negotiate(app.current_event.headers.get("accept-language"))


def _caller() -> Caller:
    context = app.current_event.raw_event.get("requestContext") or {}
    claims = ((context.get("authorizer") or {}).get("jwt") or {}).get("claims")
    return caller_from_claims(claims if isinstance(claims, dict) else None)


def _json(status: int, body: Json) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, ensure_ascii=False, sort_keys=True),
        headers={"Content-Language": _locale(), "Cache-Control": "no-store"},
    )


def _answer(read: Callable[[Caller], Json], status: int = 200) -> Response[str]:
    return _json(status, read(_caller()))


@app.get("/programs/<program_id>/criteria")
def criteria(program_id: str) -> Response[str]:
    from bonus_engine import creator_api

    context = dependencies.for_api()
    return _answer(lambda caller: creator_api.criteria(context, caller, program_id, _locale()))


@app.get("/creators/<creator_id>/programs/<program_id>/eligibility")
def eligibility(creator_id: str, program_id: str) -> Response[str]:
    from bonus_engine import creator_api

    context = dependencies.for_api()
    return _answer(
        lambda caller: creator_api.eligibility(
            context, caller, creator_id, program_id, datetime.now(UTC), _locale()
        )
    )


@app.get("/creators/<creator_id>/programs/<program_id>/periods/<period>/progress")
def progress(creator_id: str, program_id: str, period: str) -> Response[str]:
    from bonus_engine import creator_api

    context = dependencies.for_api()
    return _answer(
        lambda caller: creator_api.progress(
            context, caller, creator_id, program_id, period, datetime.now(UTC), _locale()
        )
    )


@app.get("/creators/<creator_id>/programs/<program_id>/periods/<period>/statement")
def statement(creator_id: str, program_id: str, period: str) -> Response[str]:
    from bonus_engine import creator_api

    context = dependencies.for_api()
    return _answer(
        lambda caller: creator_api.statement(
            context, caller, creator_id, program_id, period, _locale()
        )
    )


@app.get("/programs/<program_id>/periods/<period>/summary")
def summary(program_id: str, period: str) -> Response[str]:
    from bonus_engine import creator_api

    context = dependencies.for_api()
    return _answer(
        lambda caller: creator_api.summary(context, caller, program_id, period, _locale())
    )


@app.get("/programs/<program_id>/periods/<period>/rejections")
def rejections(program_id: str, period: str) -> Response[str]:
    from bonus_engine import creator_api

    context = dependencies.for_api()
    query = dict(app.current_event.query_string_parameters or {})
    return _answer(
        lambda caller: creator_api.rejections(context, caller, program_id, period, query)
    )


@app.post("/programs/<program_id>/periods/<period>/compute")
def compute(program_id: str, period: str) -> Response[str]:
    from bonus_engine import creator_api

    context = dependencies.for_api()
    body = app.current_event.decoded_body
    return _answer(
        lambda caller: creator_api.request_compute(
            context, caller, program_id, period, body, datetime.now(UTC)
        ),
        status=202,
    )


def _error(status: int, code: str, **values: str) -> Response[str]:
    logger.info("request refused", status=status, error=code)
    metrics.add_metric("RequestsRefused", MetricUnit.Count, 1)
    return _json(
        status, {"error": code, "message": i18n.text(_locale(), f"error.{code}", None, **values)}
    )


@app.exception_handler(ApiError)
def refused(error: ApiError) -> Response[str]:
    return _error(error.status, error.code, **error.values)


@app.exception_handler(TransientStorageError)
def unavailable(error: TransientStorageError) -> Response[str]:
    logger.warning("transient failure", error=type(error).__name__)
    return _error(503, "internal")


@app.exception_handler(Exception)
def failed(error: Exception) -> Response[str]:
    logger.exception("request failed", error=type(error).__name__)
    return _error(500, "internal")


@app.not_found
def unknown_route(_: Exception) -> Response[str]:
    return _error(404, "not_found")


@logger.inject_lambda_context(correlation_id_path="requestContext.requestId")
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    logger.append_keys(route=event.get("routeKey"))
    response = app.resolve(event, context)
    metrics.add_metric("ApiRequests", MetricUnit.Count, 1)
    return response
