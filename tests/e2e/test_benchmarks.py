"""The benchmarks still run on the code they measure, at a size that takes seconds. No
figure is asserted here (performance lives in docs/PERFORMANCE.md); what is asserted is
what the benchmarks themselves check: every event counted once, every run complete."""

import re
import subprocess
import sys
from pathlib import Path

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


def test_the_ingestion_benchmark_counts_every_event_once_in_both_shapes() -> None:
    result = run_benchmark("bench.ingest", "--events", "300")

    assert result.returncode == 0, result.stderr
    assert "| envelopes |" in result.stdout
    assert "| single    |" in result.stdout
    assert "WARNING" not in result.stdout


def test_the_computation_benchmark_completes_a_run_for_every_creator() -> None:
    result = run_benchmark("bench.compute", "--creators", "40")

    # (the benchmark exits non-zero when the run did not complete or missed a creator)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^\| 40 +\| +issue \| +\d+ \|", result.stdout, re.MULTILINE)
    assert "EXTRAPOLATION to 1,000,000 creators" in result.stdout
