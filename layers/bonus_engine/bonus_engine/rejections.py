"""Rejected input, kept with a reason code and enough context for an operator to act.

A rejection is bounded whatever arrived: its offending text (`raw`) and its `detail` keep
at most TEXT_LIMIT_BYTES of UTF-8 each, every other text field at most ID_LIMIT
characters, and a lone surrogate (which UTF-8 cannot hold) is written as its `\\udxxx`
escape. So no input can make a rejection item, or the log line that reports it, too big
to store or to write.

A rejection's id is derived from where the input came from (the SQS message id and the
event's position in it; an EventBridge event's id), never from its content alone: the
redelivery of one message overwrites its own rejections, while the same bad body sent in
two messages is two rejections (SPEC section 1).
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bonus_engine.periods import Period

EXCERPT_DEPTH_LIMIT = 64  # a value nested deeper is described, not serialised

TEXT_LIMIT_BYTES = 8 * 1024  # of the offending text, and of the detail (SPEC section 1)
ID_LIMIT = 128  # characters of an id read from rejected input


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


def storable_text(text: str) -> str:
    """The text with each lone surrogate written as its escape (`\\ud800`): what UTF-8,
    DynamoDB and a log line can hold. Valid text is returned as it is."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def bounded_text(text: str, limit_bytes: int = TEXT_LIMIT_BYTES) -> tuple[str, bool]:
    """At most `limit_bytes` of UTF-8 (cut on a character boundary), storable; and
    whether anything was cut."""
    encoded = storable_text(text).encode("utf-8")
    if len(encoded) <= limit_bytes:
        return encoded.decode("utf-8"), False
    return encoded[:limit_bytes].decode("utf-8", "ignore"), True


def bounded_id(value: object) -> str | None:
    """An id read from rejected input, as text an operator can search for, bounded."""
    if not isinstance(value, str):
        return None
    return storable_text(value[:ID_LIMIT])


def nests_deeper_than(value: object, limit: int) -> bool:
    """Whether a JSON value nests deeper than `limit` (iterative: no recursion for an
    attacker to exhaust)."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        current, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(current, dict):
            stack.extend((child, depth + 1) for child in current.values())
        elif isinstance(current, list):
            stack.extend((child, depth + 1) for child in current)
    return False


def json_excerpt(value: object, sort_keys: bool = True) -> tuple[str, bool]:
    """A JSON value as the text a rejection keeps: at most TEXT_LIMIT_BYTES, storable,
    and whether it was cut; a value nested deeper than EXCERPT_DEPTH_LIMIT is described
    instead of serialised."""
    if nests_deeper_than(value, EXCERPT_DEPTH_LIMIT):
        return f"(a JSON value nested deeper than {EXCERPT_DEPTH_LIMIT} levels)", True
    return bounded_text(json.dumps(value, sort_keys=sort_keys, ensure_ascii=False, default=str))


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
    cut: bool = False  # `raw` is already an excerpt of a longer text

    @property
    def rejection_id(self) -> str:
        """Where the input came from: the message (or event) and the position in it.
        Without a message id (a direct invocation), the text itself."""
        origin = self.message_id or "raw:" + hashlib.sha256(self.raw_bytes).hexdigest()
        position = "-" if self.position is None else str(self.position)
        return hashlib.sha256(f"{origin}|{position}".encode()).hexdigest()[:32]

    @property
    def raw_bytes(self) -> bytes:
        return storable_text(self.raw).encode("utf-8")

    @property
    def raw_excerpt(self) -> str:
        return bounded_text(self.raw)[0]

    @property
    def raw_truncated(self) -> bool:
        return self.cut or len(self.raw_bytes) > TEXT_LIMIT_BYTES

    @property
    def detail_excerpt(self) -> str:
        return bounded_text(self.detail)[0]
