"""What the integration tests share: Lambda's SQS record shape, reading back what was
stored, and DynamoDB faults injected where the functions make their calls."""

import hashlib
import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from bonus_engine import aws_clients
from bonus_engine.periods import Period
from bonus_engine.storage.engagement_store import EngagementStore
from bonus_engine.storage.keys import CREATOR_BUCKETS, Shard
from bonus_local.emulator import Emulation

ENGAGEMENT_QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:creator-bonus-EngagementQueue"


def sqs_record(body: str, message_id: str | None = None, receive_count: int = 1) -> dict[str, Any]:
    """A record as Lambda's SQS event source passes it."""
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "receipt",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1775001600000",
            "SenderId": "123456789012",
            "ApproximateFirstReceiveTimestamp": "1775001600001",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 - SQS's checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": ENGAGEMENT_QUEUE_ARN,
        "awsRegion": "us-east-1",
    }


def failed_ids(response: dict[str, Any]) -> set[str]:
    return {failure["itemIdentifier"] for failure in response["batchItemFailures"]}


def stored_counts(store: EngagementStore, period: Period) -> dict[tuple[str, str, str], int]:
    """(creator, post, metric) -> net count, over every stored event of the period."""
    counts: dict[tuple[str, str, str], int] = {}
    for bucket in range(CREATOR_BUCKETS):
        for creator, tally in store.shard_engagement(
            period, Shard.whole(bucket), None
        ).tallies.items():
            for (post, _format, metric, _quality), count in tally.items():
                key = (creator, post, metric)
                counts[key] = counts.get(key, 0) + count
    return counts


class DynamoFaults:
    """Makes chosen calls of the functions' DynamoDB client fail as DynamoDB does when it
    throttles (after botocore's own retries are spent)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.client = aws_clients.dynamodb()
        self.monkeypatch = monkeypatch
        self.calls: dict[str, int] = {}

    def throttle(
        self,
        operation: str,
        when: Callable[[int, dict[str, Any]], bool],
        times: int | None = None,
    ) -> None:
        """Throttle the calls `when(call number, arguments)` selects (at most `times`)."""
        real = getattr(self.client, operation)
        thrown = []

        def faulty(**kwargs: Any) -> Any:
            self.calls[operation] = self.calls.get(operation, 0) + 1
            if when(self.calls[operation], kwargs) and (times is None or len(thrown) < times):
                thrown.append(self.calls[operation])
                raise ClientError(
                    {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                    operation,
                )
            return real(**kwargs)

        self.monkeypatch.setattr(self.client, operation, faulty)


def body(*events: dict[str, Any]) -> str:
    return json.dumps(events[0] if len(events) == 1 else {"events": list(events)})


class BusCapture:
    """A consumer of the project's bus: a rule for `source` = creator-bonus that delivers
    to a queue of its own, read back as the events' details by detail-type."""

    def __init__(self, emulation: Emulation, detail_types: list[str]) -> None:
        self.sqs = emulation.sqs
        events = emulation.events
        self.queue_url = self.sqs.create_queue(QueueName="test-bus-capture")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        events.put_rule(
            Name="test-capture",
            EventBusName=emulation.bus_name,
            EventPattern=json.dumps({"source": ["creator-bonus"], "detail-type": detail_types}),
        )
        events.put_targets(
            Rule="test-capture",
            EventBusName=emulation.bus_name,
            Targets=[{"Id": "capture", "Arn": arn["Attributes"]["QueueArn"]}],
        )
        self.seen: list[dict[str, Any]] = []

    def events(self, detail_type: str | None = None) -> list[dict[str, Any]]:
        """Every event delivered so far (oldest first), optionally of one detail-type."""
        while True:
            messages = self.sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                self.seen.append(json.loads(message["Body"]))
                self.sqs.delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )
        return [e for e in self.seen if detail_type in (None, e["detail-type"])]

    def details(self, detail_type: str) -> list[dict[str, Any]]:
        return [event["detail"] for event in self.events(detail_type)]


def create_keyed_table(client: Any, name: str, index_on_kind: bool = False) -> None:
    """A table keyed like the engine's (pk, sk); with `index_on_kind`, a keys-only
    index `by-kind` on (kind, sk)."""
    attributes = [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ]
    extra: dict[str, Any] = {}
    if index_on_kind:
        attributes.append({"AttributeName": "kind", "AttributeType": "S"})
        extra["GlobalSecondaryIndexes"] = [
            {
                "IndexName": "by-kind",
                "KeySchema": [
                    {"AttributeName": "kind", "KeyType": "HASH"},
                    {"AttributeName": "sk", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ]
    client.create_table(
        TableName=name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=attributes,
        BillingMode="PAY_PER_REQUEST",
        **extra,
    )
