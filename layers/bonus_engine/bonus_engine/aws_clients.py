"""AWS clients, created on first use and kept for the life of the container.

Nothing is created at import time: cold starts stay short and moto can patch the clients
in tests. `AWS_ENDPOINT_URL` (honoured by boto3) points them at the local emulation.
"""

from functools import cache
from typing import TYPE_CHECKING

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
    return boto3.client("dynamodb", config=_DYNAMODB_CONFIG)


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
