"""Every DynamoDB key, built by one function each. Ids are validated before they reach
a key (none of their patterns admits `#`, the separator), so an id cannot forge a key.

Creators are spread over CREATOR_BUCKETS buckets by a stable hash of their id. A bucket
is the unit of parallel work: the period computation reads a bucket's facts and a
bucket's month of engagement with one paginated Query each.
"""

import hashlib

from bonus_engine.identifiers import require_id
from bonus_engine.periods import Period
from bonus_engine.rejections import RejectionReason, RejectionSource

CREATOR_BUCKETS = 64

Key = dict[str, str]


def creator_bucket(creator_id: str) -> int:
    digest = hashlib.sha256(require_id("creator_id", creator_id).encode()).digest()
    return int.from_bytes(digest[:4], "big") % CREATOR_BUCKETS


def _bucket(bucket: int) -> str:
    if not 0 <= bucket < CREATOR_BUCKETS:
        raise ValueError(f"bucket out of range: {bucket}")
    return f"{bucket:02d}"


# --- engagement table ----------------------------------------------------------------


def engagement_partition(period: Period, bucket: int) -> str:
    return f"ENG#{period.name}#{_bucket(bucket)}"


def engagement_key(period: Period, creator_id: str, event_id: str) -> Key:
    return {
        "pk": engagement_partition(period, creator_bucket(creator_id)),
        "sk": f"{require_id('creator_id', creator_id)}#{require_id('event_id', event_id)}",
    }


def event_id_key(event_id: str) -> Key:
    """An accepted event_id in the register (one partition each: no hot key)."""
    return {"pk": f"EVENTID#{require_id('event_id', event_id)}", "sk": "-"}


def creator_prefix(creator_id: str) -> str:
    """The sort-key prefix of one creator's items inside a bucket partition."""
    return f"{require_id('creator_id', creator_id)}#"


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


def shard_result_key(run_id: str, phase: str, bucket: int) -> Key:
    return {"pk": f"RUN#{run_id}", "sk": f"{phase.upper()}#{_bucket(bucket)}"}


def shard_results_partition(run_id: str) -> str:
    return f"RUN#{run_id}"


def draft_partition(run_id: str, bucket: int) -> str:
    return f"DRAFT#{run_id}#{_bucket(bucket)}"


def draft_key(run_id: str, creator_id: str) -> Key:
    return {
        "pk": draft_partition(run_id, creator_bucket(creator_id)),
        "sk": require_id("creator_id", creator_id),
    }


def latest_partition(program_id: str, period: Period, bucket: int) -> str:
    return f"LATEST#{require_id('program_id', program_id)}#{period.name}#{_bucket(bucket)}"


def latest_key(program_id: str, period: Period, creator_id: str) -> Key:
    return {
        "pk": latest_partition(program_id, period, creator_bucket(creator_id)),
        "sk": require_id("creator_id", creator_id),
    }


def statement_key(program_id: str, period: Period, creator_id: str, revision: int) -> Key:
    return {
        "pk": f"STATEMENT#{require_id('program_id', program_id)}#{period.name}#"
        f"{require_id('creator_id', creator_id)}",
        "sk": f"REV#{revision:06d}",
    }
