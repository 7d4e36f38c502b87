"""Ingesting one engagement message: validate, store what is new, keep what is rejected."""

from dataclasses import dataclass
from datetime import datetime

from bonus_engine.engagement import MessageContext, parse_message, rejection_for_conflict
from bonus_engine.rejections import Rejection
from bonus_engine.storage.engagement_store import EngagementStore
from bonus_engine.storage.rejections_store import RejectionStore


@dataclass(frozen=True)
class IngestOutcome:
    accepted: int  # new events stored
    duplicates: int  # events already stored (a redelivery, or repeated in the message)
    rejections: tuple[Rejection, ...]


def ingest_message(
    body: str,
    context: MessageContext,
    now: datetime,
    engagement: EngagementStore,
    rejections: RejectionStore,
) -> IngestOutcome:
    """Raises TransientStorageError when storage fails; everything written before the
    failure is written again identically when the message comes back."""
    parsed = parse_message(body, context, now)
    recorded = engagement.record(parsed.events, accepted_at=now, marker_id=context.message_id)
    rejected = parsed.rejections + [
        rejection_for_conflict(parsed.events[index], context, parsed.positions[index])
        for index in recorded.conflicts
    ]
    rejections.record(rejected)
    return IngestOutcome(
        accepted=len(recorded.new), duplicates=len(recorded.duplicates), rejections=tuple(rejected)
    )
