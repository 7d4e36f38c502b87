"""Three speed-ups of moto 5.2.5, for the local emulation and the benchmarks only.

Each keeps moto's answers (the same items, in the same order, with the same errors) and
changes only how long moto takes to give them; tests/integration/test_emulation.py
checks that, with and without them.

- **Query on a table** walks every item of the table (`Table.all_items()`) to find the
  partition's, so each Query costs as much as the table is large and a replay grows
  quadratically. DynamoDB reads only the partition. While moto's own `query` runs,
  `all_items()` here returns the queried partition alone (moto then sorts and filters
  exactly as before). Queries on an index, and every other caller of `all_items()`
  (Scan, for one), are untouched.
- **Every DynamoDB response** is serialised by walking botocore's output shape, about a
  millisecond per item returned: half of moto's time in a replay. The data-plane
  operations' results are plain JSON already (attribute values as `{"S": ...}`), so here
  they are written with `json.dumps`. With `verify=True` every response is also
  serialised moto's way and compared, raising on any difference.
- **Every request** lists moto's package folder (`list_of_moto_modules()`, a directory
  listing and a `stat` per service) to route it; the list is read once here.
- **TransactWriteItems** deep-copies every table it names before applying (its rollback):
  about 27 microseconds per stored item, so a run's fenced revision writes grew
  quadratically with the results table (and its memory with them). Here only the items
  the transaction names are copied, and put back if it fails.
"""

import base64
import copy
import inspect
import json
import threading
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from moto import backends
from moto.dynamodb import models
from moto.dynamodb.models.table import Table
from moto.dynamodb.responses import DynamoResult

_ORIGINAL_QUERY = Table.query
_ORIGINAL_ALL_ITEMS = Table.all_items
_ORIGINAL_EXECUTE_RESULT = DynamoResult.execute_result
_ORIGINAL_MODULES = backends.list_of_moto_modules
_ORIGINAL_TRANSACT = models.DynamoDBBackend.transact_write_items
_ORIGINAL_COPY_MODULE = models.copy  # type: ignore[attr-defined]
_QUERY_SIGNATURE = inspect.signature(_ORIGINAL_QUERY)
_querying = threading.local()

# The operations whose results are JSON already; the control plane (CreateTable, ...)
# stays with moto's serialiser.
PLAIN_JSON_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactWriteItems",
    }
)


class SerialiserMismatch(AssertionError):
    """The fast serialiser wrote something moto's own would not have (verify=True)."""


def install(verify: bool = False) -> None:
    Table.query = _query  # type: ignore[method-assign]
    Table.all_items = _all_items  # type: ignore[method-assign]
    serialise = _verified_result if verify else _plain_result
    DynamoResult.execute_result = serialise  # type: ignore[method-assign,assignment]
    backends.list_of_moto_modules = _moto_modules
    models.copy = _CopyWithoutTables  # type: ignore[attr-defined,assignment]
    models.DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]


def uninstall() -> None:
    Table.query = _ORIGINAL_QUERY  # type: ignore[method-assign]
    Table.all_items = _ORIGINAL_ALL_ITEMS  # type: ignore[method-assign]
    DynamoResult.execute_result = _ORIGINAL_EXECUTE_RESULT  # type: ignore[method-assign]
    backends.list_of_moto_modules = _ORIGINAL_MODULES
    models.copy = _ORIGINAL_COPY_MODULE  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = _ORIGINAL_TRANSACT  # type: ignore[method-assign]


# --- TransactWriteItems: copy the items it names, not the tables -----------------------------


class _CopyWithoutTables:
    """Stands in for the `copy` module inside moto.dynamodb.models: a table is not
    deep-copied (the rollback below keeps what it needs)."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        return value if isinstance(value, Table) else copy.deepcopy(value, memo)


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    snapshot = []
    for entry in transact_items:
        _, operation = next(iter(entry.items()))
        table = self.tables.get(operation.get("TableName"))
        attributes = operation.get("Item") or operation.get("Key")
        if table is None or not attributes:
            continue
        try:
            hash_key, range_key = self.get_keys_value(table, attributes)
        except Exception:  # noqa: S112 - moto's own validation reports it
            continue
        snapshot.append(
            (table, hash_key, range_key, copy.deepcopy(table.get_item(hash_key, range_key)))
        )
    try:
        _ORIGINAL_TRANSACT(self, transact_items)
    except Exception:
        for table, hash_key, range_key, before in reversed(snapshot):
            if before is None:
                table.delete_item(hash_key, range_key)
            elif range_key is not None:
                table.items[hash_key][range_key] = before
            else:
                table.items[hash_key] = before
        raise


# --- Query: the partition's items only ------------------------------------------------------


def _query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    if hash_key is None or not self.range_key_attr or _index_name(self, hash_key, args, kwargs):
        return _ORIGINAL_QUERY(self, hash_key, *args, **kwargs)
    partition = self.items.get(hash_key, {})
    _querying.partition = (self, list(partition.values()))
    try:
        return _ORIGINAL_QUERY(self, hash_key, *args, **kwargs)
    finally:
        _querying.partition = None


def _index_name(table: Table, hash_key: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The `index_name` argument, whether moto passed it by position or by name."""
    return _QUERY_SIGNATURE.bind(table, hash_key, *args, **kwargs).arguments.get("index_name")


def _all_items(self: Table) -> Any:
    current = getattr(_querying, "partition", None)
    if current is not None and current[0] is self:
        return current[1]
    return _ORIGINAL_ALL_ITEMS(self)


# --- responses: plain JSON -----------------------------------------------------------------


def _plain_result(self: DynamoResult, context: Any) -> Any:
    if context.operation_model.name not in PLAIN_JSON_OPERATIONS:
        return _ORIGINAL_EXECUTE_RESULT(self, context)
    members = context.operation_model.output_shape.members  # what moto's serialiser keeps
    result = {key: value for key, value in _as_dict(self.result).items() if key in members}
    return 200, {"Content-Type": "application/x-amz-json-1.0"}, _json(result)


def _verified_result(self: DynamoResult, context: Any) -> Any:
    fast = _plain_result(self, context)
    status, headers, body = _ORIGINAL_EXECUTE_RESULT(self, context)
    if (status, headers, json.loads(body)) != (fast[0], fast[1], json.loads(fast[2])):
        raise SerialiserMismatch(f"{context.operation_model.name}: {body[:300]!r} {fast[2][:300]}")
    return fast


def _as_dict(result: object) -> dict[str, Any]:
    return result if isinstance(result, dict) else {}


def _json(result: Any) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: plain(item) for key, item in value.items() if item is not None}
        if isinstance(value, list | tuple):
            return [plain(item) for item in value]
        if isinstance(value, bytes):
            return base64.b64encode(value).decode()
        if isinstance(value, Decimal):  # consumed capacity units; item numbers are strings
            return int(value) if value == value.to_integral_value() else float(value)
        return value

    return json.dumps(plain(result), separators=(",", ":"))


# --- routing: moto's services, listed once ---------------------------------------------------

_modules: list[str] = []


def _moto_modules() -> Iterable[str]:
    if not _modules:
        _modules.extend(_ORIGINAL_MODULES())
    return _modules
