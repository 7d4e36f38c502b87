"""The benchmarks still run on the code they measure, at a size that takes seconds. No
figure is asserted here (performance lives in docs/PERFORMANCE.md); what is asserted is
what the benchmarks themselves check: every event counted once, every run complete, every
handler importable as Lambda imports it; and that each ends with its JSON line."""

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parents[2]


def run_benchmark(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own benchmark
        [sys.executable, "-m", module, *args],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def last_json_line(stdout: str) -> dict[str, Any]:
    figures: dict[str, Any] = json.loads(stdout.strip().splitlines()[-1])
    return figures


def test_the_ingestion_benchmark_counts_every_event_once_in_both_shapes() -> None:
    result = run_benchmark("bench.ingest", "--events", "300", "--json")

    assert result.returncode == 0, result.stderr
    assert "| envelopes |" in result.stdout
    assert "| single    |" in result.stdout
    assert "WARNING" not in result.stdout  # every event accepted once, two items each
    figures = last_json_line(result.stdout)
    assert set(figures) == {"envelopes", "single"}
    for shape in figures.values():
        assert shape["events"] > 300  # 300 and those of the resent messages
        assert shape["write_requests_per_event"] > 0
        assert shape["write_units_per_accepted"] >= 2  # the event and its month index entry


def test_the_computation_benchmark_completes_a_run_for_every_creator() -> None:
    result = run_benchmark("bench.compute", "--creators", "40", "--json")

    # (the benchmark exits non-zero when the run did not complete or missed a creator, or
    # when compute_period did not give every creator a statement)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^\| 40 +\| +issue \| +\d+ \|", result.stdout, re.MULTILINE)
    assert "EXTRAPOLATION to 10,000,000 creators" in result.stdout
    figures = last_json_line(result.stdout)
    assert figures["creators"] == 40
    for name in ("write_requests_per_creator", "write_units_per_creator", "cpu_us_per_creator"):
        assert figures[name] > 0
    assert 0 < figures["pure_cpu_us_per_creator"] < figures["cpu_us_per_creator"]


def test_the_cold_start_benchmark_imports_every_handler_as_lambda_does() -> None:
    result = run_benchmark("bench.cold_start", "--runs", "1")

    assert result.returncode == 0, result.stderr
    figures = last_json_line(result.stdout)
    assert set(figures) == {
        "IngestEngagementFunction",
        "CheckEligibilityFunction",
        "StartBonusRunsFunction",
        "ComputeBonusShardFunction",
        "CreatorApiFunction",
    }
    for function in figures.values():
        assert function["handler_ms"] > 0
        assert function["libraries_ms"] > 0


def test_the_api_benchmark_answers_every_route_of_the_api() -> None:
    result = run_benchmark(
        "bench.api", "--posts", "5", "--calls", "2", "--creators", "20", "--json"
    )

    assert result.returncode == 0, result.stderr
    figures = last_json_line(result.stdout)
    assert set(figures) == {
        "criteria",
        "eligibility",
        "progress_open",
        "progress_closed",
        "statement",
        "summary",
        "rejections",
        "compute_dry_run",
    }
    for route in figures.values():
        assert route["statuses"]
        assert all(200 <= status < 300 for status in route["statuses"])
        assert route["cpu_ms_median"] > 0
    assert figures["criteria"]["dynamodb_requests"] == 0
    assert figures["compute_dry_run"]["other_requests"] == 1  # its PutEvents
