"""Rejected input, kept with a reason code and enough context for an operator to act.

A rejection's id is derived from what was rejected (the raw text and its position), so
the redelivery of a bad message overwrites its earlier rejection instead of adding one.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bonus_engine.periods import Period

RAW_TEXT_LIMIT = 8_000  # characters of the offending input kept on the rejection


class RejectionSource(StrEnum):
    ENGAGEMENT = "engagement"
    FACTS = "facts"


class RejectionReason(StrEnum):
    # engagement messages and events (SPEC section 1)
    INVALID_JSON = "invalid_json"
    INVALID_ENVELOPE = "invalid_envelope"
    INVALID_EVENT = "invalid_event"
    OCCURRED_IN_FUTURE = "occurred_in_future"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    # creator facts (SPEC section 2)
    INVALID_FACT = "invalid_fact"
    UNKNOWN_FACT_TYPE = "unknown_fact_type"


@dataclass(frozen=True)
class Rejection:
    source: RejectionSource
    reason: RejectionReason
    detail: str
    period: Period
    received_at: datetime
    raw: str
    position: int | None = None
    message_id: str | None = None
    event_id: str | None = None
    creator_id: str | None = None

    @property
    def rejection_id(self) -> str:
        digest = hashlib.sha256(self.raw.encode()).hexdigest()[:32]
        return digest if self.position is None else f"{digest}:{self.position}"

    @property
    def raw_excerpt(self) -> str:
        return self.raw[:RAW_TEXT_LIMIT]

    @property
    def raw_truncated(self) -> bool:
        return len(self.raw) > RAW_TEXT_LIMIT
