"""Speed-ups of moto 5.2.5 (and of how botocore reaches it in process), for the local
emulation and the benchmarks only.

Each keeps moto's answers (the same items, in the same order, with the same errors) and
changes only how long moto takes to give them; tests/integration/test_emulation.py
checks that, with and without them.

- **Query on a table** walks every item of the table (`Table.all_items()`) to find the
  partition's, so each Query costs as much as the table is large and a replay grows
  quadratically. DynamoDB reads only the partition. While moto's own `query` runs,
  `all_items()` here returns the queried partition alone (moto then sorts and filters
  exactly as before). Every other caller of `all_items()` (Scan, for one) is untouched.
- **Query on a global secondary index** walks every item of the table too, for each page.
  Here the table's items are grouped by the index's partition key once (walking the
  table's items as they are kept: moto's `all_items()` also sorts them, comparing attribute
  values, about a second for 20,000 items), and grouped again only after a write to that
  table (a put, delete or update of any kind, PartiQL
  included), and moto receives the queried partition alone, in the order it sorts the
  index (index sort key, then the table's keys). Indexes keyed by anything but strings
  are left to moto.
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
- **A projection** (a ProjectionExpression, or what an index projects) turns the whole
  item into plain Python and back once per attribute named: about a millisecond an item
  read through an index. Here top-level names are picked from the item as they are.
- **Every request** lists the response class's methods (`inspect.getmembers`) to find
  its action; the list is kept per class here.
- **Every condition** (a conditional put or update, each item of a transaction, a
  Query's filter) is lexed and parsed afresh, twice (once by the request handler, to
  check the names it uses, once to evaluate it): about half of a transaction of
  decisions. The parsed condition depends only on its text, names and values, and is
  only read when it is evaluated, so it is kept (the last 4,096) under those three, as
  JSON, with the names and values it found (handed out as fresh lists: moto extends
  them); a condition with values that are not JSON (binary) is parsed every time, and an
  invalid one is left to moto's parser, which raises as ever.
- **Every request** is turned into a werkzeug request through werkzeug's test
  `EnvironBuilder` (about 180 microseconds). A JSON-protocol request (POST to `/`, no
  query, a body of bytes: DynamoDB, SQS, EventBridge) gets the same WSGI environ built
  directly. With `verify=True` each is also built werkzeug's way and compared.
- **A Query or Scan of an index** sorts what it found by the index's keys, comparing
  moto's attribute values, which turn themselves into Python values at every comparison.
  Here string keys are read once per item (what moto compares for a string is the
  string); keys of any other type are left to moto's own sort.
- **Every message sent to a queue** (an EventBridge rule's delivery included) makes moto
  build the queue's attributes, counting its messages three times over (visible,
  in flight, delayed), each message reading the clock. Here the three counts are made
  in one pass, at one instant, whenever the attributes are built.
- **Every DynamoDB request** is read by walking botocore's input shape, member by member
  and attribute value by attribute value (about as long as moto takes to do the work
  asked). A data-plane request that botocore wrote holds nothing that walk changes but
  binary values (base64 text, decoded by the walk), so one without any (no `"B":` or
  `"BS":` in its body) is read with `json.loads`. With `verify=True` each is also read
  moto's way and compared, raising on any difference.
- **Every event a rule delivers** is written through its input template, which compiles
  each of eight JSONPath expressions afresh (a parser generator's tables, about 3 ms an
  event); the compiled expressions are kept here, and the template is written exactly
  as moto writes it.
- **Every call** goes from botocore to moto the whole way of a call to AWS: a request
  built, signed and prepared, handed to moto's stubber at `before-send`, turned into a
  werkzeug request and matched against the URL pattern of every service moto has, then
  parsed: about a millisecond of a GetItem whose work in moto is a tenth of that. A call
  to a JSON-protocol service is answered at botocore's `before-call` instead (see
  "calls" below): once botocore has validated and serialised it, its body goes to the
  handler moto's stubber routes the URL to, and the response is parsed as botocore
  parses it. Its body is handed over as werkzeug would read it (its data, and no form).
- **A Query** measures each item it returns two or three times (for the 1 MB page);
  here each item is measured once per Query.
- **A sort-key condition on strings** (`BETWEEN`, `<`, `begins_with`, ...) is tested by
  moto on its attribute values, which turn themselves into Python values at each test;
  here moto's own comparison is applied to the strings (a string's value is itself).
- **Every response** is searched with a regular expression for an XML `<RequestId>` to
  fill in, the whole body; a body that holds none (JSON) is not searched.
"""

import base64
import copy
import datetime
import functools
import importlib
import inspect
import io
import json
import re
import string
import sys
import threading
from collections.abc import Iterable
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from botocore import UNSIGNED as UNSIGNED_SIGNATURE
from botocore import auth as botocore_auth
from botocore.awsrequest import AWSResponse
from botocore.endpoint import convert_to_response_dict
from botocore.handlers import BUILTIN_HANDLERS, REGISTER_LAST
from botocore.model import OperationModel
from botocore.parsers import create_parser
from moto import backends, settings
from moto.core import request as request_module
from moto.core import responses as core_responses
from moto.core.botocore_stubber import MockRawResponse
from moto.core.exceptions import HTTPException  # type: ignore[attr-defined]
from moto.core.models import botocore_stubber
from moto.dynamodb import comparisons, models
from moto.dynamodb import responses as dynamodb_responses
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models import table as table_module
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import RESULT_SIZE_LIMIT, Table
from moto.dynamodb.models.utilities import bytesize
from moto.dynamodb.responses import DynamoResult
from moto.events.utils import EventTemplateParser
from moto.moto_api._internal import mock_random
from moto.moto_api._internal.moto_random import MotoRandom
from moto.sqs import models as sqs_models
from moto.utilities.aws_headers import gen_amzn_requestid_long

_ORIGINAL_QUERY = Table.query
_ORIGINAL_ALL_ITEMS = Table.all_items
_ORIGINAL_SORTED_ITEMS = Table.sorted_items
_ORIGINAL_EXECUTE_RESULT = DynamoResult.execute_result
_ORIGINAL_MODULES = backends.list_of_moto_modules
_ORIGINAL_TRANSACT = models.DynamoDBBackend.transact_write_items
_ORIGINAL_PUT = Table.put_item
_ORIGINAL_DELETE = Table.delete_item
_ORIGINAL_UPDATE = models.DynamoDBBackend.update_item
_ORIGINAL_STATEMENT = models.DynamoDBBackend.execute_statement
_ORIGINAL_STATEMENTS = models.DynamoDBBackend.batch_execute_statement
_ORIGINAL_COPY_MODULE = models.copy  # type: ignore[attr-defined]
# The attributes the later speed-ups replace (owner, name), and what moto had there.
_REPLACED: list[tuple[Any, str]] = [
    (core_responses, "method_names_from_class"),
    (core_responses, "camelcase_to_underscores"),
    (EventTemplateParser, "parse"),
    (sqs_models, "camelcase_to_underscores"),
    (sqs_models.SQSBackend, "is_message_valid_based_on_retention_period"),
    (sqs_models, "generate_receipt_handle"),
    (sqs_models, "unix_time"),
    (sqs_models, "unix_time_millis"),
    (MotoRandom, "get_random_string"),
    (botocore_auth.SigV4Auth, "add_auth"),
    (Item, "__init__"),
    (Item, "project"),
    (Item, "size"),
    (DynamoType, "size"),
    (table_module, "copy"),
    (dynamodb_responses, "dynamo_to_dict"),
    (dynamodb_responses, "create_condition_expression_parser"),
    (core_responses.BaseResponse, "_enrich_response"),
]
_ORIGINALS: dict[tuple[int, str], Any] = {
    (id(owner), name): vars(owner)[name] for owner, name in _REPLACED
}


def _original(owner: Any, name: str) -> Any:
    """What moto (or botocore) had there, as a plain function for a method."""
    value = _ORIGINALS[(id(owner), name)]
    return value.__func__ if isinstance(value, staticmethod) else value


_ORIGINAL_METHOD_NAMES = _original(core_responses, "method_names_from_class")
_ORIGINAL_CAMEL = _original(core_responses, "camelcase_to_underscores")
_ORIGINAL_ADD_AUTH = _original(botocore_auth.SigV4Auth, "add_auth")
_ORIGINAL_SIZE = _original(DynamoType, "size")
_ORIGINAL_ITEM_SIZE = _original(Item, "size")
_ORIGINAL_ENRICH_RESPONSE = _original(core_responses.BaseResponse, "_enrich_response")
_ORIGINAL_PROJECT = _original(Item, "project")
_ORIGINAL_SQS_UNIX_TIME = _original(sqs_models, "unix_time")
_ORIGINAL_DYNAMO_TO_DICT = _original(dynamodb_responses, "dynamo_to_dict")
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


class ParserMismatch(AssertionError):
    """A request read with `json.loads` is not what moto's parser reads (verify=True)."""


def install(verify: bool = False) -> None:
    _direct.enabled = True
    Table.query = _query  # type: ignore[method-assign]
    Table.all_items = _all_items  # type: ignore[method-assign]
    Table.sorted_items = _sorted_items  # type: ignore[method-assign]
    serialise = _verified_result if verify else _plain_result
    DynamoResult.execute_result = serialise  # type: ignore[method-assign,assignment]
    models.get_filter_expression = _filter_expression  # type: ignore[attr-defined,assignment]
    table_module.get_filter_expression = _filter_expression  # type: ignore[attr-defined,assignment]
    request_module.Request.from_primitives = classmethod(  # type: ignore[method-assign,assignment]
        _verified_primitives if verify else _plain_primitives
    )
    sqs_models.Queue.attributes = property(_queue_attributes)  # type: ignore[method-assign,assignment]
    for name, position in _COUNTS.items():
        setattr(sqs_models.Queue, name, property(_counted(name, position)))
    parse = _verified_parameters if verify else _plain_parameters
    dynamodb_responses.DynamoHandler.parse_parameters = parse  # type: ignore[method-assign]
    backends.list_of_moto_modules = _moto_modules
    models.copy = _CopyWithoutTables  # type: ignore[attr-defined,assignment]
    models.DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    Table.put_item = _put_item  # type: ignore[method-assign]
    Table.delete_item = _delete_item  # type: ignore[method-assign]
    models.DynamoDBBackend.update_item = _update_item  # type: ignore[method-assign]
    models.DynamoDBBackend.execute_statement = _execute_statement  # type: ignore[method-assign]
    models.DynamoDBBackend.batch_execute_statement = _batch_execute_statement  # type: ignore[method-assign]
    replacements = {
        (core_responses, "method_names_from_class"): _method_names,
        (core_responses, "camelcase_to_underscores"): _camelcase_to_underscores,
        (EventTemplateParser, "parse"): staticmethod(_template_parse),
        (sqs_models, "camelcase_to_underscores"): _camelcase_to_underscores,
        (sqs_models.SQSBackend, "is_message_valid_based_on_retention_period"): _retained,
        (sqs_models, "generate_receipt_handle"): _receipt_handle,
        (sqs_models, "unix_time"): _unix_time,
        (sqs_models, "unix_time_millis"): _unix_time_millis,
        (MotoRandom, "get_random_string"): _random_string,
        (botocore_auth.SigV4Auth, "add_auth"): _add_auth,
        (Item, "__init__"): _item_init,
        (Item, "project"): _project,
        (Item, "size"): _item_size,
        (DynamoType, "size"): _size,
        (table_module, "copy"): _CopyInQueries,
        (dynamodb_responses, "dynamo_to_dict"): _dynamo_to_dict,
        (dynamodb_responses, "create_condition_expression_parser"): _condition_parser,
        (core_responses.BaseResponse, "_enrich_response"): staticmethod(_enrich_response),
    }
    for owner, name in _REPLACED:
        setattr(owner, name, replacements[(owner, name)])


def uninstall() -> None:
    _direct.enabled = False
    Table.query = _ORIGINAL_QUERY  # type: ignore[method-assign]
    Table.all_items = _ORIGINAL_ALL_ITEMS  # type: ignore[method-assign]
    Table.sorted_items = _ORIGINAL_SORTED_ITEMS  # type: ignore[method-assign]
    DynamoResult.execute_result = _ORIGINAL_EXECUTE_RESULT  # type: ignore[method-assign]
    models.get_filter_expression = _ORIGINAL_FILTER_EXPRESSION  # type: ignore[attr-defined]
    table_module.get_filter_expression = _ORIGINAL_FILTER_EXPRESSION  # type: ignore[attr-defined]
    request_module.Request.from_primitives = _ORIGINAL_FROM_PRIMITIVES  # type: ignore[method-assign]
    sqs_models.Queue.attributes = _ORIGINAL_QUEUE_ATTRIBUTES  # type: ignore[method-assign]
    for name in _COUNTS:
        setattr(sqs_models.Queue, name, _ORIGINAL_COUNTS[name])
    if "parse_parameters" in vars(dynamodb_responses.DynamoHandler):
        del dynamodb_responses.DynamoHandler.parse_parameters
    backends.list_of_moto_modules = _ORIGINAL_MODULES
    models.copy = _ORIGINAL_COPY_MODULE  # type: ignore[attr-defined]
    models.DynamoDBBackend.transact_write_items = _ORIGINAL_TRANSACT  # type: ignore[method-assign]
    Table.put_item = _ORIGINAL_PUT  # type: ignore[method-assign]
    Table.delete_item = _ORIGINAL_DELETE  # type: ignore[method-assign]
    models.DynamoDBBackend.update_item = _ORIGINAL_UPDATE  # type: ignore[method-assign]
    models.DynamoDBBackend.execute_statement = _ORIGINAL_STATEMENT  # type: ignore[method-assign]
    models.DynamoDBBackend.batch_execute_statement = _ORIGINAL_STATEMENTS  # type: ignore[method-assign]
    for owner, name in _REPLACED:
        setattr(owner, name, _ORIGINALS[(id(owner), name)])


# --- a queue's attributes: its messages counted once -----------------------------------------

_ORIGINAL_QUEUE_ATTRIBUTES = sqs_models.Queue.__dict__["attributes"]
_COUNTS = {  # moto's properties, and where each count is in `_message_counts`
    "approximate_number_of_messages": 0,
    "approximate_number_of_messages_not_visible": 1,
    "approximate_number_of_messages_delayed": 2,
}
_ORIGINAL_COUNTS = {name: sqs_models.Queue.__dict__[name] for name in _COUNTS}
_attributes_of = threading.local()


def _message_counts(queue: Any) -> tuple[int, int, int]:
    """Visible and not delayed, not visible, delayed: moto's three counts."""
    now = sqs_models.unix_time_millis()  # type: ignore[attr-defined]
    ready = in_flight = delayed = 0
    for message in queue._messages:
        visible, waiting = now > message.visible_at, now < message.delayed_until
        ready += visible and not waiting
        in_flight += not visible
        delayed += waiting
    return ready, in_flight, delayed


def _queue_attributes(self: Any) -> dict[str, Any]:
    _attributes_of.queue = (self, _message_counts(self))
    try:
        return _ORIGINAL_QUEUE_ATTRIBUTES.fget(self)  # type: ignore[no-any-return]
    finally:
        _attributes_of.queue = None


def _counted(name: str, position: int) -> Any:
    original = _ORIGINAL_COUNTS[name]

    def count(self: Any) -> int:
        counting = getattr(_attributes_of, "queue", None)
        if counting is not None and counting[0] is self:
            return int(counting[1][position])
        return int(original.fget(self))

    return count


# --- requests: a JSON-protocol request's WSGI environ, built directly ------------------------

_ORIGINAL_FROM_PRIMITIVES = request_module.Request.__dict__["from_primitives"]
_PORTS = {"https": "443", "http": "80"}


class RequestMismatch(AssertionError):
    """A request built directly differs from werkzeug's (verify=True)."""


def _plain_environ(method: str, url: str, headers: Any, body: Any) -> dict[str, Any] | None:
    """The environ werkzeug's EnvironBuilder makes for a POST of bytes to `/` with no
    query and no header whose name must be preserved; None for any other request."""
    if method != "POST" or not isinstance(body, bytes):
        return None
    scheme, netloc, path, query, _ = urlsplit(url)
    if path != "/" or query or scheme not in _PORTS:
        return None
    host, _, port = netloc.partition(":")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "POST",
        "SCRIPT_NAME": "",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "REQUEST_URI": "/",
        "RAW_URI": "/",
        "SERVER_NAME": host,
        "SERVER_PORT": port or _PORTS[scheme],
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": netloc,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        request_module.PRESERVED_HEADER_NAMES_ENVIRON_KEY: {},
    }
    for name, value in headers.items():
        lower = name.lower()
        if lower == "transfer-encoding":
            continue
        if lower == "host" or request_module.should_preserve_original_header_name(name):
            return None
        text = value.decode("utf-8") if isinstance(value, bytes) else value
        environ[request_module.environ_key_for_header(name)] = text
    if environ["CONTENT_LENGTH"] != str(len(body)):
        return None
    return environ


def _plain_primitives(cls: Any, method: str, url: str, headers: Any, body: Any = None) -> Any:
    environ = _plain_environ(method, url, headers, body)
    if environ is None:
        return _ORIGINAL_FROM_PRIMITIVES.__func__(cls, method, url, headers, body)
    return cls(environ)


def _verified_primitives(cls: Any, method: str, url: str, headers: Any, body: Any = None) -> Any:
    request = _ORIGINAL_FROM_PRIMITIVES.__func__(cls, method, url, headers, body)
    environ = _plain_environ(method, url, headers, body)
    if environ is not None:
        built = cls(environ)
        ignored = ("wsgi.input", "wsgi.errors", "werkzeug.request")
        theirs = {k: v for k, v in request.environ.items() if k not in ignored}
        ours = {k: v for k, v in built.environ.items() if k not in ignored}
        if ours != theirs or built.get_data() != request.get_data():
            raise RequestMismatch(f"{url}: {ours!r} != {theirs!r}")
    return request


# --- conditions: parsed once for each text, names and values ---------------------------------

_ORIGINAL_FILTER_EXPRESSION = comparisons.get_filter_expression
_ORIGINAL_CONDITION_PARSER = comparisons.create_condition_expression_parser


def _condition_key(names: Any, values: Any) -> tuple[str, str] | None:
    try:
        return json.dumps(names, sort_keys=True), json.dumps(values, sort_keys=True)
    except TypeError:  # binary values (bytes): not kept
        return None


def _filter_expression(expression: str | None, names: Any, values: Any) -> Any:
    key = _condition_key(names, values)
    if key is None:
        return _ORIGINAL_FILTER_EXPRESSION(expression, names, values)
    return _parsed_condition(expression, *key).condition


class _ParsedCondition:
    """moto's ConditionExpressionParser, parsed once: each `parse()` gives the same
    condition and fresh lists of the names and values it found (moto extends them)."""

    def __init__(self, expression: str | None, names: str, values: str) -> None:
        parser = _ORIGINAL_CONDITION_PARSER(expression, json.loads(names), json.loads(values))
        self.condition = parser.parse()
        self._found = list(parser.expr_attr_names_found), list(parser.expr_attr_values_found)

    def parse(self) -> Any:
        self.expr_attr_names_found = list(self._found[0])
        self.expr_attr_values_found = list(self._found[1])
        return self.condition


@functools.lru_cache(maxsize=4096)
def _parsed_condition(expression: str | None, names: str, values: str) -> _ParsedCondition:
    return _ParsedCondition(expression, names, values)


def _condition_parser(expression: str | None, names: Any, values: Any) -> Any:
    """What moto's request handlers parse a condition with (to check the names it uses)."""
    key = _condition_key(names, values)
    if key is None:
        return _ORIGINAL_CONDITION_PARSER(expression, names, values)
    try:
        return _parsed_condition(expression, *key)
    except Exception:  # an invalid condition: moto's own parser raises it when asked
        return _ORIGINAL_CONDITION_PARSER(expression, names, values)


# --- DynamoDB requests: read as JSON when nothing in them needs moto's parser ---------------

_ORIGINAL_PARSE_PARAMETERS = core_responses.BaseResponse.parse_parameters


def _plain_request(handler: Any, request: Any) -> dict[str, Any] | None:
    """The request's parameters, if `json.loads` reads them as moto's parser would: a
    data-plane operation without binary values; None otherwise."""
    if handler._get_action() not in PLAIN_JSON_OPERATIONS:
        return None
    body = request.data
    text = body.decode("utf-8") if isinstance(body, bytes) else body
    if not text or '"B":' in text or '"BS":' in text:
        return None
    parameters = json.loads(text)
    return parameters if isinstance(parameters, dict) else None


def _plain_parameters(self: Any, request: Any) -> None:
    parameters = _plain_request(self, request)
    if parameters is None:
        _ORIGINAL_PARSE_PARAMETERS(self, request)
    else:
        self.params = parameters


def _verified_parameters(self: Any, request: Any) -> None:
    _ORIGINAL_PARSE_PARAMETERS(self, request)
    parameters = _plain_request(self, request)
    if parameters is not None and parameters != self.params:
        raise ParserMismatch(f"{self._get_action()}: {parameters!r} != {self.params!r}")


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
        before = table.get_item(hash_key, range_key)
        # An update changes the stored item in place; a put or delete replaces or drops it
        # (the item itself is left as it was), and a condition check reads it.
        kind, _ = next(iter(entry.items()))
        snapshot.append(
            (table, hash_key, range_key, copy.deepcopy(before) if kind == "Update" else before)
        )
    try:
        _ORIGINAL_TRANSACT(self, transact_items)
    except Exception:
        for table, hash_key, range_key, before in reversed(snapshot):
            _written(table)
            if before is None:
                table.delete_item(hash_key, range_key)
            elif range_key is not None:
                table.items[hash_key][range_key] = before
            else:
                table.items[hash_key] = before
        raise


# --- writes: each table counts its own, so that an index's grouping knows when it is stale --


def _written(table: Table) -> None:
    table.__dict__["_speedup_writes"] = table.__dict__.get("_speedup_writes", 0) + 1


def _writing(tables: Iterable[Table], write: Any, *args: Any, **kwargs: Any) -> Any:
    """Counted before and after: a grouping made while the write ran is stale too (the
    moto server answers requests on threads)."""
    tables = list(tables)
    for table in tables:
        _written(table)
    try:
        return write(*args, **kwargs)
    finally:
        for table in tables:
            _written(table)


def _put_item(self: Table, *args: Any, **kwargs: Any) -> Any:
    return _writing([self], _ORIGINAL_PUT, self, *args, **kwargs)


def _delete_item(self: Table, *args: Any, **kwargs: Any) -> Any:
    return _writing([self], _ORIGINAL_DELETE, self, *args, **kwargs)


def _update_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
    table = self.tables.get(table_name)  # moto updates a stored item in place
    tables = [table] if table is not None else []
    return _writing(tables, _ORIGINAL_UPDATE, self, table_name, *args, **kwargs)


def _execute_statement(self: Any, *args: Any, **kwargs: Any) -> Any:
    return _writing(self.tables.values(), _ORIGINAL_STATEMENT, self, *args, **kwargs)


def _batch_execute_statement(self: Any, *args: Any, **kwargs: Any) -> Any:
    return _writing(self.tables.values(), _ORIGINAL_STATEMENTS, self, *args, **kwargs)


# --- Query: the partition's items only ------------------------------------------------------


def _query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    if hash_key is None or not self.range_key_attr:
        return _ORIGINAL_QUERY(self, hash_key, *args, **kwargs)
    # moto's arguments by name, whether it passed them by position or by name
    arguments = _QUERY_SIGNATURE.bind(self, hash_key, *args, **kwargs).arguments
    _querying.sizes = {}  # each item measured once while this Query runs (`_item_size`)
    try:
        if arguments.get("index_name"):
            found = _index_partition(self, arguments)
            if found is None:
                return _ORIGINAL_QUERY(self, hash_key, *args, **kwargs)
            items, sort_attribute = found
            candidates = _candidates(self, items, arguments, sort_attribute)
        else:
            partition = list(self.items.get(hash_key, {}).values())
            candidates = _candidates(self, partition, arguments, None)
        _querying.partition = (self, candidates)
        return _ORIGINAL_QUERY(self, hash_key, *args, **kwargs)
    finally:
        _querying.partition = None
        _querying.sizes = None


def _index_partition(table: Table, arguments: dict[str, Any]) -> tuple[list[Any], str] | None:
    """The items of the queried partition of a global secondary index keyed by strings,
    and its sort key attribute; None when moto should walk the table itself."""
    index = next((i for i in table.global_indexes if i.name == arguments["index_name"]), None)
    if index is None or arguments.get("consistent_read"):
        return None  # moto's own errors
    hashes = [key["AttributeName"] for key in index.schema if key["KeyType"] == "HASH"]
    ranges = [key["AttributeName"] for key in index.schema if key["KeyType"] == "RANGE"]
    conditions = arguments.get("hash_key_conditions") or []
    if len(hashes) != 1 or len(ranges) != 1 or len(conditions) != 1:
        return None
    (attribute, value), sort_attribute = conditions[0], ranges[0]
    if attribute != hashes[0] or value.type != "S":
        return None
    writes = table.__dict__.get("_speedup_writes", 0)
    cached = table.__dict__.setdefault("_speedup_index_groups", {}).get(index.name)
    if cached is None or cached[0] != writes:
        cached = (writes, _group(_unsorted_items(table), attribute, sort_attribute))
        table.__dict__["_speedup_index_groups"][index.name] = cached
    groups = cached[1]
    if groups is None:
        return None
    return groups.get(value.value, []), sort_attribute


def _unsorted_items(table: Table) -> Iterable[Any]:
    """The table's items as moto's `all_items` lists them, without sorting them by their
    keys (comparing moto's attribute values, about a second for 20,000 items): `_candidates`
    orders each group by the index's keys and the table's, which no two items share."""
    for stored in table.items.values():
        if table.range_key_attr:
            yield from stored.values()
        else:
            yield stored


def _group(
    items: Iterable[Any], attribute: str, sort_attribute: str
) -> dict[str, list[Any]] | None:
    """The items that have both index keys, by the index's partition value, each group
    in moto's index order; None when a key is not a string (left to moto)."""
    groups: dict[str, list[Any]] = {}
    for item in items:
        if not isinstance(item, Item):
            continue
        value, sort_value = item.attrs.get(attribute), item.attrs.get(sort_attribute)
        if not value or not sort_value:
            continue
        if value.type != "S" or sort_value.type != "S" or item.hash_key.type != "S":
            return None
        if item.range_key is not None and item.range_key.type != "S":
            return None
        groups.setdefault(value.value, []).append(item)
    return groups


def _candidates(
    table: Table, items: list[Any], arguments: dict[str, Any], index_sort: str | None
) -> list[Any]:
    """The partition's items in the order moto sorts them (by sort key: on an index
    `index_sort`, then the table's keys), and under a sort-key condition only the run of
    items it keeps, with one neighbour on each side.

    In moto's loop an item the condition rejects adds nothing and is not counted; it can
    only end the page (the last item kept becomes LastEvaluatedKey): the first one after
    the run if the limit is reached, or any one after it that would take the page past
    1 MB. The first is kept here; the second cannot happen while the run weighs less than
    1 MB less the largest item moto stores, else the whole partition goes to moto."""
    if index_sort is None:
        sort_attribute = table.range_key_attr

        def sort_key(item: Any) -> Any:
            return item.range_key

        strings = all(item.range_key.type == "S" for item in items)
        if strings:  # a string's cast value is the string itself
            ordered = sorted(items, key=lambda item: item.range_key.value)
        else:
            ordered = sorted(items, key=lambda item: item.range_key.cast_value)
    else:  # `_group` kept strings only
        sort_attribute, strings = index_sort, True

        def sort_key(item: Any) -> Any:
            return item.attrs[index_sort]

        ordered = sorted(items, key=lambda item: _index_order(item, index_sort))
    comparison = arguments.get("range_comparison")
    conditions = arguments.get("range_key_conditions") or []
    if (
        not comparison
        or arguments.get("filter_kwargs")
        or len(conditions) > 1
        or (conditions and conditions[-1][0] != sort_attribute)
    ):
        return ordered
    bounds = arguments.get("range_objs") or []
    if strings and all(bound.type == "S" for bound in bounds):
        # moto's comparison of cast values; a string's cast value is the string itself
        test = comparisons.get_comparison_func(comparison)
        values = [bound.value for bound in bounds]
        kept = [n for n, item in enumerate(ordered) if test(sort_key(item).value, *values)]
    else:
        kept = [n for n, item in enumerate(ordered) if sort_key(item).compare(comparison, bounds)]
    if not kept:
        return []
    first, last = kept[0], kept[-1]
    run = sum(item.size() for item in ordered[first : last + 1])
    if run + MOTO_ITEM_SIZE_LIMIT > RESULT_SIZE_LIMIT:
        return ordered
    return ordered[max(first - 1, 0) : last + 2]


def _index_order(item: Any, index_sort: str) -> tuple[Any, ...]:
    """moto's order of an index partition: its sort key, then the table's keys."""
    table_range = item.range_key.value if item.range_key is not None else ""
    return (item.attrs[index_sort].value, item.hash_key.value, table_range)


def _sorted_items(
    self: Table, hash_key_attrs: list[str], range_key_attrs: list[str | None], items: list[Item]
) -> list[Item]:
    """moto's order, with each item's sort key read once when every key is a string
    (moto compares a string's value as it is); anything else is left to moto."""
    names = self._generate_attr_to_sort_by(hash_key_attrs, range_key_attrs)
    keyed = []
    for item in items:
        key = []
        for name in names:
            value = item.attrs[name]
            if value.type != "S":
                return _ORIGINAL_SORTED_ITEMS(self, hash_key_attrs, range_key_attrs, items)
            key.append(value.value)
        keyed.append((tuple(key), item))
    keyed.sort(key=lambda pair: pair[0])
    items[:] = [item for _, item in keyed]
    return items


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
    return json.dumps(_plain(result), separators=(",", ":"))


# --- routing: moto's services, listed once ---------------------------------------------------

_modules: list[str] = []


def _moto_modules() -> Iterable[str]:
    if not _modules:
        _modules.extend(_ORIGINAL_MODULES())
    return _modules


# --- requests: the response class's methods, listed once per class ---------------------------

_method_names_by_class: dict[type, list[str]] = {}


def _enrich_response(headers: dict[str, Any], body: Any) -> tuple[dict[str, Any], Any]:
    """moto's, without its search of every response for an XML `<RequestId>` to fill in
    (a regular expression over the whole body) when the body holds none: a JSON one."""
    if isinstance(body, str) and "<RequestId>" not in body:
        if "status" in headers:
            headers["status"] = str(headers["status"])
        gen_amzn_requestid_long(headers)
        return headers, body
    enriched: tuple[dict[str, Any], Any] = _ORIGINAL_ENRICH_RESPONSE(headers, body)
    return enriched


def _method_names(clazz: type) -> list[str]:
    names = _method_names_by_class.get(clazz)
    if names is None:
        names = _method_names_by_class[clazz] = list(_ORIGINAL_METHOD_NAMES(clazz))
    return names


# --- rule deliveries: the input template's JSONPath expressions, compiled once ---------------


@functools.cache
def _jsonpath(expression: str) -> Any:
    ext: Any = importlib.import_module("jsonpath_ng.ext")  # moto's EventTemplateParser's

    return ext.parse(expression)


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
    return str(_ORIGINAL_CAMEL(argument))


def _retained(self: Any, queue_name: str, message: Any) -> bool:
    """moto's check, which reads the retention period through GetQueueAttributes: that
    builds every attribute of the queue, counting its messages three times, for each
    message received. The attribute is the queue's `message_retention_period`."""
    retention_period = self.get_queue(queue_name).message_retention_period
    retain_until = retention_period + message.sent_timestamp / 1000
    return bool(retain_until > _unix_time())


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


# --- requests to moto: signed without the signature ------------------------------------------
# botocore signs every request (a canonical request, then four HMACs): a third of the
# client's time per call. moto reads the Authorization header for the access key (the
# account) and the region, and checks the signature only when its IAM authorization is
# switched on (INITIAL_NO_AUTH_ACTION_COUNT): then, and for the signers derived from
# SigV4 (S3's, presigned URLs), botocore signs as ever.

UNSIGNED = "0" * 64
NO_AUTHORIZATION = float("inf")  # moto's default INITIAL_NO_AUTH_ACTION_COUNT


def _add_auth(self: Any, request: Any) -> None:
    checked = settings.INITIAL_NO_AUTH_ACTION_COUNT != NO_AUTHORIZATION
    if checked or type(self) is not botocore_auth.SigV4Auth:
        _ORIGINAL_ADD_AUTH(self, request)
        return
    if self.credentials is None:
        raise botocore_auth.NoCredentialsError()
    signing: Any = botocore_auth  # what SigV4Auth.add_auth uses, as it uses it
    request.context["timestamp"] = signing.get_current_datetime().strftime(signing.SIGV4_TIMESTAMP)
    signer: Any = self
    signer._modify_request_before_signing(request)
    signer._inject_signature_to_request(request, UNSIGNED)


# --- items: their size, measured once per attribute -----------------------------------------
# moto builds an item attribute by attribute into a dict that, on every insertion, measures
# every attribute already in it (to refuse an item above 405,000 bytes): quadratic in the
# attributes, a third of a BatchWriteItem. Here the same sums are kept as they grow, and
# the same error raised at the same attribute; and a string's or a number's size is
# measured without walking moto's chain of type tests.


def _item_init(self: Item, hash_key: Any, range_key: Any, attrs: dict[str, Any]) -> None:
    self.hash_key = hash_key
    self.range_key = range_key
    self.attrs = LimitedSizeDict()
    size = 0
    for key, value in attrs.items():
        typed = DynamoType(value)
        added = bytesize(str(key)) + typed.size()
        if size + added > MOTO_ITEM_SIZE_LIMIT:
            raise ItemSizeTooLarge
        dict.__setitem__(self.attrs, key, typed)
        size += added


def _item_size(self: Item) -> int:
    """An item's size, measured once per Query of ours: moto measures each item it
    returns two or three times (for the 1 MB page), and nothing writes while it reads."""
    sizes = getattr(_querying, "sizes", None)
    if sizes is None:
        return int(_ORIGINAL_ITEM_SIZE(self))
    measured = sizes.get(id(self))  # (the item, kept so that its id is not reused; size)
    if measured is None:
        measured = sizes[id(self)] = (self, _ORIGINAL_ITEM_SIZE(self))
    return int(measured[1])


def _project(self: Item, projection_expressions: list[list[str]]) -> Item:
    """moto's projection, for top-level attribute names: the named attributes as they are
    (moto turns the whole item into plain Python and back once per name), in the order
    named. Paths into maps and lists are left to moto."""
    names = [path[0] for path in projection_expressions if len(path) == 1]
    if len(names) != len(projection_expressions) or any(
        "[" in name or "." in name for name in names
    ):
        original: Item = _ORIGINAL_PROJECT(self, projection_expressions)
        return original
    projected: Any = Item.__new__(Item)
    projected.hash_key, projected.range_key = self.hash_key, self.range_key
    projected.attrs = LimitedSizeDict()
    for name in names:
        value = self.attrs.get(name)
        if value is not None:
            dict.__setitem__(projected.attrs, name, value)
    result: Item = projected
    return result


def _size(self: DynamoType) -> int:
    kind = self.type
    if kind == "S" or kind == "B":
        value = self.value
        if not isinstance(value, bool):
            return len(value if isinstance(value, bytes) else value.encode("utf-8"))
    elif kind == "N":
        return len(str(self.value))
    return int(_ORIGINAL_SIZE(self))


# --- SQS: the clock read directly ---------------------------------------------------------
# Whether a message is visible or delayed reads the clock through moto's unix_time(): a
# naive now, minus a naive epoch built on every call, about ten times per message of the
# queue for every message sent or received. The same arithmetic on an aware now.

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)


def _unix_time(dt: datetime.datetime | None = None) -> float:
    if dt is not None:
        return float(_ORIGINAL_SQS_UNIX_TIME(dt))
    delta = datetime.datetime.now(datetime.UTC) - _EPOCH
    return (delta.days * 86400) + (delta.seconds + (delta.microseconds / 1e6))


def _unix_time_millis(dt: datetime.datetime | None = None) -> float:
    return _unix_time(dt) * 1000.0


# --- Query results: read, not copied; DynamoDB types turned into JSON directly --------------
# moto deep-copies every item a Query returns before its handler reads them (item.attrs,
# converted into new dicts); nothing writes to them, so while a Query of ours runs the
# list is copied and its items are not. The handler's conversion of DynamoDB types into
# plain values (dynamo_to_dict) is the same here, with the common types tested first.


class _CopyInQueries:
    """Stands in for the `copy` module inside moto.dynamodb.models.table."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if getattr(_querying, "partition", None) is not None and isinstance(value, list):
            return list(value)  # Table.query's results: only read from here on
        return copy.deepcopy(value, memo)


_AS_THEY_ARE = (str, bool, int, float, Decimal, type(None))


def _dynamo_to_dict(obj: Any) -> Any:
    kind = type(obj)
    if kind in _AS_THEY_ARE:
        return obj
    if kind is DynamoType and obj.type not in ("B", "BS"):
        return {obj.type: _dynamo_to_dict(obj.value)}
    if kind is dict or kind is LimitedSizeDict:  # an item's attributes: no to_json
        return {key: _dynamo_to_dict(value) for key, value in obj.items()}
    if kind is list:
        return [_dynamo_to_dict(value) for value in obj]
    return _ORIGINAL_DYNAMO_TO_DICT(obj)  # binaries, items, instants, ...


def _plain(value: Any) -> Any:
    """A response's value as JSON has it: what `_json` writes."""
    kind = type(value)
    if kind is str or kind is bool or kind is int:
        return value
    if kind is dict:
        return {key: _plain(item) for key, item in value.items() if item is not None}
    if kind is list:
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items() if item is not None}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Decimal):  # consumed capacity units; item numbers are strings
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# --- calls: from botocore to moto's handler directly -----------------------------------------
# A call to moto in process goes the whole way of a call to AWS: botocore builds a request,
# signs it, prepares it, and hands it to moto's stubber (`before-send`), which turns it into
# a werkzeug request and matches its URL against the pattern of every service moto has;
# then botocore parses the response. About a millisecond a call, when moto's work for a
# GetItem is a tenth of that. A call to a JSON-protocol service (DynamoDB, SQS,
# EventBridge, KMS) is answered here at botocore's `before-call`, after botocore has
# validated and serialised it and every other `before-call` handler has run: its
# serialised body goes to the handler moto routes that URL to (the route is kept per URL),
# and moto's response is parsed as botocore parses it (its `before-parse` hooks included).
# botocore then emits `after-call` and raises a service error as ever. What is skipped is
# the HTTP request itself (its signature, `before-send`, `needs-retry`: moto in process
# is never throttled). Other protocols (S3), unsigned calls, calls without credentials
# (botocore raises NoCredentialsError), and every call while moto checks signatures
# (INITIAL_NO_AUTH_ACTION_COUNT), take the whole way.


class _DirectCalls:
    enabled = False


_direct = _DirectCalls()
_routes: dict[str, Any] = {}
_parsers: dict[str, Any] = {}


def _route(url: str) -> Any:
    """The handler moto's stubber would route a POST to `url` to; None if moto would not
    answer it itself (an unknown service, a passthrough)."""
    if url not in _routes:
        # moto's handlers are given the URL as it rebuilds it from the request
        # (`raw_url`); the route is kept only for a URL that it rebuilds unchanged.
        rebuilt = request_module.Request.from_primitives("POST", url, {}, b"").raw_url
        _routes[url] = _stubber_route(url) if rebuilt == url else None
    return _routes[url]


def _stubber_route(url: str) -> Any:
    from moto.backends import get_backend
    from moto.core import DEFAULT_ACCOUNT_ID  # type: ignore[attr-defined]
    from moto.core.base_backend import BackendDict
    from moto.core.botocore_stubber import backend_index  # type: ignore[attr-defined]
    from moto.core.config import passthrough_service, passthrough_url, service_whitelisted

    scheme, netloc, path, query, _ = urlsplit(url)
    if path != "/" or query:
        return None
    clean_url = f"{scheme}://{netloc}{path}"
    if passthrough_url(clean_url):
        return None
    for service, pattern in backend_index.backend_url_patterns:
        if not pattern.match(clean_url):
            continue
        if passthrough_service(service) or not service_whitelisted(service):
            return None
        backend_dict = get_backend(service)  # type: ignore[call-overload]
        if isinstance(backend_dict, BackendDict):
            regions = backend_dict[DEFAULT_ACCOUNT_ID]
            backend = regions["us-east-1" if "us-east-1" in regions else "aws"]
        else:
            backend = backend_dict["global"]
        for expression, handler in backend.urls.items():
            if re.compile(expression).match(clean_url):
                return handler
        return None
    return None


def _direct_call(
    model: OperationModel, params: dict[str, Any], request_signer: Any, **_: Any
) -> tuple[AWSResponse, dict[str, Any]] | None:
    if not (_direct.enabled and botocore_stubber.enabled):
        return None
    service = model.service_model
    protocol = service.resolved_protocol
    body = params["body"]
    if (
        protocol != "json"
        or settings.INITIAL_NO_AUTH_ACTION_COUNT != NO_AUTHORIZATION
        or params["method"] != "POST"
        or not isinstance(body, bytes)
        # unsigned, or nothing to sign with (botocore raises): the whole way
        or request_signer.signature_version is UNSIGNED_SIGNATURE
        or request_signer._credentials is None
    ):
        return None
    url = params["url"]
    handler = _route(url)
    if handler is None:
        return None
    headers = dict(params["headers"])
    headers["Authorization"] = _authorization(request_signer, service.signing_name or "")
    request = request_module.Request.from_primitives("POST", url, headers, body)
    _read_already(request, body)
    try:
        status, response_headers, response_body = handler(request, url, request.headers)
    except HTTPException as error:
        status, response_headers, response_body = error.code, error.get_headers(), error.get_body()
    http = AWSResponse(url, status, response_headers, MockRawResponse(response_body))
    return http, _parsed(model, http, request_signer._event_emitter)


def _read_already(request: Any, body: bytes) -> None:
    """What werkzeug would read of a JSON request's body (moto asks for its data and its
    form): the body, and no form or files (werkzeug parses neither for a JSON content
    type), set as werkzeug caches them."""
    if request.mimetype.startswith("application/x-amz-json-"):
        fields = request.__dict__
        fields["data"] = request._cached_data = body
        fields["form"] = request.parameter_storage_class()
        fields["files"] = request.parameter_storage_class()


def _authorization(request_signer: Any, signing_name: str) -> str:
    """What moto reads of a signature: the access key and the region of its scope."""
    access_key = request_signer._credentials.get_frozen_credentials().access_key
    scope = f"{access_key}/20000101/{request_signer.region_name}/{signing_name}/aws4_request"
    return f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature={UNSIGNED}"


def _parsed(model: OperationModel, http: AWSResponse, emitter: Any) -> dict[str, Any]:
    """moto's response parsed as botocore's endpoint parses it."""
    response_dict = convert_to_response_dict(http, model)
    service_id = model.service_model.service_id.hyphenize()
    customized: dict[str, Any] = {}
    emitter.emit(
        f"before-parse.{service_id}.{model.name}",
        operation_model=model,
        response_dict=response_dict,
        customized_response_dict=customized,
    )
    protocol = model.service_model.resolved_protocol
    if protocol not in _parsers:
        _parsers[protocol] = create_parser(protocol)
    parser = _parsers[protocol]
    parsed: dict[str, Any] = parser.parse(response_dict, model.output_shape)
    parsed.update(customized)
    if http.status_code >= 300:
        code = parsed.get("Error", {}).get("Code")
        shape = model.service_model.shape_for_error_code(code) if code else None
        if shape is not None:
            parsed.update(parser.parse(response_dict, shape))
    if "ResponseMetadata" in parsed:
        parsed["ResponseMetadata"]["RetryAttempts"] = 0
    return parsed


BUILTIN_HANDLERS.append(("before-call", _direct_call, REGISTER_LAST))
