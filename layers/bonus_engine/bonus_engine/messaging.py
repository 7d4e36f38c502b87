"""What the functions send: events on the project's bus and shard tasks on the queue.

Events never carry an individual amount (SPEC section 5); see `bonus_run` for their
details.
"""

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from bonus_engine.storage.dynamo import TransientStorageError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

EVENT_SOURCE = "creator-bonus"
PUT_EVENTS_LIMIT = 10
SEND_BATCH_LIMIT = 10
ATTEMPTS = 3


class DeliveryError(TransientStorageError):
    """Events or messages that could not be sent: retry the unit of work later."""


class EventPublisher:
    def __init__(self, client: "EventBridgeClient", bus_name: str) -> None:
        self.client = client
        self.bus_name = bus_name
        self.published = 0

    def publish(self, detail_type: str, details: Sequence[Mapping[str, Any]]) -> None:
        """Put the events (10 a request), retrying the entries that failed."""
        entries = [
            {
                "Source": EVENT_SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, sort_keys=True),
                "EventBusName": self.bus_name,
            }
            for detail in details
        ]
        for start in range(0, len(entries), PUT_EVENTS_LIMIT):
            pending = entries[start : start + PUT_EVENTS_LIMIT]
            for _ in range(ATTEMPTS):
                try:
                    response = self.client.put_events(Entries=pending)  # type: ignore[arg-type]
                except (ClientError, ConnectionError, HTTPClientError) as error:
                    raise DeliveryError(f"PutEvents: {error}") from error
                results = response.get("Entries", [])
                failed = [
                    entry
                    for entry, result in zip(pending, results, strict=True)
                    if result.get("ErrorCode")
                ]
                self.published += len(pending) - len(failed)
                pending = failed
                if not pending:
                    break
            else:
                raise DeliveryError(f"PutEvents: {len(pending)} {detail_type} entries failed")


class TaskQueue:
    def __init__(self, client: "SQSClient", queue_url: str) -> None:
        self.client = client
        self.queue_url = queue_url

    def send(self, bodies: Sequence[str]) -> None:
        """Send the message bodies (10 a request), retrying the ones that failed."""
        for start in range(0, len(bodies), SEND_BATCH_LIMIT):
            pending = {
                str(i): body for i, body in enumerate(bodies[start : start + SEND_BATCH_LIMIT])
            }
            for _ in range(ATTEMPTS):
                try:
                    response = self.client.send_message_batch(
                        QueueUrl=self.queue_url,
                        Entries=[{"Id": key, "MessageBody": body} for key, body in pending.items()],
                    )
                except (ClientError, ConnectionError, HTTPClientError) as error:
                    raise DeliveryError(f"SendMessageBatch: {error}") from error
                pending = {f["Id"]: pending[f["Id"]] for f in response.get("Failed", [])}
                if not pending:
                    break
            else:
                raise DeliveryError(f"SendMessageBatch: {len(pending)} messages failed")
