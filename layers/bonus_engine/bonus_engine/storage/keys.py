"""Every DynamoDB key, built by one function each. Ids are validated before they reach
a key (none of their patterns admits `#`, the separator), so an id cannot forge a key.

Creators are spread over CREATOR_BUCKETS partitions ("buckets") by a stable hash of their
id, and inside a bucket every sort key of a creator's items starts with the creator's
slot: another 16 bits of the same hash, as 4 hex digits. A shard of the period
computation is a bucket, or a range of its slots: its facts, its month of engagement
and its statements are one paginated Query each (`sk BETWEEN`). A run picks how many
ranges to split each bucket into (`splits`, a power of two) from the number of creators
it expects, so the work of a task stays bounded without moving any stored item.
"""

import hashlib
from dataclasses import dataclass

from bonus_engine.identifiers import require_id
from bonus_engine.periods import Period
from bonus_engine.rejections import RejectionReason, RejectionSource

CREATOR_BUCKETS = 64
SLOTS = 65536  # slots of a bucket: the most a bucket can be split into

Key = dict[str, str]


@dataclass(frozen=True)
class Index:
    """A global secondary index: its name and key attributes, as template.yaml has them."""

    name: str
    partition: str
    sort: str


# The engagement table's month index: a shard's events by `sk BETWEEN`, as on the facts.
ENGAGEMENT_BY_MONTH = Index("EngagementByMonth", "month_bucket", "creator_event")


def _digest(creator_id: str) -> bytes:
    return hashlib.sha256(require_id("creator_id", creator_id).encode()).digest()


def creator_bucket(creator_id: str) -> int:
    return int.from_bytes(_digest(creator_id)[:4], "big") % CREATOR_BUCKETS


def creator_slot(creator_id: str) -> int:
    return int.from_bytes(_digest(creator_id)[4:6], "big")


def _bucket(bucket: int) -> str:
    if not 0 <= bucket < CREATOR_BUCKETS:
        raise ValueError(f"bucket out of range: {bucket}")
    return f"{bucket:02d}"


@dataclass(frozen=True)
class Shard:
    """A bucket, or one of the `splits` equal ranges of its slots: the unit of parallel
    work of a run. Shard `index` of a run split `splits` ways is range `index % splits`
    of bucket `index // splits`."""

    index: int
    splits: int

    def __post_init__(self) -> None:
        if self.splits < 1 or self.splits > SLOTS or self.splits & (self.splits - 1):
            raise ValueError(f"splits must be a power of two up to {SLOTS}: {self.splits}")
        if not 0 <= self.index < CREATOR_BUCKETS * self.splits:
            raise ValueError(f"shard out of range: {self.index} of {self.splits} splits")

    @classmethod
    def whole(cls, bucket: int) -> "Shard":
        return cls(bucket, 1)

    @classmethod
    def of_creator(cls, creator_id: str, splits: int) -> "Shard":
        width = SLOTS // splits
        return cls(creator_bucket(creator_id) * splits + creator_slot(creator_id) // width, splits)

    @property
    def bucket(self) -> int:
        return self.index // self.splits

    @property
    def slots(self) -> range:
        width = SLOTS // self.splits
        first = (self.index % self.splits) * width
        return range(first, first + width)

    def sort_key_range(self) -> tuple[str, str]:
        """The sort keys of its creators' items, for `sk BETWEEN`: `$` sorts just after
        `#`, the separator that follows the slot."""
        return f"{self.slots[0]:04x}#", f"{self.slots[-1]:04x}$"

    def __str__(self) -> str:
        return f"{self.index:06d}"


# --- engagement table ----------------------------------------------------------------


def engagement_partition(period: Period, bucket: int) -> str:
    """A bucket's month of engagement: the partition of the table's month index."""
    return f"ENG#{period.name}#{_bucket(bucket)}"


def event_key(event_id: str) -> Key:
    """An accepted event, keyed by its event_id alone (one partition each: no hot key,
    and an event_id is stored once whatever its creator or month)."""
    return {"pk": f"EVENT#{require_id('event_id', event_id)}", "sk": "-"}


def engagement_index_key(period: Period, creator_id: str, event_id: str) -> Key:
    """Where an event sits in the month index (`ENGAGEMENT_BY_MONTH`): its creator's
    bucket and month, then the creator's slot, id and the event_id."""
    return {
        ENGAGEMENT_BY_MONTH.partition: engagement_partition(period, creator_bucket(creator_id)),
        ENGAGEMENT_BY_MONTH.sort: f"{creator_prefix(creator_id)}{require_id('event_id', event_id)}",
    }


def creator_prefix(creator_id: str) -> str:
    """The sort-key prefix of one creator's items inside a bucket partition: the slot,
    then the id."""
    return f"{creator_slot(creator_id):04x}#{require_id('creator_id', creator_id)}#"


def change_marker_partition(period: Period) -> str:
    """Marks of inputs that arrived for a period after it closed (engagement, facts)."""
    return f"CHANGED#{period.name}"


# --- facts table ---------------------------------------------------------------------


def facts_partition(bucket: int) -> str:
    return f"FACTS#{_bucket(bucket)}"


def fact_key(creator_id: str, occurred_at_text: str, fact_id: str) -> Key:
    return {
        "pk": facts_partition(creator_bucket(creator_id)),
        "sk": f"{creator_prefix(creator_id)}{occurred_at_text}#{fact_id}",
    }


def decision_key(creator_id: str, program_id: str) -> Key:
    """Beside the creator's facts: `~` sorts after every timestamp."""
    return {
        "pk": facts_partition(creator_bucket(creator_id)),
        "sk": f"{creator_prefix(creator_id)}~decision#{require_id('program_id', program_id)}",
    }


# --- rejections table ----------------------------------------------------------------


def rejections_partition(source: RejectionSource, period: Period) -> str:
    return f"REJECTED#{source.value}#{period.name}"


def rejection_key(
    source: RejectionSource, period: Period, reason: RejectionReason, rejection_id: str
) -> Key:
    return {"pk": rejections_partition(source, period), "sk": f"{reason.value}#{rejection_id}"}


# --- results table -------------------------------------------------------------------


def period_partition(program_id: str, period: Period) -> str:
    return f"PERIOD#{require_id('program_id', program_id)}#{period.name}"


def period_state_key(program_id: str, period: Period) -> Key:
    return {"pk": period_partition(program_id, period), "sk": "STATE"}


def provisional_key(program_id: str, period: Period) -> Key:
    """The latest provisional settlement of an open period (for the creators' estimates)."""
    return {"pk": period_partition(program_id, period), "sk": "PROVISIONAL"}


def run_key(program_id: str, period: Period, run_id: str) -> Key:
    return {"pk": period_partition(program_id, period), "sk": f"RUN#{run_id}"}


def summary_key(program_id: str, period: Period, revision: int) -> Key:
    return {"pk": period_partition(program_id, period), "sk": f"SUMMARY#{revision:06d}"}


def shard_result_key(run_id: str, phase: str, shard: Shard) -> Key:
    return {"pk": f"RUN#{run_id}", "sk": f"{phase.upper()}#{shard}"}


def shard_results_partition(run_id: str) -> str:
    return f"RUN#{run_id}"


def draft_partition(run_id: str, shard: Shard) -> str:
    """A shard's drafts, packed several to an item (sort key: the chunk's number)."""
    return f"DRAFT#{run_id}#{shard}"


def statements_partition(program_id: str, period: Period, bucket: int) -> str:
    return f"STATEMENTS#{require_id('program_id', program_id)}#{period.name}#{_bucket(bucket)}"


def statement_key(
    program_id: str, period: Period, creator_id: str, revision: int, run_id: str
) -> Key:
    """A statement revision, written by a run and readable once that run committed: two
    runs may write the same revision number (one of them superseded), never the same key."""
    return {
        "pk": statements_partition(program_id, period, creator_bucket(creator_id)),
        "sk": f"{creator_prefix(creator_id)}{revision:06d}#{require_id('run_id', run_id)}",
    }
