"""What the functions send: events on the project's bus and shard tasks on the queue.

Events never carry an individual amount (SPEC section 5); see `bonus_run` for their
details.
"""

import json
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from bonus_engine.storage.dynamo import TransientStorageError

if TYPE_CHECKING:
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_sqs import SQSClient

EVENT_SOURCE = "creator-bonus"
PUT_EVENTS_LIMIT = 10
ANNOUNCE_IN_FLIGHT = 8  # PutEvents requests a shard's announcements keep in flight
SEND_BATCH_LIMIT = 10
ATTEMPTS = 3


class DeliveryError(TransientStorageError):
    """Events or messages that could not be sent: retry the unit of work later."""


class EventPublisher:
    """Puts events on the bus, 10 a request. With `in_flight` above 1, a publish of more
    than 10 events keeps up to that many requests in flight at once (threads waiting on
    the network: the latency of each request overlaps the others'), so that announcing a
    shard's thousands of statements costs a fraction of their requests' round trips.
    boto3 clients are thread-safe; the order of the events was never promised."""

    def __init__(self, client: "EventBridgeClient", bus_name: str, in_flight: int = 1) -> None:
        self.client = client
        self.bus_name = bus_name
        self.in_flight = in_flight
        self.published = 0

    def publish(self, detail_type: str, details: Sequence[Mapping[str, Any]]) -> None:
        """Put the events (10 a request), retrying the entries that failed; every request
        is made even when one fails, then the first failure is raised."""
        entries = [
            {
                "Source": EVENT_SOURCE,
                "DetailType": detail_type,
                "Detail": json.dumps(detail, sort_keys=True),
                "EventBusName": self.bus_name,
            }
            for detail in details
        ]
        chunks = [
            entries[start : start + PUT_EVENTS_LIMIT]
            for start in range(0, len(entries), PUT_EVENTS_LIMIT)
        ]
        if self.in_flight <= 1 or len(chunks) <= 1:
            for chunk in chunks:
                self.published += self._put(detail_type, chunk)
            return
        with ThreadPoolExecutor(max_workers=min(self.in_flight, len(chunks))) as pool:
            futures = [pool.submit(self._put, detail_type, chunk) for chunk in chunks]
        failures = [error for future in futures if (error := future.exception()) is not None]
        self.published += sum(future.result() for future in futures if not future.exception())
        if failures:
            raise failures[0]

    def _put(self, detail_type: str, chunk: list[dict[str, str]]) -> int:
        """One request's entries, with up to ATTEMPTS tries of those that failed; the
        number put."""
        pending, put = chunk, 0
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
            put += len(pending) - len(failed)
            pending = failed
            if not pending:
                return put
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
