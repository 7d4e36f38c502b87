"""One speed-up of moto 5.2.5's DynamoDB, for the local emulation only.

moto answers a Query on a table's key by looking at every item of the table
(`Table.all_items()`), so each Query costs as much as the table is large and a replay
grows quadratically. DynamoDB reads only the partition. While moto's own `query` runs,
`all_items()` here returns the queried partition alone (the same items, which moto then
sorts and filters exactly as before). Queries on an index, and every other caller of
`all_items()` (Scan, for one), are untouched. tests/integration/test_emulation.py checks
that answers are the same with and without it.
"""

import inspect
import threading
from typing import Any

from moto.dynamodb.models.table import Table

_ORIGINAL_QUERY = Table.query
_ORIGINAL_ALL_ITEMS = Table.all_items
_QUERY_SIGNATURE = inspect.signature(_ORIGINAL_QUERY)
_querying = threading.local()


def _index_name(table: Table, hash_key: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The `index_name` argument, whether moto passed it by position or by name."""
    return _QUERY_SIGNATURE.bind(table, hash_key, *args, **kwargs).arguments.get("index_name")


def _query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    if hash_key is None or not self.range_key_attr or _index_name(self, hash_key, args, kwargs):
        return _ORIGINAL_QUERY(self, hash_key, *args, **kwargs)
    partition = self.items.get(hash_key, {})
    _querying.partition = (self, list(partition.values()))
    try:
        return _ORIGINAL_QUERY(self, hash_key, *args, **kwargs)
    finally:
        _querying.partition = None


def _all_items(self: Table) -> Any:
    current = getattr(_querying, "partition", None)
    if current is not None and current[0] is self:
        return current[1]
    return _ORIGINAL_ALL_ITEMS(self)


def install() -> None:
    Table.query = _query  # type: ignore[method-assign]
    Table.all_items = _all_items  # type: ignore[method-assign]


def uninstall() -> None:
    Table.query = _ORIGINAL_QUERY  # type: ignore[method-assign]
    Table.all_items = _ORIGINAL_ALL_ITEMS  # type: ignore[method-assign]
