"""The event publisher: 10 events a PutEvents request, several requests in flight when a
shard announces thousands of statements, and a failure never hides the other requests."""

import threading
import time
from typing import Any

import pytest

from bonus_engine.messaging import DeliveryError, EventPublisher


class SlowBus:
    """Stands in for EventBridge: each request takes a few milliseconds; it records the
    events it accepted and how many requests were in flight at once. Entries whose
    detail names a creator in `refuse` are failed every time they are sent."""

    def __init__(self, refuse: frozenset[str] = frozenset()) -> None:
        self.refuse = refuse
        self.accepted: list[str] = []
        self.requests = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self._lock = threading.Lock()

    def put_events(self, Entries: list[dict[str, str]]) -> dict[str, Any]:  # noqa: N803
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
        time.sleep(0.005)
        results = []
        with self._lock:
            self.in_flight -= 1
            for entry in Entries:
                if any(creator in entry["Detail"] for creator in self.refuse):
                    results.append({"ErrorCode": "InternalFailure"})
                else:
                    self.accepted.append(entry["Detail"])
                    results.append({"EventId": "x"})
        return {"Entries": results}


def details(count: int) -> list[dict[str, str]]:
    return [{"creator_id": f"creator-{n:03d}"} for n in range(count)]


def test_a_large_publish_keeps_several_requests_in_flight_and_puts_every_event_once() -> None:
    bus = SlowBus()
    publisher = EventPublisher(bus, "bus", in_flight=4)  # type: ignore[arg-type]

    publisher.publish("BonusStatementIssued", details(95))

    assert bus.requests == 10  # 10 events a request
    assert sorted(bus.accepted) == sorted(f'{{"creator_id": "creator-{n:03d}"}}' for n in range(95))
    assert publisher.published == 95
    assert 1 < bus.most_in_flight <= 4


def test_one_request_at_a_time_unless_asked() -> None:
    bus = SlowBus()
    publisher = EventPublisher(bus, "bus")  # type: ignore[arg-type]

    publisher.publish("BonusStatementIssued", details(45))

    assert bus.most_in_flight == 1
    assert publisher.published == 45


def test_entries_that_keep_failing_fail_the_publish_after_every_other_request_was_made() -> None:
    bus = SlowBus(refuse=frozenset({"creator-013"}))
    publisher = EventPublisher(bus, "bus", in_flight=4)  # type: ignore[arg-type]

    with pytest.raises(DeliveryError, match="1 BonusStatementIssued entries failed"):
        publisher.publish("BonusStatementIssued", details(60))

    # The other 59 went out (the caller's retry sends them again: at least once), and the
    # refused one was tried 3 times
    assert len(bus.accepted) == 59
    assert bus.requests == 6 + 2
    assert publisher.published == 50  # the five requests that succeeded whole
