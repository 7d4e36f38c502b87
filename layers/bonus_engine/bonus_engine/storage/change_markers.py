"""Change markers: inputs that arrived for a period after it closed leave a mark, so the
scheduled run recomputes that period and only that period.

Item: pk = CHANGED#<period>, sk = <when, UTC text>#<what wrote it>. Written in the same
batch as the input itself (naturally idempotent: a redelivery writes a new mark at most,
which makes one recomputation that finds nothing changed and stays silent).
"""

from collections.abc import Iterable
from datetime import datetime

from bonus_engine.periods import Period
from bonus_engine.storage import keys
from bonus_engine.storage.dynamo import Item, Table
from bonus_engine.storage.retention import CHANGE_MARKER_DAYS, expires_after
from bonus_engine.timestamps import to_utc_text


def change_marker_items(
    periods: Iterable[Period], at: datetime, marker_id: str, source: str
) -> list[Item]:
    text = to_utc_text(at)
    return [
        {
            "pk": keys.change_marker_partition(period),
            "sk": f"{text}#{marker_id}",
            "source": source,
            "expires_at": expires_after(at, CHANGE_MARKER_DAYS),
        }
        for period in sorted(set(periods))
    ]


def changed_since(table: Table, period: Period, since: datetime) -> bool:
    """Whether a marker for the period was written after `since` (one small Query)."""
    markers = table.query(keys.change_marker_partition(period), after=to_utc_text(since), limit=1)
    return next(markers, None) is not None
