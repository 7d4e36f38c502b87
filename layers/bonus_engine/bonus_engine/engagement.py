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
from bonus_engine.rejections import (
    Rejection,
    RejectionReason,
    RejectionSource,
    bounded_id,
    bounded_text,
    json_excerpt,
    nests_deeper_than,
    storable_text,
)
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
    positions: list[int | None] = field(default_factory=list)  # each event's, in the message
    rejections: list[Rejection] = field(default_factory=list)

    def accept(self, event: EngagementEvent, position: int | None) -> None:
        self.events.append(event)
        self.positions.append(position)


MAX_EVENT_DEPTH = 16  # nesting an event may hold (a valid one has none)
MAX_NUMBER_DIGITS = 30  # digits of a JSON number read as such; longer is refused
LOCATION_PART_LIMIT = 64  # characters of a field name quoted in a detail


class _DuplicateKeys(dict[str, Any]):
    """A JSON object that named one key twice: refused, never silently read (two parsers
    could read two different events from it)."""

    duplicates: list[str]


class _Unreadable(str):
    """A JSON number too long to read, or NaN/Infinity: kept as its text so that the
    event holding it is refused by the field's own rule (and only that event)."""

    __slots__ = ()


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) == len(pairs):
        return document
    flagged = _DuplicateKeys(document)
    seen: set[str] = set()
    flagged.duplicates = []
    for key, _ in pairs:
        if key in seen:
            flagged.duplicates.append(key)
        seen.add(key)
    return flagged


def _number(text: str) -> int | _Unreadable:
    return int(text) if len(text) <= MAX_NUMBER_DIGITS else _Unreadable(text)


def load_json(body: str) -> Any:
    """json.loads that never reads a document two ways (duplicate keys are flagged) and
    never spends unbounded time on a number (very long ones stay text). Raises ValueError
    or RecursionError for what is not JSON."""
    return json.loads(
        body,
        object_pairs_hook=_object,
        parse_int=_number,
        parse_constant=_Unreadable,
    )


def describe_validation_error(error: ValidationError) -> str:
    """`count: must not be zero; quality: Input should be 'organic', ...` (no input echo;
    field names cut to LOCATION_PART_LIMIT characters)."""
    parts = []
    for item in error.errors(include_url=False, include_input=False):
        location = ".".join(_quoted(part) for part in item["loc"]) or "event"
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        parts.append(f"{location}: {message}")
    return bounded_text("; ".join(parts))[0]


def _quoted(part: object) -> str:
    text = storable_text(str(part))
    return text if len(text) <= LOCATION_PART_LIMIT else text[:LOCATION_PART_LIMIT] + "..."


def parse_message(body: str, context: MessageContext, now: datetime) -> ParsedMessage:
    """Split a message body into valid events and rejections. Never raises on input:
    any bytes, depth, size or number give a rejection with a reason."""
    result = ParsedMessage()
    try:
        document = load_json(body)
    except (ValueError, RecursionError) as error:
        detail = f"body is not JSON: {type(error).__name__}: {error}"
        result.rejections.append(
            _rejection(RejectionReason.INVALID_JSON, detail, body, False, context)
        )
        return result

    problem = _envelope_problem(document)
    if problem is not None:
        result.rejections.append(
            _rejection(RejectionReason.INVALID_ENVELOPE, problem, body, False, context)
        )
        return result
    if "events" in document:
        for position, item in enumerate(document["events"]):
            _judge_event(item, position, context, now, result)
    else:
        _judge_event(document, None, context, now, result)
    return result


def _envelope_problem(document: Any) -> str | None:
    """Why the body is neither one event nor exactly {"events": [1..500 items]}."""
    if not isinstance(document, dict):
        return f"body must be one event or an envelope object, got {_json_kind(document)}"
    if "events" not in document:
        return None  # one event (judged on its own, duplicate keys included)
    if isinstance(document, _DuplicateKeys):
        return f"an envelope names a key twice: {_names(document.duplicates)}"
    if set(document) != {"events"}:
        return (
            f"an envelope holds only 'events'; unknown fields: {_names(set(document) - {'events'})}"
        )
    items = document["events"]
    if not isinstance(items, list):
        return "'events' must be a list"
    if not 1 <= len(items) <= MAX_EVENTS_PER_ENVELOPE:
        return f"'events' holds {len(items)} events; 1 to {MAX_EVENTS_PER_ENVELOPE} allowed"
    return None


def _names(names: Any) -> str:
    return ", ".join(repr(_quoted(name)) for name in sorted(names)[:10]) + (
        f" and {len(names) - 10} more" if len(names) > 10 else ""
    )


def _judge_event(
    item: Any, position: int | None, context: MessageContext, now: datetime, into: ParsedMessage
) -> None:
    """One event: accepted into `into`, or rejected with its reason. Never raises."""
    try:
        problem, event = _validate(item, now)
    except Exception as error:  # no input may fail the message: a bug here is a rejection
        problem, event = (
            (RejectionReason.INVALID_EVENT, f"cannot be read: {type(error).__name__}"),
            None,
        )
    if event is not None and problem is None:
        into.accept(event, position)
        return
    assert problem is not None
    reason, detail = problem
    fields = item if isinstance(item, dict) else {}
    period = event.period if event is not None else None
    into.rejections.append(
        _rejection(reason, detail, *event_text(item), context, position, fields, period)
    )


def _validate(
    item: Any, now: datetime
) -> tuple[tuple[RejectionReason, str] | None, EngagementEvent | None]:
    if not isinstance(item, dict):
        return (
            RejectionReason.INVALID_EVENT,
            f"an event must be a JSON object, got {_json_kind(item)}",
        ), None
    if nests_deeper_than(item, MAX_EVENT_DEPTH):
        return (RejectionReason.INVALID_EVENT, f"nested deeper than {MAX_EVENT_DEPTH} levels"), None
    if isinstance(item, _DuplicateKeys):
        return (
            RejectionReason.INVALID_EVENT,
            f"names a key twice: {_names(item.duplicates)}",
        ), None
    try:
        event = EngagementEvent.model_validate(item)
    except ValidationError as error:
        return (RejectionReason.INVALID_EVENT, describe_validation_error(error)), None
    if event.occurred_at > now + FUTURE_TOLERANCE:
        detail = (
            f"occurred_at {to_utc_text(event.occurred_at)} is more than 5 minutes after "
            f"{to_utc_text(now)}"
        )
        return (RejectionReason.OCCURRED_IN_FUTURE, detail), event
    return None, event


def event_text(item: Any) -> tuple[str, bool]:
    """An event's text for a rejection (bounded; a deep or huge event is cut), and
    whether it was cut."""
    return json_excerpt(item, sort_keys=not isinstance(item, _DuplicateKeys))


def rejection_for_conflict(
    event: EngagementEvent, context: MessageContext, position: int | None
) -> Rejection:
    return _rejection(
        RejectionReason.CONFLICTING_DUPLICATE,
        f"event_id {event.event_id} was already accepted with other content; the first stands",
        event.model_dump_json(),
        False,
        context,
        position,
        {"event_id": event.event_id, "creator_id": event.creator_id},
        period=event.period,
    )


def _rejection(
    reason: RejectionReason,
    detail: str,
    raw: str,
    cut: bool,
    context: MessageContext,
    position: int | None = None,
    item: dict[str, Any] | None = None,
    period: Period | None = None,
) -> Rejection:
    item = item or {}
    excerpt, longer = bounded_text(raw)
    return Rejection(
        source=RejectionSource.ENGAGEMENT,
        reason=reason,
        detail=bounded_text(detail)[0],
        period=period or _period_hint(item) or Period.containing(context.received_at),
        received_at=context.received_at,
        raw=excerpt,
        cut=cut or longer,
        position=position,
        message_id=context.message_id,
        event_id=bounded_id(item.get("event_id")),
        creator_id=bounded_id(item.get("creator_id")),
    )


def _period_hint(item: dict[str, Any]) -> Period | None:
    """The period a rejected event belongs to, when its occurred_at can be read."""
    try:
        return Period.containing(parse_rfc3339(item.get("occurred_at")))
    except ValueError:
        return None


def _json_kind(value: Any) -> str:
    return {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )
