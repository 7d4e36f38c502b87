"""The rejections table: rejected engagement and facts, listed by source, period, reason.

Item: pk = REJECTED#<source>#<period>, sk = <reason>#<rejection id>. The id derives from
the message (or event) id and the position in it, so a redelivered bad message overwrites
its own rejections (naturally idempotent BatchWriteItem puts), and every text on the item
is bounded (`bonus_engine.rejections`), so any input makes an item DynamoDB stores.
"""

import base64
import json
from collections.abc import Iterator, Sequence

from bonus_engine.periods import Period
from bonus_engine.rejections import Rejection, RejectionReason, RejectionSource, bounded_id
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

    def page(
        self,
        source: RejectionSource,
        period: Period,
        reason: RejectionReason | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[Sequence[Item], str | None]:
        """One page of a period's rejections (one Query) and the cursor of the next page
        (None on the last). The cursor is opaque: base64 of the last key's JSON. One that
        this listing did not give (forged, truncated, another partition) is a ValueError."""
        partition = keys.rejections_partition(source, period)
        prefix = f"{reason.value}#" if reason else None
        start = _decode_cursor(cursor, partition, prefix) if cursor is not None else None
        items, last = self.table.query_page(partition, prefix=prefix, limit=limit, start_key=start)
        shown = [{k: v for k, v in item.items() if k not in ("pk", "sk")} for item in items]
        return shown, _encode_cursor(last) if last else None


def _item(rejection: Rejection) -> Item:
    key = keys.rejection_key(
        rejection.source, rejection.period, rejection.reason, rejection.rejection_id
    )
    return {
        **key,
        "rejection_id": rejection.rejection_id,
        "source": rejection.source.value,
        "reason": rejection.reason.value,
        "detail": rejection.detail_excerpt,
        "period": rejection.period.name,
        "received_at": to_utc_text(rejection.received_at),
        "message_id": bounded_id(rejection.message_id),
        "position": rejection.position,
        "event_id": bounded_id(rejection.event_id),
        "creator_id": bounded_id(rejection.creator_id),
        "raw": rejection.raw_excerpt,
        "raw_truncated": rejection.raw_truncated,
        "expires_at": expires_after(rejection.received_at, REJECTION_DAYS),
    }


def _encode_cursor(key: dict[str, str]) -> str:
    text = json.dumps({"pk": key["pk"], "sk": key["sk"]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, partition: str, prefix: str | None) -> dict[str, str]:
    try:
        if len(cursor) > 2048:
            raise ValueError("too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode("utf-8"))
    except (ValueError, UnicodeError) as error:
        raise ValueError(f"invalid cursor: {error}") from None
    if (
        not isinstance(key, dict)
        or set(key) != {"pk", "sk"}
        or key["pk"] != partition
        or not isinstance(key["sk"], str)
        or not key["sk"]
        or (prefix is not None and not key["sk"].startswith(prefix))
    ):
        raise ValueError("invalid cursor: not a key of this listing")
    return {"pk": key["pk"], "sk": key["sk"]}
