"""`bonus`: the developer's and the operator's command line.

bonus replay   --program R.yaml --facts F.jsonl --engagement E.jsonl --period YYYY-MM
bonus demo     a synthetic program replayed with progress bars, then its results
bonus emulator the emulation alone (moto server + template resources), until Ctrl-C
bonus sam-env  the --env-vars file for `sam local invoke` against `bonus emulator`
bonus rejected list rejections by period, source and reason
bonus api      the creator and operator API over the emulation; bonus token mints tokens
bonus report   one self-contained HTML page of a computed period
bonus simulate a period under the program's rules and candidate rules, in process
"""

import argparse
import gc
import json
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from bonus_engine.program_rules import ProgramRulesError
from bonus_local import api_server, report_command, simulate
from bonus_local.lambda_runtime import FunctionOutput
from bonus_local.replay import ReplayInputError, read_inputs, replay

# From inside sam local's container, the host's emulator (bonus emulator, port 5000).
SAM_LOCAL_ENDPOINT = "http://host.docker.internal:5000"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bonus", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    replay_cmd = commands.add_parser("replay", help="run the whole pipeline on given inputs")
    replay_cmd.add_argument("--program", required=True, type=Path, help="program rules YAML")
    replay_cmd.add_argument("--facts", required=True, type=Path, help="PutEvents entries, JSONL")
    replay_cmd.add_argument("--engagement", required=True, type=Path, help="SQS bodies, JSONL")
    replay_cmd.add_argument("--period", required=True, help="the month to compute, YYYY-MM")
    replay_cmd.add_argument("--out", type=Path, help="write the result here (default: stdout)")
    replay_cmd.add_argument(
        "--endpoint", help="use a running emulation (bonus emulator) instead of a new one"
    )
    replay_cmd.add_argument(
        "--verbose", action="store_true", help="show the functions' logs on stderr"
    )
    replay_cmd.add_argument(
        "--payouts", type=Path, help="copy the period's payout files into this directory"
    )

    demo_cmd = commands.add_parser("demo", help="replay a synthetic program and show it")
    demo_cmd.add_argument("--creators", type=int, default=2000)
    demo_cmd.add_argument("--seed", type=int, default=7)

    emulator_cmd = commands.add_parser("emulator", help="run the emulation until Ctrl-C")
    emulator_cmd.add_argument("--port", type=int, default=5000)

    sam_env_cmd = commands.add_parser(
        "sam-env", help="print the --env-vars file for sam local invoke against the emulator"
    )
    sam_env_cmd.add_argument("--endpoint", default=SAM_LOCAL_ENDPOINT)

    rejected_cmd = commands.add_parser("rejected", help="list rejected input")
    rejected_cmd.add_argument("--period", required=True)
    rejected_cmd.add_argument("--source", choices=["engagement", "facts"], default="engagement")
    rejected_cmd.add_argument("--reason")
    rejected_cmd.add_argument("--endpoint", help="a local emulation, e.g. http://127.0.0.1:5000")
    rejected_cmd.add_argument("--table", help="the RejectionsTable (default: the local one)")

    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "replay": _replay,
        "demo": _demo,
        "emulator": _emulator,
        "rejected": _rejected,
        "sam-env": _sam_env,
        **api_server.register(commands),
        "report": report_command.register(commands),
        "simulate": simulate.register(commands),
    }
    args = parser.parse_args(argv)
    return handlers[args.command](args)


def _fail(message: str) -> int:
    print(f"bonus: {message}", file=sys.stderr)
    return 2


def _replay(args: argparse.Namespace) -> int:
    try:
        inputs = read_inputs(args.program, args.facts, args.engagement, args.period)
        output = FunctionOutput(sys.stderr if args.verbose else None)
        with fewer_collections():
            result = replay(
                inputs,
                endpoint=args.endpoint,
                output=output,
                progress=_stderr_progress,
                payouts=args.payouts,
            )
    except (ProgramRulesError, ReplayInputError) as error:
        return _fail(str(error))
    text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


@contextmanager
def _stderr_progress(label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr when it is a terminal; silence otherwise."""
    if not sys.stderr.isatty():
        yield lambda _: None
        return
    from rich.progress import Progress

    with Progress(transient=True, console=_stderr_console()) as progress:
        task = progress.add_task(label, total=total)
        yield lambda steps: progress.advance(task, steps)


def _stderr_console() -> Any:
    from rich.console import Console

    return Console(stderr=True)


def _demo(args: argparse.Namespace) -> int:
    from bonus_local.demo import run_demo

    with fewer_collections():
        return run_demo(creators=args.creators, seed=args.seed)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Python's cyclic garbage collector less often while the emulation runs in process.
    The emulation keeps hundreds of thousands of objects alive (moto's items, messages,
    parsed models), and the default thresholds walked them 8,588 times in a demo: 4.8 s of
    61 s. At these thresholds it runs 21 times, for 1.1 s, and the peak memory is the
    same (reference counting frees all but cycles; docs/PERFORMANCE.md, the demo)."""
    before = gc.get_threshold()
    gc.set_threshold(100_000, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def _emulator(args: argparse.Namespace) -> int:
    from bonus_local.emulator import Emulation

    with Emulation(port=args.port) as emulation:
        print(f"emulation running at {emulation.endpoint} (Ctrl-C stops it)", flush=True)
        print(f"  export AWS_ENDPOINT_URL={emulation.endpoint}")
        for logical_id, queue in emulation.template.queues.items():
            print(f"  {logical_id}: {emulation.queue_urls[queue.name]}")
        for logical_id, table in emulation.template.tables.items():
            print(f"  {logical_id}: {table.name}")
        print(f"  event bus: {emulation.bus_name}")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        with suppress(KeyboardInterrupt):
            stop.wait()
    return 0


def _sam_env(args: argparse.Namespace) -> int:
    from bonus_local.emulator import sam_local_env_vars
    from bonus_local.template import load_template

    print(json.dumps(sam_local_env_vars(load_template(), args.endpoint), indent=2))
    return 0


def _rejected(args: argparse.Namespace) -> int:
    from bonus_engine.periods import Period
    from bonus_engine.rejections import RejectionReason, RejectionSource
    from bonus_engine.storage.dynamo import Table
    from bonus_engine.storage.rejections_store import RejectionStore
    from bonus_local.emulator import dynamodb_client
    from bonus_local.pipeline import REJECTIONS_TABLE
    from bonus_local.template import load_template

    try:
        period = Period.parse(args.period)
        reason = RejectionReason(args.reason) if args.reason else None
    except ValueError as error:
        return _fail(str(error))
    client = dynamodb_client(args.endpoint)
    table = args.table or load_template().tables[REJECTIONS_TABLE].name
    store = RejectionStore(Table(client, table))
    for item in store.list(RejectionSource(args.source), period, reason):
        print(json.dumps(item, default=str, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
