"""How long each kind of item lives (DynamoDB TTL on `expires_at`, epoch seconds)."""

from datetime import datetime, timedelta

from bonus_engine.periods import Period

ENGAGEMENT_DAYS = 400  # the default of the template's EngagementRetentionDays
REJECTION_DAYS = 400
CHANGE_MARKER_DAYS = 60
RUN_WORK_DAYS = 14  # drafts, shard results and dry runs: inspection after a run, then gone


def expires_after(instant: datetime, days: int) -> int:
    return int((instant + timedelta(days=days)).timestamp())


def engagement_expiry(period: Period, days: int = ENGAGEMENT_DAYS) -> int:
    """When a period's events expire: `days` after the period's end. The same number
    (EngagementRetentionDays) sets the horizon past which a recompute is refused."""
    return expires_after(period.end, days)
