"""Engagement events from the SQS queue (SPEC section 1): parsed, validated, classified.

A message body holds one event or an `{"events": [...]}` envelope of 1 to 500. Each
event is judged on its own: a bad event is rejected with its reason and never blocks the
valid events beside it.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator

from bonus_engine.identifiers import CreatorId, EventId, PostId
from bonus_engine.periods import Period
from bonus_engine.rejections import Rejection, RejectionReason, RejectionSource
from bonus_engine.timestamps import Rfc3339, parse_rfc3339, to_utc_text

Format = Literal["reel", "carousel", "standard"]
Metric = Literal["view", "like", "comment", "share"]
Quality = Literal["organic", "self", "paid", "invalid"]

FORMATS: tuple[Format, ...] = ("reel", "carousel", "standard")
METRICS: tuple[Metric, ...] = ("view", "like", "comment", "share")
QUALITIES: tuple[Quality, ...] = ("organic", "self", "paid", "invalid")

MAX_EVENTS_PER_ENVELOPE = 500
MAX_ABS_COUNT = 1_000_000_000
FUTURE_TOLERANCE = timedelta(minutes=5)


class EngagementEvent(BaseModel):
    """One engagement event as it arrives. Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    event_id: EventId
    creator_id: CreatorId
    post_id: PostId
    format: Format
    metric: Metric
    count: StrictInt = Field(ge=-MAX_ABS_COUNT, le=MAX_ABS_COUNT)
    occurred_at: Rfc3339
    quality: Quality = "organic"

    @field_validator("count")
    @classmethod
    def _non_zero(cls, count: int) -> int:
        if count == 0:
            raise ValueError("must not be zero")
        return count

    @property
    def period(self) -> Period:
        return Period.containing(self.occurred_at)

    @property
    def content_digest(self) -> str:
        """What the event says, independent of how it was written (offsets, defaults).
        Two deliveries of one event have the same digest."""
        canonical = "|".join(
            (
                self.event_id,
                self.creator_id,
                self.post_id,
                self.format,
                self.metric,
                str(self.count),
                to_utc_text(self.occurred_at),
                self.quality,
            )
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class MessageContext:
    """Where a message came from: enough to name it in a rejection."""

    message_id: str
    received_at: datetime  # when the queue first received it (SQS SentTimestamp)


@dataclass
class ParsedMessage:
    events: list[EngagementEvent] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


def describe_validation_error(error: ValidationError) -> str:
    """`count: must not be zero; quality: Input should be 'organic', ...` (no input echo)."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"]) or "event"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        parts.append(f"{location}: {message}")
    return "; ".join(parts)


def parse_message(body: str, context: MessageContext, now: datetime) -> ParsedMessage:
    """Split a message body into valid events and rejections (never raises on bad input)."""
    result = ParsedMessage()
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as error:
        result.rejections.append(
            _rejection(RejectionReason.INVALID_JSON, f"body is not JSON: {error}", body, context)
        )
        return result

    if isinstance(document, dict) and "events" in document:
        items = document["events"]
        problem = None
        if set(document) != {"events"}:
            extra = sorted(set(document) - {"events"})
            problem = f"an envelope holds only 'events'; unknown fields: {extra}"
        elif not isinstance(items, list):
            problem = "'events' must be a list"
        elif not 1 <= len(items) <= MAX_EVENTS_PER_ENVELOPE:
            problem = f"'events' holds {len(items)} events; 1 to {MAX_EVENTS_PER_ENVELOPE} allowed"
        if problem:
            result.rejections.append(
                _rejection(RejectionReason.INVALID_ENVELOPE, problem, body, context)
            )
            return result
        for position, item in enumerate(items):
            _judge_event(item, position, context, now, result)
    elif isinstance(document, dict):
        _judge_event(document, None, context, now, result)
    else:
        result.rejections.append(
            _rejection(
                RejectionReason.INVALID_ENVELOPE,
                f"body must be one event or an envelope object, got {_json_kind(document)}",
                body,
                context,
            )
        )
    return result


def _judge_event(
    item: Any, position: int | None, context: MessageContext, now: datetime, into: ParsedMessage
) -> None:
    raw = json.dumps(item, sort_keys=True, ensure_ascii=False)
    if not isinstance(item, dict):
        into.rejections.append(
            _rejection(
                RejectionReason.INVALID_EVENT,
                f"an event must be a JSON object, got {_json_kind(item)}",
                raw,
                context,
                position,
            )
        )
        return
    try:
        event = EngagementEvent.model_validate(item)
    except ValidationError as error:
        into.rejections.append(
            _rejection(
                RejectionReason.INVALID_EVENT,
                describe_validation_error(error),
                raw,
                context,
                position,
                item,
            )
        )
        return
    if event.occurred_at > now + FUTURE_TOLERANCE:
        into.rejections.append(
            _rejection(
                RejectionReason.OCCURRED_IN_FUTURE,
                f"occurred_at {to_utc_text(event.occurred_at)} is more than 5 minutes after "
                f"{to_utc_text(now)}",
                raw,
                context,
                position,
                item,
                period=event.period,
            )
        )
        return
    into.events.append(event)


def rejection_for_conflict(
    event: EngagementEvent, context: MessageContext, position: int | None
) -> Rejection:
    return _rejection(
        RejectionReason.CONFLICTING_DUPLICATE,
        f"event_id {event.event_id} was already accepted with other content; the first stands",
        event.model_dump_json(),
        context,
        position,
        {"event_id": event.event_id, "creator_id": event.creator_id},
        period=event.period,
    )


def _rejection(
    reason: RejectionReason,
    detail: str,
    raw: str,
    context: MessageContext,
    position: int | None = None,
    item: dict[str, Any] | None = None,
    period: Period | None = None,
) -> Rejection:
    item = item or {}
    return Rejection(
        source=RejectionSource.ENGAGEMENT,
        reason=reason,
        detail=detail,
        period=period or _period_hint(item) or Period.containing(context.received_at),
        received_at=context.received_at,
        raw=raw,
        position=position,
        message_id=context.message_id,
        event_id=_text_field(item, "event_id"),
        creator_id=_text_field(item, "creator_id"),
    )


def _period_hint(item: dict[str, Any]) -> Period | None:
    """The period a rejected event belongs to, when its occurred_at can be read."""
    try:
        return Period.containing(parse_rfc3339(item.get("occurred_at")))
    except ValueError:
        return None


def _text_field(item: dict[str, Any], name: str) -> str | None:
    value = item.get(name)
    return value[:128] if isinstance(value, str) else None


def _json_kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
