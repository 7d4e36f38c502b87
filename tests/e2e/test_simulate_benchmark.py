"""The simulation benchmark still runs on the code it measures, at a size that takes
seconds. No figure is asserted (docs/PERFORMANCE.md has them); what is asserted is what
the benchmark reports: the events it generated, counted, and its figures, printed."""

import json
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]


def test_the_simulation_benchmark_reports_its_figures_on_every_event() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.simulate", "--events", "3000", "--creators", "300"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"seconds", "json_loads_seconds", "ratio", "peak_memory_mb"} <= set(figures)
    # Every generated event is accepted but the few made invalid (about 0.2%).
    assert 2900 <= figures["events_accepted"] <= 3000
    assert "with-brazil.yaml: BR" in result.stdout
