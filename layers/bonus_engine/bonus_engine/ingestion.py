"""Ingesting engagement messages: validate, store what is new, keep what is rejected.

All the messages of one invocation are stored together (one dedupe read per 100 events,
BatchWriteItems of 25, whatever the shape the producers send), while each message keeps
its own outcome: when storage fails for the batch, each message is tried alone, so that
only the messages that still fail come back from the queue.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bonus_engine.engagement import (
    EngagementEvent,
    MessageContext,
    ParsedMessage,
    parse_message,
    rejection_for_conflict,
)
from bonus_engine.rejections import Rejection
from bonus_engine.storage.dynamo import TransientStorageError
from bonus_engine.storage.engagement_store import EngagementStore
from bonus_engine.storage.rejections_store import RejectionStore


@dataclass(frozen=True)
class IngestOutcome:
    accepted: int  # new events stored
    duplicates: int  # events already stored (a redelivery, or repeated in the batch)
    rejections: tuple[Rejection, ...]
    failed: bool = False  # storage failed: the message comes back to be redelivered


@dataclass(frozen=True)
class Message:
    body: str
    context: MessageContext


def ingest_messages(
    messages: Sequence[Message],
    now: datetime,
    engagement: EngagementStore,
    rejections: RejectionStore,
) -> list[IngestOutcome]:
    """One outcome per message, in order. Never raises on bad input; a transient storage
    failure marks only the messages that keep failing when stored one at a time.
    Everything written before a failure is written again identically on redelivery."""
    if not messages:
        return []
    parsed = [parse_message(m.body, m.context, now) for m in messages]
    try:
        return _store(parsed, messages, now, engagement, rejections)
    except TransientStorageError:
        if len(messages) == 1:
            return [IngestOutcome(0, 0, (), failed=True)]
    outcomes = []
    for single, message in zip(parsed, messages, strict=True):
        try:
            outcomes += _store([single], [message], now, engagement, rejections)
        except TransientStorageError:
            outcomes.append(IngestOutcome(0, 0, (), failed=True))
    return outcomes


def _store(
    parsed: Sequence[ParsedMessage],
    messages: Sequence[Message],
    now: datetime,
    engagement: EngagementStore,
    rejections: RejectionStore,
) -> list[IngestOutcome]:
    events: list[EngagementEvent] = []
    owner: list[int] = []  # the message each event came from
    for number, message in enumerate(parsed):
        events += message.events
        owner += [number] * len(message.events)
    recorded = engagement.record(events, accepted_at=now, marker_id=messages[0].context.message_id)
    found: list[list[Rejection]] = [list(message.rejections) for message in parsed]
    offsets = _offsets(parsed)
    for index in recorded.conflicts:
        number = owner[index]
        position = parsed[number].positions[index - offsets[number]]
        found[number].append(
            rejection_for_conflict(events[index], messages[number].context, position)
        )
    rejections.record([rejection for per_message in found for rejection in per_message])
    new = {id(event) for event in recorded.new}
    duplicates = {id(event) for event in recorded.duplicates}
    return [
        IngestOutcome(
            accepted=sum(1 for event in message.events if id(event) in new),
            duplicates=sum(1 for event in message.events if id(event) in duplicates),
            rejections=tuple(found[number]),
        )
        for number, message in enumerate(parsed)
    ]


def _offsets(parsed: Sequence[ParsedMessage]) -> list[int]:
    offsets, total = [], 0
    for message in parsed:
        offsets.append(total)
        total += len(message.events)
    return offsets


def ingest_message(
    body: str,
    context: MessageContext,
    now: datetime,
    engagement: EngagementStore,
    rejections: RejectionStore,
) -> IngestOutcome:
    """One message alone. Raises TransientStorageError when storage fails."""
    (outcome,) = ingest_messages([Message(body, context)], now, engagement, rejections)
    if outcome.failed:
        raise TransientStorageError("storing the message failed; it comes back")
    return outcome
