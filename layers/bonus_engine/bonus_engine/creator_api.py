"""The creator and operator API's reads and its one request (SPEC section 7).

Each function checks who may ask, reads what it needs from the stores (at most three
DynamoDB requests per call) and hands plain data to `creator_view`. Refusals are
`ApiError`s; the handler turns them into `{"error", "message"}` in the reader's language.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError
from pydantic import BaseModel, ConfigDict, StrictBool, ValidationError

from bonus_engine import creator_view
from bonus_engine.api_access import (
    ApiError,
    Caller,
    not_found,
    require_operator,
    require_reader_of,
)
from bonus_engine.bonus_run import STALE_RUN, refusal_for, run_id_for
from bonus_engine.eligibility import facts_before, latest_profile
from bonus_engine.facts import Fact
from bonus_engine.identifiers import require_id
from bonus_engine.messaging import EVENT_SOURCE, DeliveryError
from bonus_engine.periods import Period
from bonus_engine.program_rules import LoadedProgram, PoolPayout
from bonus_engine.rejections import RejectionReason, RejectionSource
from bonus_engine.storage.engagement_store import EngagementStore
from bonus_engine.storage.facts_store import FactsStore
from bonus_engine.storage.rejections_store import RejectionStore
from bonus_engine.storage.results_store import ResultsStore
from bonus_engine.storage.retention import ENGAGEMENT_DAYS

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient

COMPUTE_REQUESTED = "ComputeBonusesRequested"
PAGE_LIMIT = 100
DEFAULT_PAGE = 50

Json = dict[str, Any]


class ComputeRequests:
    """Puts `ComputeBonusesRequested` on the bus, as an operator's request."""

    def __init__(self, client: "EventBridgeClient", bus_name: str) -> None:
        self.client = client
        self.bus_name = bus_name

    def send(self, program_id: str, period: Period, dry_run: bool) -> str:
        """Put the request; returns its EventBridge event id."""
        entry = {
            "Source": EVENT_SOURCE,
            "DetailType": COMPUTE_REQUESTED,
            "Detail": json.dumps(
                {"program_id": program_id, "period": period.name, "dry_run": dry_run},
                sort_keys=True,
            ),
            "EventBusName": self.bus_name,
        }
        try:
            response = self.client.put_events(Entries=[entry])  # type: ignore[list-item]
        except (ClientError, ConnectionError, HTTPClientError) as error:
            raise DeliveryError(f"PutEvents: {error}") from error
        (result,) = response["Entries"]
        if result.get("ErrorCode") or "EventId" not in result:
            raise DeliveryError(f"PutEvents: {result.get('ErrorCode')}")
        return result["EventId"]


@dataclass(frozen=True)
class ApiContext:
    programs: dict[str, LoadedProgram]
    facts: FactsStore
    engagement: EngagementStore
    results: ResultsStore
    rejections: RejectionStore
    compute_requests: ComputeRequests
    retention_days: int = ENGAGEMENT_DAYS  # template: EngagementRetentionDays


# --- parsing path and query values ---------------------------------------------------


def _program(context: ApiContext, program_id: str) -> LoadedProgram:
    program = context.programs.get(program_id)
    if program is None:
        raise not_found()
    return program


def _period(text: str) -> Period:
    try:
        return Period.parse(text)
    except ValueError:
        raise ApiError(400, "invalid_period") from None


def _creator(caller: Caller, creator_id: str) -> str:
    require_reader_of(caller, creator_id)
    try:
        return require_id("creator_id", creator_id)
    except ValueError:
        raise not_found() from None


# --- the routes ------------------------------------------------------------------------


def criteria(context: ApiContext, caller: Caller, program_id: str, locale: str) -> Json:
    """Any token. No DynamoDB request: the rules are deployed with the function."""
    return creator_view.criteria_view(_program(context, program_id), locale)


def eligibility(
    context: ApiContext,
    caller: Caller,
    creator_id: str,
    program_id: str,
    now: datetime,
    locale: str,
) -> Json:
    """That creator or an operator. One Query (the creator's facts)."""
    creator_id = _creator(caller, creator_id)
    program = _program(context, program_id)
    facts = context.facts.creator(creator_id).facts
    if not facts:
        raise not_found()
    return creator_view.eligibility_view(program.rules, creator_id, facts, now, locale)


def progress(
    context: ApiContext,
    caller: Caller,
    creator_id: str,
    program_id: str,
    period_text: str,
    now: datetime,
    locale: str,
) -> Json:
    """That creator or an operator. An open period: facts, events and (pool markets) the
    provisional settlement. A closed one: the statement revisions, then the events (with
    a statement) or the facts and the events (without one). At most three requests."""
    creator_id = _creator(caller, creator_id)
    program = _program(context, program_id)
    period = _period(period_text)
    closed = period.end <= now
    statement = None
    if closed:
        revisions = context.results.revisions(program_id, period, creator_id)
        statement = revisions[-1] if revisions else None
    facts = [] if statement is not None else context.facts.creator(creator_id).facts
    events = context.engagement.creator_events(period, creator_id)
    if statement is None and not facts and not events:
        raise not_found()
    provisional = None
    if not closed and _in_pool_market(program, facts, now):
        stored = context.results.provisional(program_id, period)
        if stored is not None:
            provisional = creator_view.ProvisionalRates(
                as_of=stored.as_of,
                settlements={name: record.restore() for name, record in stored.settlements.items()},
            )
    return creator_view.progress_view(
        program,
        period,
        creator_id,
        events,
        facts,
        now,
        locale,
        provisional=provisional,
        statement=statement,
    )


def _in_pool_market(program: LoadedProgram, facts: list[Fact], now: datetime) -> bool:
    profile = latest_profile(facts_before(facts, now))
    market = program.rules.markets.get(profile.country) if profile else None
    return market is not None and isinstance(market.payout, PoolPayout)


def statement(
    context: ApiContext,
    caller: Caller,
    creator_id: str,
    program_id: str,
    period_text: str,
    locale: str,
) -> Json:
    """That creator or an operator. One Query (every revision)."""
    creator_id = _creator(caller, creator_id)
    _program(context, program_id)
    period = _period(period_text)
    revisions = context.results.revisions(program_id, period, creator_id)
    if not revisions:
        raise not_found()
    return creator_view.statement_view(revisions, locale)


def summary(
    context: ApiContext, caller: Caller, program_id: str, period_text: str, locale: str
) -> Json:
    """Operators. One Query (the summary revisions)."""
    require_operator(caller)
    _program(context, program_id)
    period = _period(period_text)
    summaries = context.results.summaries(program_id, period)
    if not summaries:
        raise not_found()
    revision, latest = summaries[-1]
    return creator_view.summary_view(revision, latest, locale)


def rejections(
    context: ApiContext,
    caller: Caller,
    program_id: str,
    period_text: str,
    query: dict[str, str],
) -> Json:
    """Operators. One Query: a page of the period's rejected input of one source
    (`engagement` unless `source=facts`), optionally of one reason."""
    require_operator(caller)
    _program(context, program_id)
    period = _period(period_text)
    try:
        source = RejectionSource(query.get("source") or RejectionSource.ENGAGEMENT.value)
        reason = RejectionReason(query["reason"]) if query.get("reason") else None
        limit = int(query.get("limit") or DEFAULT_PAGE)
    except ValueError as error:
        raise ApiError(400, "invalid_request", detail=str(error)) from None
    if not 1 <= limit <= PAGE_LIMIT:
        raise ApiError(400, "invalid_request", detail=f"limit must be 1 to {PAGE_LIMIT}")
    try:
        items, cursor = context.rejections.page(
            source, period, reason, limit=limit, cursor=query.get("cursor") or None
        )
    except ValueError:
        raise ApiError(400, "invalid_cursor") from None
    return {
        "program_id": program_id,
        "period": period.name,
        "source": source.value,
        "reason": reason.value if reason else None,
        "rejections": [_rejection(item) for item in items],
        "next_cursor": cursor,
    }


def _rejection(item: Json) -> Json:
    shown = {key: value for key, value in item.items() if key != "expires_at"}
    if shown.get("position") is not None:
        shown["position"] = int(shown["position"])
    return shown


class _ComputeBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    dry_run: StrictBool = False


def request_compute(
    context: ApiContext,
    caller: Caller,
    program_id: str,
    period_text: str,
    body: str | None,
    now: datetime,
) -> Json:
    """Operators. Checks the period, then puts `ComputeBonusesRequested` on the bus (one
    GetItem, one PutEvents); the coordinator starts the run with the returned id."""
    require_operator(caller)
    program = _program(context, program_id)
    period = _period(period_text)
    try:
        request = _ComputeBody.model_validate_json(body or "{}")
    except ValidationError as error:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}"
            for e in error.errors(include_url=False, include_input=False)
        )
        raise ApiError(400, "invalid_request", detail=detail) from None
    refusal = compute_refusal(program, period, now, context.retention_days)
    if refusal is not None:
        raise refusal
    state = context.results.period_state(program_id, period)
    if (
        state is not None
        and state.active_run_id is not None
        and state.active_since is not None
        and state.active_since > now - STALE_RUN
    ):
        raise ApiError(409, "run_in_progress")
    event_id = context.compute_requests.send(program_id, period, request.dry_run)
    return {
        "run_id": run_id_for(event_id, program_id, period),
        "program_id": program_id,
        "period": period.name,
        "dry_run": request.dry_run,
    }


def compute_refusal(
    program: LoadedProgram, period: Period, now: datetime, retention_days: int
) -> ApiError | None:
    """Why a period cannot be computed now, if it cannot: the coordinator's own reasons."""
    refusal = refusal_for(program, period, now, retention_days)
    return None if refusal is None else ApiError(422, refusal.reason.value)
