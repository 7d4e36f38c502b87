"""A DynamoDB table as the stores use it: plain Python items in and out, batches that
finish or fail as a whole, and ClientError codes turned into typed errors.

Nothing here decides by an error's message text: only by its code.
"""

import random
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from bonus_engine.storage.keys import Index

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]

BATCH_WRITE_LIMIT = 25
BATCH_GET_LIMIT = 100
TRANSACTION_LIMIT = 100
UNPROCESSED_ATTEMPTS = 6  # with backoff: about 1.5 s in all before giving up

_THROTTLING = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "TransactionInProgressException",
}


class StorageError(Exception):
    """A storage failure that retrying will not fix (a bug or a misconfiguration)."""


class TransientStorageError(StorageError):
    """Throttling, a timeout, items left unprocessed: retry the whole unit of work later."""


class ConditionFailed(StorageError):
    """A conditional write found the item not as expected (already applied, or changed).
    For a transaction, `failed` lists the positions of the actions whose condition failed."""

    def __init__(self, code: str, failed: tuple[int, ...] = ()) -> None:
        super().__init__(code)
        self.failed = failed


def translate(error: ClientError) -> StorageError:
    code = error.response.get("Error", {}).get("Code", "")
    if code in _THROTTLING:
        return TransientStorageError(code)
    if code == "ConditionalCheckFailedException":
        return ConditionFailed(code)
    if code == "TransactionCanceledException":
        reasons = [
            reason.get("Code", "") for reason in error.response.get("CancellationReasons", [])
        ]
        if "ConditionalCheckFailed" in reasons:
            failed = tuple(
                i for i, reason in enumerate(reasons) if reason == "ConditionalCheckFailed"
            )
            return ConditionFailed(code, failed)
        return TransientStorageError(f"{code}: {reasons}")
    return StorageError(code)


@dataclass
class Usage:
    """Requests and capacity a table's callers consumed (read back by metrics and bench)."""

    requests: dict[str, int] = field(default_factory=dict)
    read_units: Decimal = Decimal(0)
    write_units: Decimal = Decimal(0)

    def count(self, operation: str, response: Mapping[str, Any], write: bool) -> None:
        self.requests[operation] = self.requests.get(operation, 0) + 1
        consumed = response.get("ConsumedCapacity")
        entries = consumed if isinstance(consumed, list) else [consumed] if consumed else []
        units = sum((Decimal(str(entry.get("CapacityUnits", 0))) for entry in entries), Decimal(0))
        if write:
            self.write_units += units
        else:
            self.read_units += units

    @property
    def write_requests(self) -> int:
        writes = ("PutItem", "UpdateItem", "BatchWriteItem", "TransactWriteItems")
        return sum(self.requests.get(operation, 0) for operation in writes)


_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_attributes(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in item.items() if value is not None}


def from_attributes(attributes: Mapping[str, Any]) -> Item:
    """Plain Python values: str, bool, Decimal, bytes, sets, lists and dicts."""
    return {name: _plain(_deserializer.deserialize(value)) for name, value in attributes.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, Binary):
        return value.value  # type: ignore[attr-defined]  # the stubs omit it
    return value


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, min(1.0, 0.025 * 2**attempt)))


class Table:
    def __init__(self, client: "DynamoDBClient", name: str) -> None:
        self.client = client
        self.name = name
        self.usage = Usage()

    def _call(self, operation: str, write: bool, **kwargs: Any) -> Any:
        method = getattr(self.client, _SNAKE[operation])
        try:
            response = method(ReturnConsumedCapacity="TOTAL", **kwargs)
        except ClientError as error:
            raise translate(error) from error
        except (ConnectionError, HTTPClientError) as error:
            raise TransientStorageError(type(error).__name__) from error
        self.usage.count(operation, response, write)
        return response

    def get(self, key: Mapping[str, str], consistent: bool = True) -> Item | None:
        response = self._call(
            "GetItem", False, TableName=self.name, Key=to_attributes(key), ConsistentRead=consistent
        )
        return from_attributes(response["Item"]) if "Item" in response else None

    def put(
        self,
        item: Mapping[str, Any],
        condition: str | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {"TableName": self.name, "Item": to_attributes(item)}
        if condition:
            kwargs["ConditionExpression"] = condition
        if values:
            kwargs["ExpressionAttributeValues"] = to_attributes(values)
        self._call("PutItem", True, **kwargs)

    def update(
        self,
        key: Mapping[str, str],
        expression: str,
        values: Mapping[str, Any] | None = None,
        names: Mapping[str, str] | None = None,
        condition: str | None = None,
    ) -> Item:
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "Key": to_attributes(key),
            "UpdateExpression": expression,
            "ReturnValues": "ALL_NEW",
        }
        if values:
            kwargs["ExpressionAttributeValues"] = to_attributes(values)
        if names:
            kwargs["ExpressionAttributeNames"] = dict(names)
        if condition:
            kwargs["ConditionExpression"] = condition
        response = self._call("UpdateItem", True, **kwargs)
        return from_attributes(response.get("Attributes", {}))

    def query(
        self,
        partition: str,
        prefix: str | None = None,
        after: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
        projection: str | None = None,
        count_only: bool = False,
        consistent: bool = False,
        between: tuple[str, str] | None = None,
        names: Mapping[str, str] | None = None,
        index: Index | None = None,
    ) -> Iterator[Item]:
        """Every item of a partition of the table or of one of its indexes (optionally:
        sort keys with a prefix, after a value, or between two values, inclusive),
        following pagination. An index is read eventually consistent, as DynamoDB
        allows."""
        kwargs = self._key_condition(partition, prefix, after, between, index)
        kwargs.update(ScanIndexForward=not newest_first, ConsistentRead=consistent)
        if limit is not None:
            kwargs["Limit"] = limit
        if projection:
            kwargs["ProjectionExpression"] = projection
        if names:
            kwargs["ExpressionAttributeNames"] = dict(names)
        if count_only:
            kwargs["Select"] = "COUNT"
        returned = 0
        while True:
            response = self._call("Query", False, **kwargs)
            if count_only:
                yield {"count": response["Count"]}
            for attributes in response.get("Items", []):
                yield from_attributes(attributes)
                returned += 1
                if limit is not None and returned >= limit:
                    return
            if "LastEvaluatedKey" not in response:
                return
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def count(self, partition: str) -> int:
        return sum(page["count"] for page in self.query(partition, count_only=True))

    def batch_get(
        self,
        keys: Sequence[Mapping[str, str]],
        projection: str | None = None,
        consistent: bool = False,
    ) -> list[Item]:
        """The items that exist among `keys` (any order); unprocessed keys are retried."""
        found: list[Item] = []
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                "Keys": [to_attributes(key) for key in keys[start : start + BATCH_GET_LIMIT]]
            }
            if projection:
                request["ProjectionExpression"] = projection
            if consistent:
                request["ConsistentRead"] = True
            pending: dict[str, Any] = {self.name: request}
            for attempt in range(UNPROCESSED_ATTEMPTS):
                response = self._call("BatchGetItem", False, RequestItems=pending)
                found += [from_attributes(a) for a in response["Responses"].get(self.name, [])]
                pending = response.get("UnprocessedKeys") or {}
                if not pending:
                    break
                _backoff(attempt)
            else:
                raise TransientStorageError("BatchGetItem left keys unprocessed")
        return found

    def batch_put(self, items: Sequence[Mapping[str, Any]]) -> None:
        """Put every item (25 a request); unprocessed items are retried with backoff and,
        if they still fail, the whole call fails as transient. Puts only: a batch cannot
        be conditional, so every item written here must be naturally idempotent.
        Two items with one key in the same call: the last one is written (a batch
        request refuses duplicate keys)."""
        items = list({(item["pk"], item["sk"]): item for item in items}.values())
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            pending: dict[str, Any] = {
                self.name: [
                    {"PutRequest": {"Item": to_attributes(item)}}
                    for item in items[start : start + BATCH_WRITE_LIMIT]
                ]
            }
            for attempt in range(UNPROCESSED_ATTEMPTS):
                response = self._call("BatchWriteItem", True, RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
                if not pending:
                    break
                _backoff(attempt)
            else:
                raise TransientStorageError("BatchWriteItem left items unprocessed")

    def transact(self, actions: Sequence[Mapping[str, Any]]) -> None:
        """TransactWriteItems on this table; each action is {"Put"|"Update"|...: {...}}
        with plain values (serialised here) and without TableName."""
        items = []
        for action in actions:
            ((kind, body),) = action.items()
            request = dict(body, TableName=self.name)
            for name in ("Item", "Key", "ExpressionAttributeValues"):
                if name in request:
                    request[name] = to_attributes(request[name])
            items.append({kind: request})
        self._call("TransactWriteItems", True, TransactItems=items)

    def _key_condition(
        self,
        partition: str,
        prefix: str | None,
        after: str | None,
        between: tuple[str, str] | None = None,
        index: Index | None = None,
    ) -> dict[str, Any]:
        """A Query's key condition: the partition, and a sort-key prefix, lower bound or
        range."""
        pk, sk = (index.partition, index.sort) if index else ("pk", "sk")
        condition = f"{pk} = :pk"
        values: dict[str, Any] = {":pk": partition}
        if between is not None:
            condition += f" AND {sk} BETWEEN :first AND :last"
            values[":first"], values[":last"] = between
        elif prefix is not None:
            condition += f" AND begins_with({sk}, :prefix)"
            values[":prefix"] = prefix
        elif after is not None:
            condition += f" AND {sk} > :after"
            values[":after"] = after
        request: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": to_attributes(values),
        }
        if index is not None:
            request["IndexName"] = index.name
        return request

    def query_page(
        self,
        partition: str,
        prefix: str | None = None,
        limit: int = 50,
        start_key: Mapping[str, str] | None = None,
    ) -> tuple[list[Item], dict[str, str] | None]:
        """One page of a partition (optionally: sort keys with a prefix): its items and
        the key to start the next page after, None on the last page (one Query)."""
        kwargs = self._key_condition(partition, prefix, None)
        kwargs["Limit"] = limit
        if start_key is not None:
            kwargs["ExclusiveStartKey"] = to_attributes(start_key)
        response = self._call("Query", False, **kwargs)
        items = [from_attributes(attributes) for attributes in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return items, {k: str(v) for k, v in from_attributes(last).items()} if last else None


_SNAKE = {
    "GetItem": "get_item",
    "PutItem": "put_item",
    "UpdateItem": "update_item",
    "Query": "query",
    "BatchGetItem": "batch_get_item",
    "BatchWriteItem": "batch_write_item",
    "TransactWriteItems": "transact_write_items",
}
