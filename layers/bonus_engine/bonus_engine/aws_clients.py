"""AWS clients, created on first use and kept for the life of the container.

Nothing is created at import time: cold starts stay short and moto can patch the clients
in tests. `AWS_ENDPOINT_URL` (honoured by boto3) points them at the local emulation.
"""

import base64
import json
from functools import cache
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

# botocore's standard mode retries throttling and 5xx with backoff, 3 attempts in all;
# what still fails becomes a TransientStorageError and the message is redelivered.
_CONFIG = Config(
    retries={"mode": "standard", "max_attempts": 3},
    connect_timeout=3,
    read_timeout=10,
    tcp_keepalive=True,
)


# Every DynamoDB request is built by the stores, from ids validated before they reach a
# key, and DynamoDB validates it again: botocore's client-side walk of every attribute of
# every item (a tenth of a shard task's CPU, docs/PERFORMANCE.md) is skipped.
_DYNAMODB_CONFIG = _CONFIG.merge(Config(parameter_validation=False))


@cache
def dynamodb() -> "DynamoDBClient":
    client = boto3.client("dynamodb", config=_DYNAMODB_CONFIG)
    for operation in _READS:
        client.meta.events.register(f"before-parse.dynamodb.{operation}", parse_read_response)
    return client


# The reads whose responses carry items: most of a shard task's responses, by bytes.
_READS = ("Query", "GetItem", "BatchGetItem")


def parse_read_response(
    response_dict: dict[str, Any], customized_response_dict: dict[str, Any], **_: Any
) -> None:
    """Parse a successful DynamoDB read with `json.loads` instead of botocore's walk of
    the output shape, attribute by attribute (a quarter of a shard task's CPU). DynamoDB's
    JSON protocol sends the parsed form itself, binary values aside, which arrive in
    base64: those are decoded here as botocore would. botocore then parses an empty body
    and takes these values (`customized_response_dict` is its hook for this); errors are
    left to botocore."""
    body = response_dict.get("body")
    if response_dict.get("status_code") != 200 or not body:
        return
    customized_response_dict.update(_decode_binary(json.loads(body)))
    response_dict["body"] = b"{}"


def _decode_binary(value: Any) -> Any:
    """Every `{"B": "<base64>"}` and `{"BS": [...]}` attribute value, decoded to bytes."""
    if isinstance(value, dict):
        if len(value) == 1:
            ((kind, inner),) = value.items()
            if kind == "B" and isinstance(inner, str):
                return {"B": base64.b64decode(inner)}
            if kind == "BS" and isinstance(inner, list):
                return {"BS": [base64.b64decode(item) for item in inner]}
        return {key: _decode_binary(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_decode_binary(item) for item in value]
    return value


@cache
def sqs() -> "SQSClient":
    return boto3.client("sqs", config=_CONFIG)


@cache
def events() -> "EventBridgeClient":
    return boto3.client("events", config=_CONFIG)


@cache
def s3() -> "S3Client":
    return boto3.client("s3", config=_CONFIG)


def forget_clients() -> None:
    """Drop the cached clients (tests start each emulation with fresh ones)."""
    for factory in (dynamodb, sqs, events, s3):
        factory.cache_clear()
