"""The engagement table: one item per accepted event, keyed by its event_id, and filed by
the month index under its creator's bucket and month.

Access patterns (docs/STORAGE.md has the costs):
- record a message's events: BatchGetItem (which already exist?) then BatchWriteItem;
- one creator's month: Query the index, month_bucket = ENG#<month>#<bucket>,
  begins_with(creator_event, <slot>#<creator>#);
- a shard's month: Query the index, month_bucket = ENG#<month>#<bucket>,
  creator_event BETWEEN the shard's slots, paginated.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bonus_engine.engagement import EngagementEvent
from bonus_engine.periods import Period
from bonus_engine.storage import keys
from bonus_engine.storage.change_markers import change_marker_items, changed_since
from bonus_engine.storage.dynamo import Item, Table
from bonus_engine.storage.retention import ENGAGEMENT_DAYS, engagement_expiry
from bonus_engine.timestamps import to_utc_text

if TYPE_CHECKING:
    from bonus_engine.scoring import TallyKey


@dataclass
class RecordResult:
    new: list[EngagementEvent] = field(default_factory=list)
    duplicates: list[EngagementEvent] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)  # indices into the events recorded


@dataclass
class BucketEngagement:
    """A bucket's month of engagement, summed per creator, post, format, metric, quality."""

    tallies: "dict[str, dict[TallyKey, int]]" = field(default_factory=dict)
    accepted: int = 0  # distinct events
    late: int = 0  # accepted after `late_after`


# What a shard's tally reads of each event (not its digest, instants or expiry: fewer
# attributes to parse). `format` and `count` are reserved words, hence the names.
_TALLIED = "creator_id, post_id, #format, metric, #count, quality, accepted_at"
_RESERVED = {"#format": "format", "#count": "count"}


class EngagementStore:
    def __init__(self, table: Table, retention_days: int = ENGAGEMENT_DAYS) -> None:
        self.table = table
        self.retention_days = retention_days

    def record(
        self, events: Sequence[EngagementEvent], accepted_at: datetime, marker_id: str
    ) -> RecordResult:
        """Store the events not stored yet. An event_id is the idempotency key whatever
        its creator or month (SPEC 1): one already accepted with the same content is a
        duplicate (nothing is written); with other content (another count, post, creator
        or instant, even in another month), a conflict: the first stands.

        An accepted event is one item keyed by its event_id, so the dedupe reads the
        events themselves (a strongly consistent BatchGetItem of up to 100 keys), and the
        new ones are naturally idempotent BatchWriteItem puts of 25. The month index
        (`ENGAGEMENT_BY_MONTH`) files each under its creator's bucket and month for the
        computation. A message that failed halfway finds on redelivery the events it had
        stored, as duplicates, and puts the others. Events of a period that had already
        closed leave a change marker first, so that the scheduled run recomputes it.

        An event stored by any invocation that has finished is found. Two invocations
        holding the same event_id at the same moment can both find nothing: the event is
        still stored once, and with other content the later put stands
        (docs/STORAGE.md)."""
        result = RecordResult()
        first: dict[str, tuple[int, EngagementEvent]] = {}
        for index, event in enumerate(events):
            seen = first.get(event.event_id)
            if seen is None:
                first[event.event_id] = (index, event)
            elif seen[1].content_digest == event.content_digest:
                result.duplicates.append(event)
            else:
                result.conflicts.append(index)

        stored = {
            item["pk"]: item["digest"]
            for item in self.table.batch_get(
                [keys.event_key(event_id) for event_id in first],
                projection="pk, digest",
                consistent=True,
            )
        }
        for event_id, (index, event) in first.items():
            digest = stored.get(keys.event_key(event_id)["pk"])
            if digest is None:
                result.new.append(event)
            elif digest == event.content_digest:
                result.duplicates.append(event)
            else:
                result.conflicts.append(index)
        result.conflicts.sort()

        closed = [event.period for event in result.new if event.period.end <= accepted_at]
        if closed:
            self.table.batch_put(change_marker_items(closed, accepted_at, marker_id, "engagement"))
        accepted_text = to_utc_text(accepted_at)
        self.table.batch_put(
            [_event_item(event, accepted_text, self.retention_days) for event in result.new]
        )
        return result

    def shard_engagement(
        self, period: Period, shard: keys.Shard, late_after: datetime | None
    ) -> BucketEngagement:
        """A shard's month of engagement, tallied by creator (one paginated Query)."""
        late_text = to_utc_text(late_after) if late_after else None
        result = BucketEngagement()
        tallies: dict[str, dict[TallyKey, int]] = defaultdict(lambda: defaultdict(int))
        partition = keys.engagement_partition(period, shard.bucket)
        for item in self.table.query(
            partition,
            between=shard.sort_key_range(),
            projection=_TALLIED,
            names=_RESERVED,
            index=keys.ENGAGEMENT_BY_MONTH,
        ):
            key: TallyKey = (item["post_id"], item["format"], item["metric"], item["quality"])
            tallies[item["creator_id"]][key] += int(item["count"])
            result.accepted += 1
            if late_text is not None and item["accepted_at"] > late_text:
                result.late += 1
        result.tallies = {creator: dict(tally) for creator, tally in tallies.items()}
        return result

    def creator_events(self, period: Period, creator_id: str) -> list[Item]:
        """One creator's accepted events of one month (one Query of the month index)."""
        partition = keys.engagement_partition(period, keys.creator_bucket(creator_id))
        return list(
            self.table.query(
                partition, prefix=keys.creator_prefix(creator_id), index=keys.ENGAGEMENT_BY_MONTH
            )
        )

    def changed_since(self, period: Period, since: datetime) -> bool:
        return changed_since(self.table, period, since)


def _event_item(event: EngagementEvent, accepted_text: str, retention_days: int) -> Item:
    return {
        **keys.event_key(event.event_id),
        **keys.engagement_index_key(event.period, event.creator_id, event.event_id),
        "creator_id": event.creator_id,
        "post_id": event.post_id,
        "format": event.format,
        "metric": event.metric,
        "count": event.count,
        "quality": event.quality,
        "occurred_at": to_utc_text(event.occurred_at),
        "digest": event.content_digest,
        "accepted_at": accepted_text,
        "expires_at": engagement_expiry(event.period, retention_days),
    }
