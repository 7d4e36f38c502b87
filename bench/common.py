"""What both benchmarks share: the moto server in a process of its own, the counting of
requests and capacity, DynamoDB's item sizing rules, and the printing of tables.

`python -m bench.common moto-server --port N [--patched]` runs the moto server the
compute benchmark uses (see `patch_moto`).
"""

import argparse
import logging
import math
import os
import platform
import socket
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import Any, Self

REPOSITORY = Path(__file__).resolve().parents[1]
RULES_DIR = REPOSITORY / "layers" / "program_rules" / "programs"
MOTO_SERVER = Path(sys.executable).parent / "moto_server"

KB = 1024
READ_UNIT_BYTES = 4 * KB


def prepare_process_environment() -> None:
    """What every benchmark process needs before boto3 or Powertools are imported."""
    os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Bench")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")


def code_version() -> str:
    """The commit measured, and whether the code under measurement differed from it."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--", "layers", "functions", "local", "template.yaml"],  # noqa: S607
            cwd=REPOSITORY,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return "commit unknown"
    return f"commit {commit}" + (" with uncommitted changes to the code" if changed else "")


def machine() -> str:
    return (
        f"{code_version()}; {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"moto {metadata.version('moto')} server in a separate process, "
        f"boto3 {metadata.version('boto3')}, "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC"
    )


# --- the moto server, in a process of its own --------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class MotoServer:
    """A moto server in a child process, so that the benchmark process's CPU time is the
    handler's alone. `patched` runs it through `python -m bench.common` with `patch_moto`
    applied; otherwise it is the stock `moto_server`."""

    def __init__(self, patched: bool = False) -> None:
        self.patched = patched
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Self:
        if self.patched:
            command = [sys.executable, "-m", "bench.common", "moto-server", "--patched"]
            command += ["--port", str(self.port)]
        else:
            command = [str(MOTO_SERVER), "-p", str(self.port)]
        self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and moto
            command,
            cwd=REPOSITORY,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"moto server exited with {self._process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto server did not start within 60 s")

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    def cpu_seconds(self) -> float:
        """The server process's CPU time so far (user + system), from /proc."""
        if self._process is None:
            return 0.0
        fields = Path(f"/proc/{self._process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])  # utime, stime
        return ticks / os.sysconf("SC_CLK_TCK")

    def memory_mb(self) -> float:
        """The server process's resident memory, from /proc."""
        if self._process is None:
            return 0.0
        for line in Path(f"/proc/{self._process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0


def patch_moto() -> None:
    """moto 5.2.5 has behaviours that make a call cost far more than its own items
    (DynamoDB has none of them); unpatched, the compute benchmark at 100,000 creators
    would spend most of an hour inside moto. The emulation's own `bonus_local.moto_speedups`
    fixes them and keeps moto's answers (same items, same order, same errors): Query reads
    the partition only; DynamoDB responses are written as plain JSON; moto's services are
    listed once; TransactWriteItems copies only the items it names for its rollback, not
    every table it names. Run with BENCH_VERIFY_MOTO_PATCH=1 to compare every response
    with moto's own serialiser."""
    from bonus_local import moto_speedups

    moto_speedups.install(verify=os.environ.get("BENCH_VERIFY_MOTO_PATCH") == "1")


def _serve(argv: Sequence[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.common moto-server")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--patched", action="store_true", help="apply patch_moto()")
    args = parser.parse_args(argv)
    if args.patched:
        patch_moto()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from moto.server import main

    main(["-p", str(args.port)])


# --- DynamoDB's sizing rules ---------------------------------------------------------


def number_size(text: str) -> int:
    """About 1 byte per 2 significant digits, plus 1 (leading and trailing zeros trimmed)."""
    digits = Decimal(text).normalize().as_tuple().digits
    return math.ceil(len(digits) / 2) + 1


def value_size(value: Mapping[str, Any]) -> int:
    """The size of one attribute value, in DynamoDB's wire form ({"S": ...}, {"N": ...})."""
    ((kind, content),) = value.items()
    if kind == "S":
        return len(content.encode())
    if kind == "N":
        return number_size(content)
    if kind == "B":
        return len(content)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(member.encode()) for member in content)
    if kind == "NS":
        return sum(number_size(member) for member in content)
    if kind == "BS":
        return sum(len(member) for member in content)
    if kind == "L":
        return 3 + sum(value_size(member) + 1 for member in content)
    if kind == "M":
        return 3 + sum(len(k.encode()) + value_size(v) + 1 for k, v in content.items())
    raise ValueError(f"unknown attribute type {kind}")


def item_size(attributes: Mapping[str, Mapping[str, Any]]) -> int:
    """Sum over attributes of the name's UTF-8 length and the value's size."""
    return sum(len(name.encode()) + value_size(value) for name, value in attributes.items())


def write_units(size: int) -> int:
    """A standard write: 1 unit per started 1 KB of the item."""
    return max(1, math.ceil(size / KB))


def read_chunks(size: int) -> int:
    """A read: 1 strongly consistent unit (or 2 eventually consistent halves) per 4 KB."""
    return max(1, math.ceil(size / READ_UNIT_BYTES))


INDEX_ENTRY_OVERHEAD = 100  # bytes DynamoDB adds to each index entry's size


@dataclass(frozen=True)
class IndexSizing:
    """A global secondary index as the sizing rules see it: an item written with both of
    its key attributes is written to the index too, sized by the table's keys, the
    index's keys and the attributes it projects, plus 100 bytes."""

    name: str
    keys: frozenset[str]  # the table's and the index's key attributes
    projected: frozenset[str]  # INCLUDE's non-key attributes
    projects_all: bool = False

    def entry_size(self, item: Mapping[str, Mapping[str, Any]]) -> int | None:
        """The size of the item's entry, or None when the item is not in the index."""
        if not all(key in item for key in self.keys):
            return None
        kept = {
            name: value
            for name, value in item.items()
            if self.projects_all or name in self.keys or name in self.projected
        }
        return item_size(kept) + INDEX_ENTRY_OVERHEAD


def template_indexes(tables: Mapping[str, Any]) -> dict[str, list[IndexSizing]]:
    """The global secondary indexes of the template's tables, by table name (`tables`:
    the emulation's TableSpecs)."""
    indexes: dict[str, list[IndexSizing]] = {}
    for table in tables.values():
        table_keys = {key["AttributeName"] for key in table.properties["KeySchema"]}
        for index in table.properties.get("GlobalSecondaryIndexes", []):
            projection = index["Projection"]
            indexes.setdefault(table.name, []).append(
                IndexSizing(
                    index["IndexName"],
                    frozenset(table_keys | {key["AttributeName"] for key in index["KeySchema"]}),
                    frozenset(projection.get("NonKeyAttributes", [])),
                    projection["ProjectionType"] == "ALL",
                )
            )
    return indexes


@dataclass
class Capacity:
    """Read and write units of one table by DynamoDB's sizing rules."""

    read_units: Decimal = Decimal(0)
    write_units: Decimal = Decimal(0)
    items_written: int = 0
    bytes_written: int = 0
    # write units by partition key (`pk`): what DynamoDB's per-partition limit applies to
    partition_write_units: Counter[str] = field(default_factory=Counter)
    transact_write_units: Decimal = Decimal(0)  # the part of write_units in transactions
    index_write_units: Decimal = Decimal(0)  # the part of write_units in its indexes

    def add(self, other: "Capacity") -> None:
        self.read_units += other.read_units
        self.write_units += other.write_units
        self.items_written += other.items_written
        self.bytes_written += other.bytes_written
        self.partition_write_units.update(other.partition_write_units)
        self.transact_write_units += other.transact_write_units
        self.index_write_units += other.index_write_units

    @property
    def hottest_partition_write_units(self) -> int:
        return max(self.partition_write_units.values(), default=0)


HALF = Decimal("0.5")


def _read_factor(consistent: bool) -> Decimal:
    return Decimal(1) if consistent else HALF


class CallRecorder:
    """Watches a boto3 client through botocore's event hooks: counts its requests by
    operation and keeps each DynamoDB call's parameters and response, so that capacity
    can be computed by the sizing rules *after* the timed section (the hooks themselves
    only append to a list). `indexes` (from `template_indexes`): what writing an item
    also costs in the tables' global secondary indexes."""

    def __init__(self, indexes: Mapping[str, list[IndexSizing]] | None = None) -> None:
        self.requests: Counter[str] = Counter()
        self._calls: list[tuple[str, Mapping[str, Any], Mapping[str, Any]]] = []
        self.indexes = dict(indexes or {})

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build", self._on_params)
        client.meta.events.register("after-call", self._on_response)

    @staticmethod
    def _on_params(params: Mapping[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["bench_params"] = params

    def _on_response(
        self, parsed: Mapping[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        self.requests[model.name] += 1
        if model.service_model.service_name == "dynamodb":
            self._calls.append((model.name, context.get("bench_params", {}), parsed))

    def drain(self) -> dict[str, Capacity]:
        """Capacity by table for the calls since the last drain."""
        tables: dict[str, Capacity] = defaultdict(Capacity)
        for operation, params, response in self._calls:
            _account(operation, params, response, tables)
            if operation in ("PutItem", "BatchWriteItem"):
                self._account_indexes(params, tables)
        self._calls = []
        return dict(tables)

    def _account_indexes(self, params: Mapping[str, Any], tables: dict[str, Capacity]) -> None:
        """Puts into an indexed table are written to each index that holds the item."""
        if "Item" in params:
            puts = {params["TableName"]: [params["Item"]]}
        else:
            puts = {
                name: [
                    request["PutRequest"]["Item"] for request in requests if "PutRequest" in request
                ]
                for name, requests in params["RequestItems"].items()
            }
        for name, items in puts.items():
            for index in self.indexes.get(name, []):
                for item in items:
                    size = index.entry_size(item)
                    if size is None:
                        continue
                    units = write_units(size)
                    tables[name].write_units += units
                    tables[name].index_write_units += units


def _account(
    operation: str,
    params: Mapping[str, Any],
    response: Mapping[str, Any],
    tables: dict[str, Capacity],
) -> None:
    if operation == "GetItem":
        item = response.get("Item")
        chunks = read_chunks(item_size(item) if item else 0)
        factor = _read_factor(params.get("ConsistentRead", False))
        tables[params["TableName"]].read_units += chunks * factor
    elif operation == "Query":
        # A Query is charged on the sum of its items, per page (COUNT pages: at least 1).
        size = sum(item_size(item) for item in response.get("Items", []))
        factor = _read_factor(params.get("ConsistentRead", False))
        tables[params["TableName"]].read_units += read_chunks(size) * factor
    elif operation == "BatchGetItem":
        for name, request in params["RequestItems"].items():
            found = response.get("Responses", {}).get(name, [])
            missing = len(request["Keys"]) - len(found)  # a missing item costs the minimum
            chunks = missing + sum(read_chunks(item_size(item)) for item in found)
            tables[name].read_units += chunks * _read_factor(request.get("ConsistentRead", False))
    elif operation == "PutItem":
        _written(tables[params["TableName"]], params["Item"], 1)
    elif operation == "UpdateItem":
        # Charged on the larger of the item before and after: after (ReturnValues=ALL_NEW).
        _written(tables[params["TableName"]], response.get("Attributes") or params["Key"], 1)
    elif operation == "BatchWriteItem":
        for name, requests in params["RequestItems"].items():
            for request in requests:
                _written(tables[name], request.get("PutRequest", {}).get("Item", {}), 1)
    elif operation == "TransactWriteItems":
        # Every action of a transaction costs 2 write units per started KB of its item
        # (prepare and commit). A Put is sized by its item; an Update or a Delete by its
        # key (the request does not hold the stored item: undercounts a large one); a
        # ConditionCheck writes nothing, and is counted as a transactional write of its
        # key (2 units), not as an item written.
        for entry in params["TransactItems"]:
            ((kind, action),) = entry.items()
            capacity = tables[action["TableName"]]
            item = action.get("Item") or action.get("Key", {})
            units = _written(capacity, item, 2, counted=kind != "ConditionCheck")
            capacity.transact_write_units += units


def _written(
    capacity: Capacity, item: Mapping[str, Mapping[str, Any]], factor: int, counted: bool = True
) -> int:
    size = item_size(item)
    units = write_units(size) * factor
    capacity.write_units += units
    partition = item.get("pk", {}).get("S")
    if partition is not None:
        capacity.partition_write_units[partition] += units
    if counted:
        capacity.items_written += 1
        capacity.bytes_written += size
    return units


# --- counting a store's Table.usage ------------------------------------------------------


@dataclass(frozen=True)
class UsageCount:
    """A snapshot of a `Table.usage` (moto's reported capacity)."""

    requests: Mapping[str, int] = field(default_factory=dict)
    read_units: Decimal = Decimal(0)
    write_units: Decimal = Decimal(0)

    @classmethod
    def of(cls, usage: Any) -> "UsageCount":
        return cls(dict(usage.requests), usage.read_units, usage.write_units)

    def __add__(self, other: "UsageCount") -> "UsageCount":
        requests = Counter(self.requests)
        requests.update(other.requests)
        return UsageCount(
            dict(requests), self.read_units + other.read_units, self.write_units + other.write_units
        )

    def __sub__(self, other: "UsageCount") -> "UsageCount":
        requests = {
            name: count - other.requests.get(name, 0) for name, count in self.requests.items()
        }
        return UsageCount(
            {name: count for name, count in requests.items() if count},
            self.read_units - other.read_units,
            self.write_units - other.write_units,
        )

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def write_requests(self) -> int:
        writes = ("PutItem", "UpdateItem", "BatchWriteItem", "TransactWriteItems")
        return sum(self.requests.get(name, 0) for name in writes)

    @property
    def read_requests(self) -> int:
        return self.total_requests - self.write_requests


# --- output --------------------------------------------------------------------------


def render_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table, aligned so that it reads in a terminal too."""
    cells = [[str(h) for h in headers]] + [[_cell(value) for value in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        parts = [
            value.ljust(width) if i == 0 else value.rjust(width)
            for i, (value, width) in enumerate(zip(row, widths, strict=True))
        ]
        return "| " + " | ".join(parts) + " |"

    rule = "|" + "|".join(
        "-" * (w + 1) + ":" if i else ":" + "-" * (w + 1) for i, w in enumerate(widths)
    )
    return "\n".join([line(cells[0]), rule + "|"] + [line(row) for row in cells[1:]])


def _cell(value: object) -> str:
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:,.2f}"
        return f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


@contextmanager
def stopwatch() -> Iterator[dict[str, float]]:
    """Wall and CPU seconds of the block (CPU: this process only)."""
    result: dict[str, float] = {}
    wall, cpu = time.perf_counter(), time.process_time()
    try:
        yield result
    finally:
        result["wall"] = time.perf_counter() - wall
        result["cpu"] = time.process_time() - cpu


_LOAD: list[float] = []


def progress(message: str) -> None:
    """A line on stderr; also samples the machine's load (other work on it skews wall)."""
    load = os.getloadavg()[0]
    _LOAD.append(load)
    print(f"[{datetime.now(UTC):%H:%M:%S}] load {load:.2f}  {message}", file=sys.stderr, flush=True)


def load_summary() -> str:
    """The 1-minute load average seen at the progress lines (2.0 = both CPUs busy)."""
    if not _LOAD:
        return "load average not sampled"
    mean = sum(_LOAD) / len(_LOAD)
    return f"1-min load average at progress lines: mean {mean:.2f}, max {max(_LOAD):.2f}"


if __name__ == "__main__":
    if sys.argv[1:2] != ["moto-server"]:
        sys.exit("usage: python -m bench.common moto-server --port N [--patched]")
    _serve(sys.argv[2:])
