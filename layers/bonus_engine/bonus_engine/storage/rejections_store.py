"""The rejections table: rejected engagement and facts, listed by source, period, reason.

Item: pk = REJECTED#<source>#<period>, sk = <reason>#<rejection id>. The id derives from
the rejected text and its position, so a redelivered bad message overwrites its own
rejection (naturally idempotent BatchWriteItem puts).
"""

from collections.abc import Iterator, Sequence

from bonus_engine.periods import Period
from bonus_engine.rejections import Rejection, RejectionReason, RejectionSource
from bonus_engine.storage import keys
from bonus_engine.storage.dynamo import Item, Table
from bonus_engine.storage.retention import REJECTION_DAYS, expires_after
from bonus_engine.timestamps import to_utc_text


class RejectionStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def record(self, rejections: Sequence[Rejection]) -> None:
        self.table.batch_put([_item(rejection) for rejection in rejections])

    def list(
        self, source: RejectionSource, period: Period, reason: RejectionReason | None = None
    ) -> Iterator[Item]:
        prefix = f"{reason.value}#" if reason else None
        for item in self.table.query(keys.rejections_partition(source, period), prefix=prefix):
            yield {name: value for name, value in item.items() if name not in ("pk", "sk")}

    def count(self, source: RejectionSource, period: Period) -> int:
        return self.table.count(keys.rejections_partition(source, period))


def _item(rejection: Rejection) -> Item:
    key = keys.rejection_key(
        rejection.source, rejection.period, rejection.reason, rejection.rejection_id
    )
    return {
        **key,
        "rejection_id": rejection.rejection_id,
        "source": rejection.source.value,
        "reason": rejection.reason.value,
        "detail": rejection.detail,
        "period": rejection.period.name,
        "received_at": to_utc_text(rejection.received_at),
        "message_id": rejection.message_id,
        "position": rejection.position,
        "event_id": rejection.event_id,
        "creator_id": rejection.creator_id,
        "raw": rejection.raw_excerpt,
        "raw_truncated": rejection.raw_truncated,
        "expires_at": expires_after(rejection.received_at, REJECTION_DAYS),
    }
