"""The engagement table: one item per accepted event, keyed by creator bucket, month,
creator and event_id.

Access patterns (docs/STORAGE.md has the costs):
- record a message's events: BatchGetItem (which already exist?) then BatchWriteItem;
- one creator's month: Query pk = ENG#<month>#<bucket>, begins_with(sk, <creator>#);
- one bucket's month (a computation shard): Query pk = ENG#<month>#<bucket>, paginated.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bonus_engine.engagement import EngagementEvent
from bonus_engine.periods import Period
from bonus_engine.scoring import TallyKey
from bonus_engine.storage import keys
from bonus_engine.storage.change_markers import change_marker_items, changed_since
from bonus_engine.storage.dynamo import Item, Table
from bonus_engine.storage.retention import ENGAGEMENT_DAYS, engagement_expiry
from bonus_engine.timestamps import to_utc_text


@dataclass
class RecordResult:
    new: list[EngagementEvent] = field(default_factory=list)
    duplicates: list[EngagementEvent] = field(default_factory=list)
    conflicts: list[int] = field(default_factory=list)  # indices into the events recorded


@dataclass
class BucketEngagement:
    """A bucket's month of engagement, summed per creator, post, format, metric, quality."""

    tallies: dict[str, dict[TallyKey, int]] = field(default_factory=dict)
    accepted: int = 0  # distinct events
    late: int = 0  # accepted after `late_after`


class EngagementStore:
    def __init__(self, table: Table, retention_days: int = ENGAGEMENT_DAYS) -> None:
        self.table = table
        self.retention_days = retention_days

    def record(
        self, events: Sequence[EngagementEvent], accepted_at: datetime, marker_id: str
    ) -> RecordResult:
        """Store the events not stored yet. An event_id already stored with the same
        content is a duplicate (nothing is written); with other content, a conflict (the
        first stands). Idempotent: a redelivery finds every event stored.

        Writes are BatchWriteItem puts, naturally idempotent: the key is the event's own
        (creator, month, event_id) and the content the event's own. Events of a period
        that had already closed also leave a change marker, so the scheduled run knows
        to recompute it.

        The read is strongly consistent, so an event stored by any invocation that has
        finished is found. Two invocations holding the same event_id at the same moment
        can both find nothing and both put the same key: the event is still stored and
        counted once, but with other content the later put stands (docs/STORAGE.md)."""
        result = RecordResult()
        first_by_key: dict[tuple[str, str], EngagementEvent] = {}
        first_index: dict[tuple[str, str], int] = {}
        for index, event in enumerate(events):
            key = _key(event)
            seen = first_by_key.get(key)
            if seen is None:
                first_by_key[key] = event
                first_index[key] = index
            elif seen.content_digest == event.content_digest:
                result.duplicates.append(event)
            else:
                result.conflicts.append(index)

        stored = {
            (item["pk"], item["sk"]): item["digest"]
            for item in self.table.batch_get(
                [{"pk": pk, "sk": sk} for pk, sk in first_by_key],
                projection="pk, sk, digest",
                consistent=True,
            )
        }
        for key, event in first_by_key.items():
            if key not in stored:
                result.new.append(event)
            elif stored[key] == event.content_digest:
                result.duplicates.append(event)
            else:
                result.conflicts.append(first_index[key])
        result.conflicts.sort()

        # The mark goes first: if the events' write then fails halfway, the redelivery
        # sees part of them as duplicates, but the period is marked already.
        closed = [event.period for event in result.new if event.period.end <= accepted_at]
        if closed:
            self.table.batch_put(change_marker_items(closed, accepted_at, marker_id, "engagement"))
        accepted_text = to_utc_text(accepted_at)
        self.table.batch_put(
            [_event_item(event, accepted_text, self.retention_days) for event in result.new]
        )
        return result

    def bucket_engagement(
        self, period: Period, bucket: int, late_after: datetime | None
    ) -> BucketEngagement:
        late_text = to_utc_text(late_after) if late_after else None
        result = BucketEngagement()
        tallies: dict[str, dict[TallyKey, int]] = defaultdict(lambda: defaultdict(int))
        for item in self.table.query(keys.engagement_partition(period, bucket)):
            key: TallyKey = (item["post_id"], item["format"], item["metric"], item["quality"])
            tallies[item["creator_id"]][key] += int(item["count"])
            result.accepted += 1
            if late_text is not None and item["accepted_at"] > late_text:
                result.late += 1
        result.tallies = {creator: dict(tally) for creator, tally in tallies.items()}
        return result

    def creator_events(self, period: Period, creator_id: str) -> list[Item]:
        """One creator's accepted events of one month (one Query)."""
        partition = keys.engagement_partition(period, keys.creator_bucket(creator_id))
        return list(self.table.query(partition, prefix=keys.creator_prefix(creator_id)))

    def changed_since(self, period: Period, since: datetime) -> bool:
        return changed_since(self.table, period, since)


def _key(event: EngagementEvent) -> tuple[str, str]:
    key = keys.engagement_key(event.period, event.creator_id, event.event_id)
    return key["pk"], key["sk"]


def _event_item(event: EngagementEvent, accepted_text: str, retention_days: int) -> Item:
    pk, sk = _key(event)
    return {
        "pk": pk,
        "sk": sk,
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
