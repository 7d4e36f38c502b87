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
- **Query with a sort-key condition** (`begins_with`, `BETWEEN`, ...) then sorts the whole
  partition by comparing attribute values and measures every item of it, matching or
  not, to cut pages at 1 MB: a creator's record cost as much as the bucket it lives in.
  Here moto receives the partition already in its order, and only the items the
  condition keeps, with the item just before and just after them (those decide, as in
  moto, whether a page ends there); when what matches could come within one item of the
  1 MB page (moto refuses items above 405,000 bytes), it receives the whole partition.
- **Every request** lists the response class's methods (`inspect.getmembers`) to find
  its action; the list is kept per class here.
- **Every event a rule delivers** is written through its input template, which compiles
  each of eight JSONPath expressions afresh (a parser generator's tables, about 3 ms an
  event); the compiled expressions are kept here, and the template is written exactly
  as moto writes it.
"""

import base64
import copy
import functools
import inspect
import json
import string
import threading
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from moto import backends
from moto.core import responses as core_responses
from moto.core.utils import unix_time
from moto.dynamodb import models
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table
from moto.dynamodb.responses import DynamoResult
from moto.events.utils import EventTemplateParser
from moto.moto_api._internal import mock_random
from moto.moto_api._internal.moto_random import MotoRandom
from moto.sqs import models as sqs_models

_ORIGINAL_QUERY = Table.query
_ORIGINAL_ALL_ITEMS = Table.all_items
_ORIGINAL_EXECUTE_RESULT = DynamoResult.execute_result
_ORIGINAL_MODULES = backends.list_of_moto_modules
_ORIGINAL_TRANSACT = models.DynamoDBBackend.transact_write_items
_ORIGINAL_COPY_MODULE = models.copy  # type: ignore[attr-defined]
_ORIGINAL_METHOD_NAMES = core_responses.method_names_from_class
_ORIGINAL_TEMPLATE_PARSE = EventTemplateParser.__dict__["parse"]
_ORIGINAL_CAMEL_IN_RESPONSES = core_responses.camelcase_to_underscores
_ORIGINAL_CAMEL_IN_SQS = sqs_models.camelcase_to_underscores
_ORIGINAL_RETENTION_CHECK = sqs_models.SQSBackend.is_message_valid_based_on_retention_period
_ORIGINAL_RECEIPT_HANDLE = sqs_models.generate_receipt_handle
_ORIGINAL_RANDOM_STRING = MotoRandom.get_random_string
_QUERY_SIGNATURE = inspect.signature(_ORIGINAL_QUERY)
MOTO_ITEM_SIZE_LIMIT = 405_000  # moto refuses a larger item (LimitedSizeDict)
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
    core_responses.method_names_from_class = _method_names  # type: ignore[assignment]
    EventTemplateParser.parse = staticmethod(_template_parse)  # type: ignore[method-assign,assignment]
    core_responses.camelcase_to_underscores = _camelcase_to_underscores
    sqs_models.camelcase_to_underscores = _camelcase_to_underscores
    sqs_models.SQSBackend.is_message_valid_based_on_retention_period = _retained  # type: ignore[method-assign]
    sqs_models.generate_receipt_handle = _receipt_handle
    MotoRandom.get_random_string = _random_string  # type: ignore[method-assign]


def uninstall() -> None:
    Table.query = _ORIGINAL_QUERY  # type: ignore[method-assign]
    Table.all_items = _ORIGINAL_ALL_ITEMS  # type: ignore[method-assign]
    DynamoResult.execute_result = _ORIGINAL_EXECUTE_RESULT  # type: ignore[method-assign]
    backends.list_of_moto_modules = _ORIGINAL_MODULES
    models.copy = _ORIGINAL_COPY_MODULE  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = _ORIGINAL_TRANSACT  # type: ignore[method-assign]
    core_responses.method_names_from_class = _ORIGINAL_METHOD_NAMES
    EventTemplateParser.parse = _ORIGINAL_TEMPLATE_PARSE  # type: ignore[method-assign]
    core_responses.camelcase_to_underscores = _ORIGINAL_CAMEL_IN_RESPONSES
    sqs_models.camelcase_to_underscores = _ORIGINAL_CAMEL_IN_SQS
    sqs_models.SQSBackend.is_message_valid_based_on_retention_period = _ORIGINAL_RETENTION_CHECK  # type: ignore[method-assign]
    sqs_models.generate_receipt_handle = _ORIGINAL_RECEIPT_HANDLE
    MotoRandom.get_random_string = _ORIGINAL_RANDOM_STRING  # type: ignore[method-assign]


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
    if hash_key is None or not self.range_key_attr:
        return _ORIGINAL_QUERY(self, hash_key, *args, **kwargs)
    # moto's arguments by name, whether it passed them by position or by name
    arguments = _QUERY_SIGNATURE.bind(self, hash_key, *args, **kwargs).arguments
    if arguments.get("index_name"):
        return _ORIGINAL_QUERY(self, hash_key, *args, **kwargs)
    partition = self.items.get(hash_key, {})
    _querying.partition = (self, _candidates(self, list(partition.values()), arguments))
    try:
        return _ORIGINAL_QUERY(self, hash_key, *args, **kwargs)
    finally:
        _querying.partition = None


def _candidates(table: Table, items: list[Any], arguments: dict[str, Any]) -> list[Any]:
    """The partition's items in the order moto sorts them (by sort key), and under a
    sort-key condition only the run of items it keeps, with one neighbour on each side.

    In moto's loop an item the condition rejects adds nothing and is not counted; it can
    only end the page (the last item kept becomes LastEvaluatedKey): the first one after
    the run if the limit is reached, or any one after it that would take the page past
    1 MB. The first is kept here; the second cannot happen while the run weighs less than
    1 MB less the largest item moto stores, else the whole partition goes to moto."""
    ordered = sorted(items, key=lambda item: item.range_key.cast_value)
    comparison = arguments.get("range_comparison")
    conditions = arguments.get("range_key_conditions") or []
    if (
        not comparison
        or arguments.get("filter_kwargs")
        or len(conditions) > 1
        or (conditions and conditions[-1][0] != table.range_key_attr)
    ):
        return ordered
    bounds = arguments.get("range_objs") or []
    kept = [n for n, item in enumerate(ordered) if item.range_key.compare(comparison, bounds)]
    if not kept:
        return []
    first, last = kept[0], kept[-1]
    run = sum(item.size() for item in ordered[first : last + 1])
    if run + MOTO_ITEM_SIZE_LIMIT > RESULT_SIZE_LIMIT:
        return ordered
    return ordered[max(first - 1, 0) : last + 2]


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


# --- requests: the response class's methods, listed once per class ---------------------------

_method_names_by_class: dict[type, list[str]] = {}


def _method_names(clazz: object) -> list[str]:
    names = _method_names_by_class.get(clazz)  # type: ignore[call-overload]
    if names is None:
        names = _method_names_by_class[clazz] = _ORIGINAL_METHOD_NAMES(clazz)  # type: ignore[index]
    return names


# --- rule deliveries: the input template's JSONPath expressions, compiled once ---------------


@functools.cache
def _jsonpath(expression: str) -> Any:
    from jsonpath_ng.ext import parse

    return parse(expression)  # type: ignore[no-untyped-call]


def _template_parse(
    input_template: str, input_paths_map: dict[str, Any], event: Any
) -> dict[str, Any]:
    """moto's EventTemplateParser.parse, with each expression compiled once."""
    template_to_use = input_template or EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    input_paths_map = input_paths_map or EventTemplateParser.DEFAULT_EVENT_INPUT_PATHS_MAP
    for input_path in input_paths_map:
        matches = _jsonpath(input_paths_map[input_path]).find(event)
        result = EventTemplateParser._stringify(matches[0].value) if matches else None
        if result:
            template_to_use = template_to_use.replace(f"<{input_path}>", result)
    default_inputs_map = {
        "aws.events.event.json": event,
        "aws.events.event.ingestion-time": event["ingestion-time"],
    }
    for input_path in default_inputs_map:
        result = EventTemplateParser._stringify(default_inputs_map[input_path])
        template_to_use = template_to_use.replace(f"<{input_path}>", result)
    loaded: dict[str, Any] = json.loads(template_to_use)
    return loaded


# --- SQS: names converted once, and the retention period read where it is kept --------------


@functools.cache
def _camelcase_to_underscores(argument: str) -> str:
    return _ORIGINAL_CAMEL_IN_RESPONSES(argument)


def _retained(self: Any, queue_name: str, message: Any) -> bool:
    """moto's check, which reads the retention period through GetQueueAttributes: that
    builds every attribute of the queue, counting its messages three times, for each
    message received. The attribute is the queue's `message_retention_period`."""
    retention_period = self.get_queue(queue_name).message_retention_period
    retain_until = retention_period + message.sent_timestamp / 1000
    return bool(retain_until > unix_time())


# --- random identifiers: the same alphabet and length, drawn at once -------------------------
# moto draws request ids (52 characters, on every response) and receipt handles (185, on
# every message received) one character at a time.


def _random_string(
    self: MotoRandom, length: int = 20, include_digits: bool = True, lower_case: bool = False
) -> str:
    pool = string.ascii_letters + (string.digits if include_digits else "")
    random_str = "".join(self.choices(pool, k=length))
    return random_str.lower() if lower_case else random_str


def _receipt_handle() -> str:
    return "".join(mock_random.choices(string.ascii_lowercase, k=185))
