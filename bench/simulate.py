"""Simulation benchmark: `bonus simulate` on N engagement events of M creators, against
the floor of merely parsing every input line with `json.loads`.

    .venv/bin/python -m bench.simulate [--events 1000000] [--creators 100000] [--candidates 2]

The input files are generated first in a temporary directory (not timed): facts for every
creator (a profile in KR, JP, US or outside the program, most invited, a few with a
personal cap, a strike or a restricted post) and a month of engagement shaped as
producers send it: 90% of the messages envelopes of 20-100 events, 10% single events,
about 1% of the messages sent twice, a few invalid events and conflicting copies. The
program is examples/demo/program.yaml; the candidates lower `min_followers` and add a
market (BR).

Then, in the same run: simulate in a child process (wall time from the parent, including
the interpreter's start; peak memory from the child's `ru_maxrss`), and `json.loads` on
every line of the same two files in this process. The last line printed is one JSON
object: `seconds`, `json_loads_seconds`, `ratio`, `peak_memory_mb` and the sizes.
"""

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.common import REPOSITORY, machine
from bonus_engine.periods import Period
from bonus_engine.timestamps import to_utc_text

PROGRAM = REPOSITORY / "examples" / "demo" / "program.yaml"
PROGRAM_ID = "demo-bonus"
PERIOD = Period.parse("2026-03")
COUNTRIES = ["KR"] * 40 + ["JP"] * 25 + ["US"] * 30 + ["BR"] * 3 + ["FR"] * 2
METRICS = [("view", 70), ("like", 20), ("comment", 7), ("share", 3)]
FORMATS = ["reel", "reel", "carousel", "standard"]
QUALITIES = ["organic"] * 96 + ["paid", "self", "invalid", "organic"]
SINGLE_SHARE = 0.10
RESENT_SHARE = 0.01
INVALID_SHARE = 0.002
CONFLICT_SHARE = 0.001

BRAZIL = """markets:
  BR:
    currency: USD
    payout: {model: rate, tiers: [{up_to: null, per_1000_points: "0.50"}]}
    creator_cap: "300.00"
    budget: "20000.00"
"""
CANDIDATES = {  # file name: (the line's text in the demo program, what replaces it)
    "fewer-followers.yaml": ("min_followers: 1000", "min_followers: 300"),
    "with-brazil.yaml": ("markets:\n", BRAZIL),
}


# --- the inputs ------------------------------------------------------------------------------


def write_candidates(directory: Path, count: int) -> list[Path]:
    """Copies of the demo program, each with one change (see CANDIDATES)."""
    text = PROGRAM.read_text()
    paths = []
    for name, (old, new) in list(CANDIDATES.items())[:count]:
        if old not in text:
            raise SystemExit(f"{PROGRAM}: no {old!r} to change for {name}")
        path = directory / name
        path.write_text(text.replace(old, new, 1))
        paths.append(path)
    return paths


def _instant(rng: random.Random) -> str:
    seconds = int((PERIOD.end - PERIOD.start).total_seconds())
    return to_utc_text(PERIOD.start + timedelta(seconds=rng.randrange(seconds)))


def _fact(detail_type: str, creator: str, at: str, **detail: Any) -> str:
    entry = {
        "source": "creators",
        "detail-type": detail_type,
        "detail": {"creator_id": creator, "occurred_at": at, **detail},
    }
    return json.dumps(entry)


def write_facts(path: Path, rng: random.Random, creators: list[str]) -> int:
    before = to_utc_text(PERIOD.start - timedelta(days=40))
    invited = to_utc_text(PERIOD.start - timedelta(days=20))
    lines = 0
    with path.open("w") as out:
        for creator in creators:
            country = creator[:2].upper()
            facts = [
                _fact(
                    "CreatorProfileChanged",
                    creator,
                    before,
                    account_type="professional" if rng.random() < 0.95 else "personal",
                    country=country,
                    adult=rng.random() < 0.98,
                    followers=int(rng.lognormvariate(7.5, 1.2)),
                )
            ]
            if rng.random() < 0.92:
                cap = {"bonus_cap": "5000"} if rng.random() < 0.05 else {}
                facts.append(
                    _fact("CreatorInvited", creator, invited, program_id=PROGRAM_ID, **cap)
                )
            if rng.random() < 0.03:
                facts.append(
                    _fact("PolicyStrikeIssued", creator, _instant(rng), strike_id=f"s-{creator}")
                )
            if rng.random() < 0.02:
                facts.append(
                    _fact("PostRestricted", creator, _instant(rng), post_id=f"{creator}-p0")
                )
            if rng.random() < 0.01:  # delivered twice
                facts.append(facts[0])
            for fact in facts:
                out.write(fact + "\n")
            lines += len(facts)
    return lines


def write_engagement(path: Path, rng: random.Random, creators: list[str], events: int) -> int:
    """`events` distinct events spread over the creators, shuffled, grouped in messages."""
    metrics = [metric for metric, _ in METRICS]
    weights = [weight for _, weight in METRICS]
    posts = {creator: rng.randint(1, 6) for creator in creators}
    bodies: list[str] = []
    for number in range(events):
        creator = creators[number % len(creators)] if number < len(creators) else None
        creator = creator or rng.choice(creators)
        post = rng.randrange(posts[creator])
        metric = rng.choices(metrics, weights)[0]
        count = rng.randint(1, 5000) if metric == "view" else rng.randint(1, 200)
        if metric != "view" and rng.random() < 0.03:
            count = -rng.randint(1, 20)  # a retraction
        event: dict[str, Any] = {
            "event_id": f"e{number:09d}",
            "creator_id": creator,
            "post_id": f"{creator}-p{post}",
            "format": FORMATS[post % len(FORMATS)],
            "metric": metric,
            "count": count,
            "occurred_at": _instant(rng),
        }
        quality = rng.choice(QUALITIES)
        if quality != "organic":
            event["quality"] = quality
        if rng.random() < INVALID_SHARE:
            event["format"] = "story"
        if rng.random() < CONFLICT_SHARE:  # a copy with another count: rejected
            bodies.append(json.dumps({**event, "count": count + 1}))
        bodies.append(json.dumps(event))
    rng.shuffle(bodies)
    lines = 0
    with path.open("w") as out:
        start = 0
        while start < len(bodies):
            size = 1 if rng.random() < SINGLE_SHARE else rng.randint(20, 100)
            chunk = bodies[start : start + size]
            start += size
            line = chunk[0] if len(chunk) == 1 else '{"events": [' + ", ".join(chunk) + "]}"
            out.write(line + "\n")
            lines += 1
            if rng.random() < RESENT_SHARE:
                out.write(line + "\n")
                lines += 1
    return lines


# --- the measurements ------------------------------------------------------------------------


def json_loads_seconds(paths: list[Path]) -> float:
    """The floor: json.loads on every line of the files (read line by line, as simulate)."""
    started = time.perf_counter()
    for path in paths:
        with path.open(encoding="utf-8") as lines:
            for line in lines:
                if line.strip():
                    json.loads(line)
    return time.perf_counter() - started


def run_simulate(arguments: list[str]) -> tuple[float, float]:
    """Wall seconds of `python -m bonus_local.simulate` and its peak memory (MB)."""
    started = time.perf_counter()
    result = subprocess.run(  # noqa: S603 - our own command
        [sys.executable, "-m", "bonus_local.simulate", *arguments],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"simulate failed ({result.returncode}): {result.stderr.strip()}")
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: kilobytes
    return seconds, peak_kb / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--creators", type=int, default=100_000)
    parser.add_argument("--candidates", type=int, default=2, choices=range(len(CANDIDATES) + 1))
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)

    rng = random.Random(args.seed)
    creators = [f"{rng.choice(COUNTRIES).lower()}-{number:07d}" for number in range(args.creators)]
    with tempfile.TemporaryDirectory(prefix="bench-simulate-") as temp:
        directory = Path(temp)
        facts, engagement, out = (
            directory / "facts.jsonl",
            directory / "engagement.jsonl",
            directory / "result.json",
        )
        print(f"generating {args.events:,} events of {args.creators:,} creators ...", flush=True)
        fact_lines = write_facts(facts, rng, creators)
        message_lines = write_engagement(engagement, rng, creators, args.events)
        candidates = write_candidates(directory, args.candidates)
        arguments = [
            "--program",
            str(PROGRAM),
            *[part for path in candidates for part in ("--candidate", str(path))],
            "--facts",
            str(facts),
            "--engagement",
            str(engagement),
            "--period",
            PERIOD.name,
            "--out",
            str(out),
        ]
        print(f"{fact_lines:,} fact lines, {message_lines:,} message lines", flush=True)
        seconds, peak_mb = run_simulate(arguments)
        floor = json_loads_seconds([facts, engagement])
        result = json.loads(out.read_text())
        sizes = {
            "input_mb": round((facts.stat().st_size + engagement.stat().st_size) / 2**20, 1),
            "fact_lines": fact_lines,
            "message_lines": message_lines,
        }
    print(f"machine: {machine()}")
    print(f"simulate: {seconds:.1f} s, peak {peak_mb:.0f} MB; json.loads floor: {floor:.1f} s")
    print(f"inputs: {result['inputs']}; changes: {len(result['changes']):,}")
    for program in result["programs"]:
        markets = ", ".join(
            f"{name} {m['total']} of {m['limit']} ({m['paid']:,} paid)"
            for name, m in program["markets"].items()
        )
        print(f"  {Path(program['rules']).name}: {markets}")
    print(
        json.dumps(
            {
                "events": args.events,
                "creators": args.creators,
                "candidates": args.candidates,
                "seconds": round(seconds, 2),
                "json_loads_seconds": round(floor, 2),
                "ratio": round(seconds / floor, 2),
                "peak_memory_mb": round(peak_mb),
                "events_accepted": result["inputs"]["events_accepted"],
                **sizes,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
