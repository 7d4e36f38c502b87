"""Ingestion benchmark: N valid synthetic engagement events through the ingestion handler,
against the emulation (a moto server in a process of its own, provisioned from
template.yaml), once as envelopes of 100 events a message and once as one event a message.

    .venv/bin/python -m bench.ingest [--events N] [--shape envelopes|single|both] [--json]

The handler runs in this process, invoked as Lambda's SQS event source invokes it:
batches of the template's BatchSize records (100: the mapping's window is assumed to fill
them, as it does under load), each in the shape `SqsEventSource.record` builds. The
messages do not pass through the emulated SQS queue (moto's queue slows down with depth;
the queue is not what is measured). About 1% of the messages are delivered
twice (a producer's resend: a new message id, the same body, later in the stream), so
the dedupe path runs. docs/PERFORMANCE.md explains the figures.
"""

import argparse
import io
import json
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bench.common import (
    RULES_DIR,
    CallRecorder,
    Capacity,
    IndexSizing,
    MotoServer,
    UsageCount,
    load_summary,
    machine,
    prepare_process_environment,
    progress,
    render_table,
    template_indexes,
)
from bonus_engine import aws_clients, dependencies
from bonus_engine.periods import Period
from bonus_engine.timestamps import to_utc_text
from bonus_local.emulator import Emulation
from bonus_local.event_sources import SqsEventSource
from bonus_local.lambda_runtime import FunctionOutput, LocalFunction

FUNCTION_ID = "IngestEngagementFunction"
QUEUE_ID = "EngagementQueue"
ENVELOPE_SIZE = 100
CREATORS = 20_000
POSTS_PER_CREATOR = 4
DUPLICATE_RATE = 0.01
ITEMS_PER_EVENT = 1  # the event, keyed by its event_id (and its entry in the month index)
METRIC_WEIGHTS = {"view": 70, "like": 20, "comment": 7, "share": 3}


# --- the workload ----------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    shape: str
    bodies: list[str]  # in delivery order, resent messages included
    events: int  # distinct events
    delivered_events: int  # events in all delivered messages (resends included)
    resent_messages: int


def synthetic_events(rng: random.Random, count: int, now: datetime) -> list[dict[str, Any]]:
    """Valid events of the current month (none of a closed period: no change markers)."""
    period_start = Period.containing(now).start
    metrics = list(METRIC_WEIGHTS)
    weights = list(METRIC_WEIGHTS.values())
    events = []
    for _ in range(count):
        creator = rng.randrange(CREATORS)
        metric = rng.choices(metrics, weights)[0]
        if metric == "view":
            amount = rng.randint(1, 5000)
        elif rng.random() < 0.02:
            amount = -rng.randint(1, 3)  # a retraction: an unlike, a deleted comment
        else:
            amount = rng.randint(1, 40)
        occurred = max(period_start, now - timedelta(seconds=rng.uniform(60, 3 * 86400)))
        event: dict[str, Any] = {
            "event_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "creator_id": f"creator-{creator:06d}",
            "post_id": f"post-{creator:06d}-{rng.randrange(POSTS_PER_CREATOR)}",
            "format": rng.choice(("reel", "carousel", "standard")),
            "metric": metric,
            "count": amount,
            "occurred_at": to_utc_text(occurred),
        }
        if rng.random() < 0.1:
            event["quality"] = rng.choice(("self", "paid", "invalid"))
        events.append(event)
    return events


def workload(shape: str, events: int, seed: int, now: datetime) -> Workload:
    rng = random.Random(f"{seed}-{shape}")
    items = synthetic_events(rng, events, now)
    if shape == "envelopes":
        chunks = [items[start : start + ENVELOPE_SIZE] for start in range(0, events, ENVELOPE_SIZE)]
        bodies = [json.dumps({"events": chunk}) for chunk in chunks]
        sizes = [len(chunk) for chunk in chunks]
    else:
        bodies = [json.dumps(item) for item in items]
        sizes = [1] * len(items)
    # A resend goes somewhere after the original, at random.
    resent = rng.sample(range(len(bodies)), k=max(1, round(len(bodies) * DUPLICATE_RATE)))
    order = [(float(i), i) for i in range(len(bodies))]
    order += [(rng.uniform(i + 0.5, len(bodies)), i) for i in resent]
    order.sort()
    return Workload(
        shape=shape,
        bodies=[bodies[i] for _, i in order],
        events=events,
        delivered_events=events + sum(sizes[i] for i in resent),
        resent_messages=len(resent),
    )


# --- running it --------------------------------------------------------------------------


@dataclass
class ShapeResult:
    shape: str
    messages: int
    events: int
    delivered_events: int
    resent_messages: int
    accepted: int  # as the handler reported it (its EMF metrics)
    duplicates: int
    invocations: int
    item_failures: int
    wall: float  # seconds inside the handler calls
    cpu: float  # this process's CPU seconds inside the handler calls
    moto_cpu: float
    total_wall: float
    engagement: UsageCount
    rejections: UsageCount
    sized: dict[str, Capacity]

    @property
    def usage(self) -> UsageCount:
        return self.engagement + self.rejections

    @property
    def sized_total(self) -> Capacity:
        total = Capacity()
        for capacity in self.sized.values():
            total.add(capacity)
        return total


def run_shape(
    work: Workload,
    function: LocalFunction,
    source: SqsEventSource,
    batch_size: int,
    output: io.StringIO,
    server: MotoServer,
    indexes: Mapping[str, list[IndexSizing]],
) -> ShapeResult:
    # Fresh stores (fresh usage counters), created as the handler would create them
    # (from the function's environment, which is this process's) with the recorder on
    # their client; the handler's first call finds them cached.
    dependencies.forget()
    recorder = CallRecorder(indexes)
    recorder.attach(aws_clients.dynamodb())
    stores = dependencies.for_ingestion()

    started = time.perf_counter()
    moto_before = server.cpu_seconds()
    wall = cpu = 0.0
    failures = invocations = 0
    sent_ms = int(datetime.now(UTC).timestamp() * 1000)
    report_every = max(1, len(work.bodies) // batch_size // 10)
    for number, start in enumerate(range(0, len(work.bodies), batch_size), 1):
        records = [
            source.record(_message(body, sent_ms, index))
            for index, body in enumerate(work.bodies[start : start + batch_size], start)
        ]
        event = {"Records": records}
        wall_start, cpu_start = time.perf_counter(), time.process_time()
        result = function.invoke(event)
        cpu += time.process_time() - cpu_start
        wall += time.perf_counter() - wall_start
        invocations += 1
        failures += len((result or {}).get("batchItemFailures", []))
        if number % report_every == 0:
            progress(
                f"{work.shape}: {start + len(records):,}/{len(work.bodies):,} messages, "
                f"{(start + len(records)) / (time.perf_counter() - started):,.0f} msg/s"
            )
    moto_cpu = server.cpu_seconds() - moto_before
    total_wall = time.perf_counter() - started
    sized = recorder.drain()
    reported = handler_metrics(output)
    return ShapeResult(
        shape=work.shape,
        messages=len(work.bodies),
        events=work.events,
        delivered_events=work.delivered_events,
        resent_messages=work.resent_messages,
        accepted=reported["EventsAccepted"],
        duplicates=reported["EventsDuplicate"],
        invocations=invocations,
        item_failures=failures,
        wall=wall,
        cpu=cpu,
        moto_cpu=moto_cpu,
        total_wall=total_wall,
        engagement=UsageCount.of(stores.engagement.table.usage),
        rejections=UsageCount.of(stores.rejections.table.usage),
        sized=sized,
    )


def _message(body: str, sent_ms: int, index: int) -> dict[str, Any]:
    """A message as ReceiveMessage returns it (what SqsEventSource.record reads)."""
    return {
        "MessageId": str(uuid.uuid4()),
        "ReceiptHandle": f"AQEB{index:012d}",
        "Body": body,
        "Attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(sent_ms),
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": str(sent_ms),
        },
    }


def handler_metrics(output: io.StringIO) -> Counter[str]:
    """The handler's own counts, summed from the CloudWatch EMF lines it printed."""
    counts: Counter[str] = Counter()
    for line in output.getvalue().splitlines():
        if '"_aws"' not in line:
            continue
        document = json.loads(line)
        for name in ("EventsAccepted", "EventsDuplicate"):
            value = document.get(name, 0)
            counts[name] += int(sum(value) if isinstance(value, list) else value)
    output.seek(0)
    output.truncate()
    return counts


# --- the report ----------------------------------------------------------------------


def report(results: Sequence[ShapeResult], batch_size: int) -> str:
    throughput = render_table(
        [
            "shape",
            "messages",
            "events delivered",
            "resent msgs",
            "accepted",
            "duplicates",
            "invocations",
            "handler wall s",
            "events/s (wall)",
            "handler CPU us/event",
            "moto CPU us/event",
        ],
        [
            [
                r.shape,
                r.messages,
                r.delivered_events,
                r.resent_messages,
                r.accepted,
                r.duplicates,
                r.invocations,
                r.wall,
                r.delivered_events / r.wall,
                r.cpu / r.delivered_events * 1e6,
                r.moto_cpu / r.delivered_events * 1e6,
            ]
            for r in results
        ],
    )
    cost = render_table(
        [
            "shape",
            "DDB requests/event",
            "DDB write requests/event",
            "BatchGetItem",
            "BatchWriteItem",
            "items written/accepted",
            "WCU/event (sizing rules)",
            "WCU/accepted (sizing rules)",
            "WCU/accepted (moto)",
            "RCU/event (sizing rules)",
            "avg item bytes",
        ],
        [
            [
                r.shape,
                r.usage.total_requests / r.delivered_events,
                r.usage.write_requests / r.delivered_events,
                r.usage.requests.get("BatchGetItem", 0),
                r.usage.requests.get("BatchWriteItem", 0),
                r.sized_total.items_written / r.accepted,
                float(r.sized_total.write_units) / r.delivered_events,
                float(r.sized_total.write_units) / r.accepted,
                float(r.usage.write_units) / r.accepted,
                float(r.sized_total.read_units) / r.delivered_events,
                r.sized_total.bytes_written / max(1, r.sized_total.items_written),
            ]
            for r in results
        ],
    )
    notes = []
    for r in results:
        if r.item_failures:
            notes.append(f"WARNING: {r.shape}: {r.item_failures} batch item failures")
        if r.accepted != r.events or r.accepted + r.duplicates != r.delivered_events:
            notes.append(
                f"WARNING: {r.shape}: {r.accepted} accepted and {r.duplicates} duplicates "
                f"of {r.events} distinct events"
            )
        if r.sized_total.items_written != ITEMS_PER_EVENT * r.accepted:
            notes.append(f"WARNING: {r.shape}: {r.sized_total.items_written} items written")
        rejected = r.rejections.total_requests
        if rejected:
            notes.append(f"WARNING: {r.shape}: {rejected} requests to the rejections table")
    targets = [
        f"targets: <= 0.05 write requests per event (both shapes); BatchSize {batch_size} "
        f"records an invocation; {ITEMS_PER_EVENT} item written per accepted event (the "
        "event, keyed by its event_id; the month index writes its entry, 1 more unit)."
    ]
    return "\n\n".join([throughput, cost, *notes, *targets])


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.ingest", description=__doc__)
    parser.add_argument("--events", type=int, default=100_000, help="events per shape")
    parser.add_argument(
        "--shape", choices=("envelopes", "single", "both"), default="both", help="message shape"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--json", action="store_true", help="end with one JSON line of the figures by shape"
    )
    args = parser.parse_args(argv)
    shapes = ["envelopes", "single"] if args.shape == "both" else [args.shape]

    prepare_process_environment()
    now = datetime.now(UTC)
    works = []
    for shape in shapes:
        progress(f"generating {args.events:,} events as {shape}")
        works.append(workload(shape, args.events, args.seed, now))

    results = []
    with MotoServer() as server:
        emulation = Emulation(endpoint=server.url)
        emulation.start()  # provisions every table and queue of template.yaml
        spec = emulation.template.function(FUNCTION_ID)
        environment = emulation.environment(FUNCTION_ID, RULES_DIR)
        os.environ.update(environment)  # the handler's stores read it; so do ours
        output = io.StringIO()  # the handler's logs and metrics
        function = LocalFunction(spec, environment, FunctionOutput(output))
        (sqs_event,) = [event for event in spec.events if event.type == "SQS"]
        batch_size = int(sqs_event.properties["BatchSize"])
        source = SqsEventSource(
            function=function,
            sqs=emulation.sqs,
            queue_url=emulation.queue_url(QUEUE_ID),
            batch_size=batch_size,
            reports_item_failures=True,
        )
        _ = function.handler  # the cold start (module import) is not measured
        for work in works:
            progress(f"{work.shape}: {len(work.bodies):,} messages, batches of {batch_size}")
            indexes = template_indexes(emulation.template.tables)
            results.append(run_shape(work, function, source, batch_size, output, server, indexes))
            r = results[-1]
            progress(
                f"{work.shape}: done in {r.total_wall:,.1f} s; moto server "
                f"{server.memory_mb():,.0f} MB"
            )

    print(f"bench.ingest: {args.events:,} events per shape; {machine()}")
    print(load_summary())
    print()
    print(report(results, batch_size))
    for r in results:
        print(
            f"{r.shape}: engagement {dict(r.engagement.requests)}, moto units "
            f"r={r.engagement.read_units} w={r.engagement.write_units}; "
            f"sized (engagement) w={_units(r.sized, 'write')} r={_units(r.sized, 'read')}; "
            f"total {r.total_wall:,.1f} s"
        )
    if args.json:
        print(json.dumps({r.shape: headline(r) for r in results}))
    return 0


def headline(r: ShapeResult) -> dict[str, float]:
    return {
        "events": r.delivered_events,
        "write_requests_per_event": round(r.usage.write_requests / r.delivered_events, 4),
        "write_units_per_event": round(float(r.sized_total.write_units) / r.delivered_events, 4),
        "write_units_per_accepted": round(float(r.sized_total.write_units) / r.accepted, 4),
        "cpu_us_per_event": round(r.cpu / r.delivered_events * 1e6),
    }


def _units(sized: dict[str, Capacity], kind: str) -> Decimal:
    return sum(
        (c.write_units if kind == "write" else c.read_units for c in sized.values()), Decimal(0)
    )


if __name__ == "__main__":
    raise SystemExit(main())
