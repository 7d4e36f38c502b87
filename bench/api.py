"""Creator API benchmark: what one call of each route of SPEC section 7 costs, in
DynamoDB requests, other AWS requests and the handler's CPU, for a creator with many
posts on an emulation holding a few hundred creators.

    .venv/bin/python -m bench.api [--posts 300] [--calls 50] [--creators 300] [--json]

A fresh emulation (a moto server in a process of its own, provisioned from
template.yaml) is loaded through the pipeline as AWS would deliver it: facts through the
bus to the eligibility function, engagement through the queue to the ingestion function
(one creator with `--posts` posts in the open month and in the month before it, the
other creators with a few each, and some hundreds of events that are rejected), then the
closed month computed (`ComputeBonusesRequested`, coordinator and shard workers) and a
provisional settlement of the open month stored, so that the creator (in a pool market)
has a pool estimate. Loading is not measured.

Then each route is invoked in this process as `bonus api` invokes it (CreatorApiFunction
as template.yaml names it, its environment, the payload format 2.0 event with the
token's claims): one call first, not measured (the warm container), then `--calls`
measured calls. Per call: the AWS requests the function's clients make (counted from the
outside with botocore's `before-call` hook on the default session its clients come from),
the process's CPU time around the invocation (the moto server's is its own) and the wall
time. The compute request is a dry run of the closed month; what it puts on the bus is
not delivered (no run is started). `--json` ends the output with one JSON line: for each
route, its requests, CPU median and p95 and CPU over the statement route's.
docs/PERFORMANCE.md explains the figures.
"""

import argparse
import json
import math
import random
import statistics
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from bench.common import (
    RULES_DIR,
    MotoServer,
    load_summary,
    machine,
    prepare_process_environment,
    progress,
    render_table,
)
from bonus_engine import dependencies
from bonus_engine.computation import SettlementRecord
from bonus_engine.periods import Period
from bonus_engine.storage.dynamo import Table
from bonus_engine.storage.engagement_store import EngagementStore
from bonus_engine.storage.results_store import ProvisionalSettlement
from bonus_local.api_server import (
    API_FUNCTION,
    TokenSettings,
    api_routes,
    http_api_event,
    issue_token,
    match_route,
    verify_token,
)
from bonus_local.emulator import Emulation
from bonus_local.lambda_runtime import FunctionOutput, LocalFunction
from bonus_local.pipeline import LocalPipeline

PROGRAM_ID = "spring-bonus"
CREATOR = "creator-main"
CREATOR_MARKET = "KR"  # a pool market: the open month's estimate reads the provisional run
OTHER_MARKETS = {"US": 40, "JP": 30, "KR": 25, "FR": 5}  # FR: not a market of the program
EVENTS_PER_MESSAGE = 100  # an envelope of events a message
REJECTED_SHARE = 0.25  # rejected events, per event of the other creators (a few hundred)

# The issue's aims
MAX_DYNAMODB_REQUESTS = 3
MAX_CPU_OVER_STATEMENT = 5.0
REFERENCE_ROUTE = "statement"


# --- the data ------------------------------------------------------------------------------


def _utc(instant: datetime) -> str:
    return instant.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Inputs:
    facts: list[dict[str, Any]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    rejected: int = 0  # events that the ingestion function rejects


def _fact(detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {"source": "creators", "detail-type": detail_type, "detail": detail}


def _profile(creator: str, market: str, since: datetime, rng: random.Random) -> dict[str, Any]:
    return _fact(
        "CreatorProfileChanged",
        {
            "creator_id": creator,
            "occurred_at": _utc(since - timedelta(days=rng.uniform(30, 200))),
            "account_type": "professional" if rng.random() < 0.95 else "personal",
            "country": market,
            "adult": rng.random() < 0.98,
            "followers": rng.randint(100, 2_000_000),
        },
    )


def _invitation(creator: str, since: datetime, rng: random.Random) -> dict[str, Any]:
    return _fact(
        "CreatorInvited",
        {
            "creator_id": creator,
            "occurred_at": _utc(since - timedelta(days=rng.uniform(1, 25))),
            "program_id": PROGRAM_ID,
        },
    )


def _post_events(
    creator: str,
    post: str,
    start: datetime,
    end: datetime,
    rng: random.Random,
) -> list[dict[str, Any]]:
    """A post's events between `start` and `end`: views and likes, often comments,
    sometimes shares; now and then paid views."""
    format_ = rng.choice(("reel", "carousel", "standard"))
    metrics = [("view", 60_000), ("like", 3_000)]
    if rng.random() < 0.6:
        metrics.append(("comment", 300))
    if rng.random() < 0.3:
        metrics.append(("share", 100))
    span = (end - start).total_seconds()
    events = []
    for metric, top in metrics:
        event: dict[str, Any] = {
            "event_id": f"{post}-{metric}-{rng.getrandbits(48):012x}",
            "creator_id": creator,
            "post_id": post,
            "format": format_,
            "metric": metric,
            "count": rng.randint(1, top),
            "occurred_at": _utc(start + timedelta(seconds=rng.uniform(0, span))),
        }
        if metric == "view" and rng.random() < 0.05:
            event["quality"] = "paid"
        events.append(event)
    return events


def inputs(
    posts: int, creators: int, months: Sequence[tuple[str, datetime, datetime]], seed: int
) -> Inputs:
    """The creator's `posts` posts in each month, and `creators` others with 1 to 3
    posts a month; a quarter as many rejected events as the others' events (unknown
    metrics, counts as text, no post), in the same months."""
    rng = random.Random(seed)
    first_start = min(start for _, start, _ in months)
    data = Inputs()
    data.facts += [
        _profile(CREATOR, CREATOR_MARKET, first_start, rng),
        _invitation(CREATOR, first_start, rng),
    ]
    data.facts[0]["detail"].update(account_type="professional", adult=True, followers=250_000)
    for name, start, end in months:
        for number in range(posts):
            post = f"main-{name}-{number:04d}"
            data.events += _post_events(CREATOR, post, start, end, rng)
    others = []
    for index in range(creators):
        creator = f"creator-{index:05d}"
        market = rng.choices(list(OTHER_MARKETS), list(OTHER_MARKETS.values()))[0]
        data.facts.append(_profile(creator, market, first_start, rng))
        if rng.random() < 0.9:
            data.facts.append(_invitation(creator, first_start, rng))
        if rng.random() < 0.02:
            strike = {
                "creator_id": creator,
                "occurred_at": _utc(first_start - timedelta(days=3)),
                "strike_id": f"strike-{index}",
            }
            data.facts.append(_fact("PolicyStrikeIssued", strike))
        for name, start, end in months:
            for number in range(rng.randint(1, 3)):
                others += _post_events(
                    creator, f"post-{index:05d}-{name}-{number}", start, end, rng
                )
    data.events += others
    for number in range(int(len(others) * REJECTED_SHARE)):
        bad = dict(rng.choice(others))
        bad["event_id"] = f"bad-{number:05d}"
        flaw = number % 3
        if flaw == 0:
            bad["metric"] = "save"  # not a metric
        elif flaw == 1:
            bad["count"] = str(bad["count"])  # a number as text
        else:
            del bad["post_id"]
        data.events.append(bad)
        data.rejected += 1
    rng.shuffle(data.events)
    return data


def envelopes(events: Sequence[dict[str, Any]]) -> list[str]:
    return [
        json.dumps({"events": list(events[start : start + EVENTS_PER_MESSAGE])})
        for start in range(0, len(events), EVENTS_PER_MESSAGE)
    ]


# --- counting and measuring ------------------------------------------------------------------


class RequestCounter:
    """Counts every AWS request of the clients made from the session it is registered
    on (botocore's `before-call` hook: once per API call, retries not counted again)."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str]] = Counter()

    def __call__(self, model: Any, **_: Any) -> None:
        self.requests[(model.service_model.service_name, model.name)] += 1

    def take(self) -> Counter[tuple[str, str]]:
        taken, self.requests = self.requests, Counter()
        return taken


@dataclass(frozen=True)
class Call:
    name: str  # as in the JSON line
    title: str  # as in the table
    method: str
    path: str
    claims: dict[str, str]
    body: str | None = None


@dataclass
class RouteResult:
    call: Call
    route_key: str
    statuses: Counter[int] = field(default_factory=Counter)
    dynamodb: list[int] = field(default_factory=list)
    other: list[int] = field(default_factory=list)
    operations: Counter[str] = field(default_factory=Counter)
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    response_bytes: int = 0

    @property
    def answered(self) -> bool:
        return all(200 <= status < 300 for status in self.statuses)

    @property
    def dynamodb_requests(self) -> int:
        return max(self.dynamodb)

    @property
    def other_requests(self) -> int:
        return max(self.other)

    @property
    def cpu_ms_median(self) -> float:
        return statistics.median(self.cpu) * 1000

    @property
    def cpu_ms_p95(self) -> float:
        return percentile(self.cpu, 0.95) * 1000

    @property
    def wall_ms_median(self) -> float:
        return statistics.median(self.wall) * 1000

    @property
    def wall_ms_p95(self) -> float:
        return percentile(self.wall, 0.95) * 1000


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def route_calls(
    open_month: str, closed_month: str, creator: dict[str, str], operator: dict[str, str]
) -> list[Call]:
    mine = f"/creators/{CREATOR}/programs/{PROGRAM_ID}"
    program = f"/programs/{PROGRAM_ID}"
    return [
        Call("criteria", "criteria", "GET", f"{program}/criteria", creator),
        Call("eligibility", "eligibility", "GET", f"{mine}/eligibility", creator),
        Call(
            "progress_open",
            f"progress {open_month} (open)",
            "GET",
            f"{mine}/periods/{open_month}/progress",
            creator,
        ),
        Call(
            "progress_closed",
            f"progress {closed_month} (closed)",
            "GET",
            f"{mine}/periods/{closed_month}/progress",
            creator,
        ),
        Call("statement", "statement", "GET", f"{mine}/periods/{closed_month}/statement", creator),
        Call("summary", "summary", "GET", f"{program}/periods/{closed_month}/summary", operator),
        Call(
            "rejections",
            "rejections (a page of 50)",
            "GET",
            f"{program}/periods/{closed_month}/rejections",
            operator,
        ),
        Call(
            "compute_dry_run",
            "POST compute, dry run",
            "POST",
            f"{program}/periods/{closed_month}/compute",
            operator,
            body='{"dry_run": true}',
        ),
    ]


# --- the run -------------------------------------------------------------------------------


@dataclass
class Benchmark:
    results: list[RouteResult]
    load_seconds: float
    facts: int
    events: int
    rejected: int
    stored_rejections: int
    creator_events: dict[str, int]
    creators_computed: int
    runner_cpu_us: float  # the in-process runner's own CPU a call (no handler)


def run(posts: int, calls: int, creators: int, seed: int) -> Benchmark:
    # Every client made from here on (the functions' included) comes from this session:
    # the counter sees each request. Benchmark only: production code has no such hook.
    boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    assert session is not None
    counter = RequestCounter()
    session.events.register("before-call", counter)
    dependencies.forget()

    now = datetime.now(UTC)
    open_period = Period.containing(now)
    closed_period = open_period.previous()
    months = [
        (closed_period.name, closed_period.start, closed_period.end - timedelta(seconds=1)),
        (open_period.name, open_period.start, max(open_period.start, now - timedelta(minutes=5))),
    ]
    data = inputs(posts, creators, months, seed)

    with MotoServer(patched=True) as server:
        emulation = Emulation(endpoint=server.url)
        emulation.start()  # provisions every table, queue and bus of template.yaml
        pipeline = LocalPipeline(emulation, RULES_DIR, FunctionOutput())
        started = time.perf_counter()
        progress(f"loading {len(data.facts):,} facts and {len(data.events):,} events")
        pipeline.put_facts(data.facts)
        pipeline.send_engagement(envelopes(data.events))
        progress(f"computing {closed_period}")
        pipeline.request_compute(PROGRAM_ID, closed_period)
        results = pipeline.results
        summary = results.summaries(PROGRAM_ID, closed_period)
        if not summary:
            raise RuntimeError(f"{closed_period} was not computed")
        creators_computed = summary[-1][1].creators_evaluated
        results.save_provisional(
            PROGRAM_ID,
            open_period,
            ProvisionalSettlement(
                run_id="provisional-bench",
                as_of=now - timedelta(minutes=30),
                settlements={
                    CREATOR_MARKET: SettlementRecord(pool_rate="1/4", pool_total="100000000")
                },
            ),
        )
        load_seconds = time.perf_counter() - started
        stored_rejections = _count_rejections(emulation)
        if stored_rejections < data.rejected:
            raise RuntimeError(f"{stored_rejections} rejections stored, {data.rejected} sent")
        engagement = Table(emulation.dynamodb, emulation.table_name("EngagementTable"))
        creator_events = {
            period.name: len(EngagementStore(engagement).creator_events(period, CREATOR))
            for period in (closed_period, open_period)
        }
        progress(
            f"loaded and computed in {load_seconds:,.0f} s: {creators_computed:,} creators "
            f"evaluated, {stored_rejections:,} rejections, the creator's events {creator_events}"
        )

        # The API function, as `bonus api` invokes it; its context is built afresh
        # (dependencies.forget) so that its clients are made from the counted session.
        dependencies.forget()
        function = pipeline.functions[API_FUNCTION]
        routes = api_routes(emulation.template)
        tokens = TokenSettings.from_template()

        def claims(**who: Any) -> dict[str, str]:
            found = verify_token(tokens, "Bearer " + issue_token(tokens, **who))
            assert found is not None
            return found

        creator_claims, operator_claims = claims(creator=CREATOR), claims(operator=True)
        plan = route_calls(open_period.name, closed_period.name, creator_claims, operator_claims)

        def event_for(call: Call) -> tuple[str, dict[str, Any]]:
            found = match_route(routes, call.method, call.path)
            assert found is not None, call.path
            route, parameters = found
            headers = {"accept-language": "ko-KR,ko;q=0.9,en;q=0.5", "user-agent": "bench.api"}
            event = http_api_event(
                call.method, call.path, route.key, parameters, headers, {}, call.body, call.claims
            )
            return route.key, event

        for call in plan:  # the warm container: imports and the context, not measured
            function.invoke(event_for(call)[1])
        counter.take()

        measured = []
        for call in plan:
            result = RouteResult(call, event_for(call)[0])
            for _ in range(calls):
                _, event = event_for(call)  # API Gateway's part, not the function's
                wall, cpu = time.perf_counter(), time.process_time()
                response = function.invoke(event)
                cpu = time.process_time() - cpu
                wall = time.perf_counter() - wall
                requests = counter.take()
                result.statuses[int(response.get("statusCode", 500))] += 1
                result.cpu.append(cpu)
                result.wall.append(wall)
                dynamodb = sum(n for (service, _), n in requests.items() if service == "dynamodb")
                result.dynamodb.append(dynamodb)
                result.other.append(sum(requests.values()) - dynamodb)
                result.operations.update({name: n for (_, name), n in requests.items()})
                result.response_bytes = len(str(response.get("body") or "").encode())
            measured.append(result)
            progress(
                f"{call.title}: {dict(result.statuses)}, {result.dynamodb_requests} DynamoDB "
                f"requests, CPU median {result.cpu_ms_median:.2f} ms"
            )
        runner_cpu_us = _runner_cpu(function, calls) * 1e6
    return Benchmark(
        results=measured,
        load_seconds=load_seconds,
        facts=len(data.facts),
        events=len(data.events),
        rejected=data.rejected,
        stored_rejections=stored_rejections,
        creator_events=creator_events,
        creators_computed=creators_computed,
        runner_cpu_us=runner_cpu_us,
    )


def _count_rejections(emulation: Emulation) -> int:
    client = emulation.dynamodb
    pages = client.get_paginator("scan").paginate(
        TableName=emulation.table_name("RejectionsTable"), Select="COUNT"
    )
    return sum(int(page["Count"]) for page in pages)


class _IdleFunction(LocalFunction):
    """The runner around a handler that does nothing."""

    @property
    def handler(self) -> Callable[[Any, Any], Any]:
        return lambda event, context: {}


def _runner_cpu(function: LocalFunction, calls: int) -> float:
    """The median CPU of the in-process runner alone (its environment switch and Lambda
    context around a handler that does nothing): part of every figure above, and no
    part of a call in Lambda."""
    idle = _IdleFunction(function.spec, function.environment, function.output)
    samples = []
    for _ in range(max(calls, 20)):
        cpu = time.process_time()
        idle.invoke({})
        samples.append(time.process_time() - cpu)
    return statistics.median(samples)


# --- the report ------------------------------------------------------------------------------


def _reference(results: Sequence[RouteResult]) -> RouteResult:
    return next(result for result in results if result.call.name == REFERENCE_ROUTE)


def cpu_ratio(result: RouteResult, reference: RouteResult) -> float:
    return result.cpu_ms_median / reference.cpu_ms_median


def aims(result: RouteResult, reference: RouteResult) -> tuple[bool, bool]:
    """(at most 3 DynamoDB requests a call, CPU median within 5x the statement route's)"""
    return (
        result.dynamodb_requests <= MAX_DYNAMODB_REQUESTS,
        cpu_ratio(result, reference) <= MAX_CPU_OVER_STATEMENT,
    )


def _met(flag: bool) -> str:
    return "met" if flag else "NOT MET"


def table(results: Sequence[RouteResult]) -> str:
    reference = _reference(results)
    rows: list[list[object]] = []
    for result in results:
        requests_met, cpu_met = aims(result, reference)
        rows.append(
            [
                result.call.title,
                ", ".join(f"{status} x{n}" for status, n in sorted(result.statuses.items())),
                result.dynamodb_requests,
                ", ".join(
                    f"{name}" if n == len(result.cpu) else f"{name} x{n / len(result.cpu):g}"
                    for name, n in sorted(result.operations.items())
                )
                or "none",
                result.other_requests,
                result.cpu_ms_median,
                result.cpu_ms_p95,
                result.wall_ms_median,
                result.wall_ms_p95,
                f"{cpu_ratio(result, reference):.2f}",
                f"{result.response_bytes / 1024:,.1f}",
                _met(requests_met),
                _met(cpu_met),
            ]
        )
    return render_table(
        [
            "route",
            "status",
            "DynamoDB req",
            "requests a call",
            "other AWS req",
            "CPU ms median",
            "CPU ms p95",
            "wall ms median",
            "wall ms p95",
            "CPU / statement",
            "body KB",
            "<= 3 requests",
            "<= 5x statement",
        ],
        rows,
    )


def figures(results: Sequence[RouteResult]) -> dict[str, dict[str, Any]]:
    reference = _reference(results)
    found = {}
    for result in results:
        requests_met, cpu_met = aims(result, reference)
        found[result.call.name] = {
            "route": result.route_key,
            "statuses": sorted(result.statuses),
            "dynamodb_requests": result.dynamodb_requests,
            "other_requests": result.other_requests,
            "cpu_ms_median": round(result.cpu_ms_median, 3),
            "cpu_ms_p95": round(result.cpu_ms_p95, 3),
            "wall_ms_median": round(result.wall_ms_median, 3),
            "cpu_over_statement": round(cpu_ratio(result, reference), 2),
            "requests_aim_met": requests_met,
            "cpu_aim_met": cpu_met,
        }
    return found


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__)
    parser.add_argument(
        "--posts", type=int, default=300, help="the creator's posts in each of the two months"
    )
    parser.add_argument("--calls", type=int, default=50, help="measured calls of each route")
    parser.add_argument(
        "--creators", type=int, default=300, help="other creators, with 1 to 3 posts a month"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--json", action="store_true", help="end with one JSON line of the figures by route"
    )
    args = parser.parse_args(argv)
    if args.posts < 1 or args.calls < 1 or args.creators < 0:
        parser.error("--posts and --calls must be at least 1, --creators at least 0")

    prepare_process_environment()
    started = time.perf_counter()
    result = run(args.posts, args.calls, args.creators, args.seed)

    print(
        f"bench.api: {args.posts} posts a month, {args.calls} calls a route; {machine()}; "
        "moto patched (bench.common.patch_moto)"
    )
    print(load_summary())
    print(
        f"Loaded through the pipeline in {result.load_seconds:,.0f} s: {result.facts:,} facts "
        f"and {result.events:,} events ({result.rejected:,} of them rejected; "
        f"{result.stored_rejections:,} rejections stored); {result.creators_computed:,} "
        f"creators evaluated in the closed month. The creator ({CREATOR}, market "
        f"{CREATOR_MARKET}) has "
        + ", ".join(f"{n:,} events in {month}" for month, n in result.creator_events.items())
        + "."
    )
    print(
        "Per call, warm container; CPU = this process around the invocation (the moto "
        "server's CPU is its own). DynamoDB req: the most in any call."
    )
    print()
    print(table(result.results))
    print()
    print(
        f"The in-process runner's own CPU (environment switch, context; no handler): "
        f"{result.runner_cpu_us:,.0f} us a call, included in every CPU figure above."
    )
    reference = _reference(result.results)
    misses = [r.call.title for r in result.results if not all(aims(r, reference)) or not r.answered]
    print(
        "Aims (at most 3 DynamoDB requests a call; CPU median within 5x the statement "
        "route's): " + ("all met" if not misses else "not met by " + "; ".join(misses))
    )
    print(f"total {time.perf_counter() - started:,.0f} s")
    if args.json:
        print(json.dumps(figures(result.results)))
    return 0 if all(r.answered for r in result.results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
