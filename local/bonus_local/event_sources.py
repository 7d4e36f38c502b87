"""How the emulation delivers to functions what AWS would: Lambda's SQS event source
mapping, and EventBridge's asynchronous invocation through a rule."""

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bonus_local.lambda_runtime import LocalFunction
from bonus_local.template import ACCOUNT_ID, REGION

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient


@dataclass
class DeliveryStats:
    batches: int = 0
    delivered: int = 0
    failed: int = 0  # messages reported as failures (they come back)
    dead_lettered: int = 0


@dataclass
class SqsEventSource:
    """Lambda's SQS event source mapping: receive up to BatchSize messages, pass them in
    Lambda's record shape (with ApproximateReceiveCount and the other attributes), delete
    those that succeeded, and let the failures come back; the queue's redrive policy
    moves a message that keeps failing to its dead-letter queue.

    One difference, for speed: a failed message is made visible again at once instead of
    after the visibility timeout."""

    function: LocalFunction
    sqs: "SQSClient"
    queue_url: str
    batch_size: int
    reports_item_failures: bool
    stats: DeliveryStats = field(default_factory=DeliveryStats)

    @property
    def queue_arn(self) -> str:
        return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{self.queue_url.rsplit('/', 1)[-1]}"

    def poll_once(self) -> int:
        """Deliver one batch of up to BatchSize messages (gathered by receives of 10, as
        the batching window would); returns how many it held (0: the queue is empty)."""
        messages: list[dict[str, Any]] = []
        while len(messages) < self.batch_size:
            response = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(self.batch_size - len(messages), 10),
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=0,
            )
            received = response.get("Messages", [])
            if not received:
                break
            messages += [dict(message) for message in received]
        if not messages:
            return 0
        records = [self.record(message) for message in messages]
        self.stats.batches += 1
        try:
            result = self.function.invoke({"Records": records})
            failed_ids = self._failed_ids(result, records)
        except Exception:
            failed_ids = {record["messageId"] for record in records}
        by_id = {message["MessageId"]: message for message in messages}
        succeeded = [m for m in messages if m["MessageId"] not in failed_ids]
        for start in range(0, len(succeeded), 10):
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]}
                    for i, m in enumerate(succeeded[start : start + 10])
                ],
            )
        for message_id in failed_ids:
            self.sqs.change_message_visibility(
                QueueUrl=self.queue_url,
                ReceiptHandle=by_id[message_id]["ReceiptHandle"],
                VisibilityTimeout=0,
            )
        self.stats.delivered += len(succeeded)
        self.stats.failed += len(failed_ids)
        return len(messages)

    def _failed_ids(self, result: Any, records: list[dict[str, Any]]) -> set[str]:
        if not self.reports_item_failures:
            return set()
        failures = (result or {}).get("batchItemFailures", [])
        return {failure["itemIdentifier"] for failure in failures}

    def record(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """The record Lambda passes for an SQS message."""
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody")
            or hashlib.md5(  # noqa: S324 - SQS's own checksum
                message["Body"].encode()
            ).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": REGION,
        }

    def drain(self) -> int:
        delivered = 0
        while (count := self.poll_once()) > 0:
            delivered += count
        return delivered


@dataclass
class RuleTarget:
    """An EventBridge rule's Lambda target: the rule's matches (gathered in a stand-in
    queue) invoke the function asynchronously; an invocation that fails is retried
    (EventInvokeConfig's MaximumRetryAttempts) and then sent to its on-failure
    destination, with the request and the error, as Lambda does."""

    function: LocalFunction
    sqs: "SQSClient"
    queue_url: str  # the stand-in queue the rule delivers to
    retry_attempts: int
    on_failure_url: str | None
    stats: DeliveryStats = field(default_factory=DeliveryStats)

    def poll_once(self) -> int:
        """Invoke the function once for each event of a receive (up to 10), then delete
        them together (an invocation never raises here: its failure is retried, then
        sent to the destination, as Lambda does)."""
        response = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0
        )
        messages = response.get("Messages", [])
        for message in messages:
            self._invoke(with_account(json.loads(message["Body"])))
        if messages:
            self.sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": message["ReceiptHandle"]}
                    for i, message in enumerate(messages)
                ],
            )
        return len(messages)

    def _invoke(self, event: dict[str, Any]) -> None:
        error: Exception | None = None
        for _ in range(1 + self.retry_attempts):
            try:
                self.function.invoke(event)
            except Exception as failure:
                error = failure
                self.stats.failed += 1
                continue
            self.stats.delivered += 1
            return
        self.stats.dead_lettered += 1
        if self.on_failure_url:
            self.sqs.send_message(
                QueueUrl=self.on_failure_url,
                MessageBody=json.dumps(
                    {
                        "version": "1.0",
                        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                        "requestContext": {
                            "functionArn": self.function.spec.logical_id,
                            "condition": "RetriesExhausted",
                            "approximateInvokeCount": 1 + self.retry_attempts,
                        },
                        "requestPayload": event,
                        "responseContext": {"functionError": "Unhandled"},
                        "responsePayload": {
                            "errorType": type(error).__name__,
                            "errorMessage": str(error),
                        },
                    }
                ),
            )

    def drain(self) -> int:
        delivered = 0
        while (count := self.poll_once()) > 0:
            delivered += count
        return delivered


def with_account(event: dict[str, Any]) -> dict[str, Any]:
    """moto's EventBridge leaves `account` out of the events it delivers; AWS never does."""
    event.setdefault("account", ACCOUNT_ID)
    return event
