"""Cold-start benchmark: for each function of template.yaml, how long importing its handler
module takes, next to importing the third-party libraries it loads, alone.

    .venv/bin/python -m bench.cold_start [--runs 5]

Each measurement is a fresh interpreter (a child process) set up as Lambda sets one up:
the function's CodeUri and the shared layer (`layers/bonus_engine`) on PYTHONPATH, the
function's environment from template.yaml, `LAMBDA_TASK_ROOT` and
`AWS_LAMBDA_FUNCTION_NAME` set (so Powertools' Tracer is live where a function creates
one), and `POWERTOOLS_TRACE_DISABLED` unset. The child times `import app` with
`time.perf_counter()` (the interpreter's own start is not counted) and lists the
third-party modules (those under site-packages) the import loaded. A second fresh child
then imports exactly those modules, in the same order, and times that: the libraries
alone. The difference is what the project's own modules add (their code, and the
standard-library modules only they use). Median of `--runs` runs each, the two kinds
interleaved. Byte-compiled caches are used alike by both (whatever `__pycache__` holds).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bench.common import REPOSITORY, code_version, progress, render_table
from bonus_local.template import FunctionSpec, load_template

LAYER = REPOSITORY / "layers" / "bonus_engine"
OWN_SHARE_TARGET = 0.30

# Run in the child: `import app`, timed; then the third-party modules it loaded.
HANDLER_PROBE = """
import json, os, sys, sysconfig, time
before = set(sys.modules)
started = time.perf_counter()
import app
elapsed = time.perf_counter() - started
roots = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
def third_party(module):
    where = getattr(module, "__file__", None) or next(iter(getattr(module, "__path__", [])), "")
    return any(str(where).startswith(root) for root in roots)
loaded = [name for name, module in list(sys.modules.items())
          if name not in before and module is not None and third_party(module)]
ours = os.environ["PYTHONPATH"].split(os.pathsep)
own = [name for name, module in list(sys.modules.items()) if name not in before
       and any(str(getattr(module, "__file__", None) or "").startswith(root) for root in ours)]
print(json.dumps({"seconds": elapsed, "libraries": loaded, "own": own}))
"""

# Run in the child: import the listed modules (argv[1], JSON), timed.
LIBRARIES_PROBE = """
import importlib, json, sys, time
names = json.loads(sys.argv[1])
started = time.perf_counter()
for name in names:
    importlib.import_module(name)
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


@dataclass(frozen=True)
class ColdStart:
    function: str
    handler_ms: float
    libraries_ms: float
    libraries: list[str]
    own_modules: list[str]
    handler_runs: list[float]
    libraries_runs: list[float]

    @property
    def own_ms(self) -> float:
        return self.handler_ms - self.libraries_ms

    @property
    def own_share(self) -> float:
        return self.own_ms / self.libraries_ms


def lambda_environment(spec: FunctionSpec) -> dict[str, str]:
    """What the child sees: a Lambda-like environment, nothing of this process's (so no
    POWERTOOLS_TRACE_DISABLED), the function's variables from template.yaml."""
    keep = ("PATH", "HOME", "LANG", "SYSTEMROOT")
    environment = {name: os.environ[name] for name in keep if name in os.environ}
    environment.update({name: str(value) for name, value in spec.environment.items()})
    environment.update(
        {
            "PYTHONPATH": os.pathsep.join([str(spec.code_uri), str(LAYER)]),
            "LAMBDA_TASK_ROOT": str(spec.code_uri),
            "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
        }
    )
    return environment


def _probe(script: str, environment: Mapping[str, str], cwd: str, *args: str) -> Any:
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", script, *args],
        cwd=cwd,
        env=dict(environment),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"import failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def measure(spec: FunctionSpec, runs: int) -> ColdStart:
    environment = lambda_environment(spec)
    cwd = str(spec.code_uri)
    handler_runs: list[float] = []
    libraries_runs: list[float] = []
    libraries: list[str] = []
    own: list[str] = []
    for _ in range(runs):
        found = _probe(HANDLER_PROBE, environment, cwd)
        handler_runs.append(found["seconds"] * 1000)
        if libraries and set(found["libraries"]) != set(libraries):  # (order may vary)
            raise RuntimeError(f"{spec.logical_id}: the import loaded other libraries")
        libraries, own = found["libraries"], found["own"]
        alone = _probe(LIBRARIES_PROBE, environment, cwd, json.dumps(libraries))
        libraries_runs.append(alone["seconds"] * 1000)
    return ColdStart(
        function=spec.logical_id,
        handler_ms=statistics.median(handler_runs),
        libraries_ms=statistics.median(libraries_runs),
        libraries=libraries,
        own_modules=own,
        handler_runs=handler_runs,
        libraries_runs=libraries_runs,
    )


def _top_level(names: Sequence[str]) -> str:
    roots = sorted({name.split(".")[0] for name in names})
    return ", ".join(roots)


def report(results: Sequence[ColdStart]) -> str:
    table = render_table(
        [
            "function",
            "import app, ms",
            "libraries alone, ms",
            "own modules add, ms",
            "own share",
            "target",
            "modules: libraries / own",
            "boto3 at import",
        ],
        [
            [
                r.function,
                r.handler_ms,
                r.libraries_ms,
                r.own_ms,
                f"{r.own_share:.0%}",
                "met" if r.own_share <= OWN_SHARE_TARGET else "not met",
                f"{len(r.libraries)} / {len(r.own_modules)}",
                "yes" if "boto3" in r.libraries else "no",
            ]
            for r in results
        ],
    )
    spread = render_table(
        ["function", "import app, ms (runs)", "libraries alone, ms (runs)"],
        [
            [
                r.function,
                " ".join(f"{ms:.0f}" for ms in r.handler_runs),
                " ".join(f"{ms:.0f}" for ms in r.libraries_runs),
            ]
            for r in results
        ],
    )
    libraries = "\n".join(f"{r.function}: {_top_level(r.libraries)}" for r in results)
    return "\n\n".join(
        [
            table,
            spread,
            "third-party packages loaded by each import:\n" + libraries,
            f"target: the project's own modules add at most {OWN_SHARE_TARGET:.0%} over the "
            "libraries alone (own share = (import app - libraries) / libraries).",
        ]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="fresh imports of each kind")
    parser.add_argument("--function", action="append", help="only this function (repeatable)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    functions = load_template().functions
    chosen = args.function or list(functions)
    results = []
    for name in chosen:
        progress(f"{name}: {args.runs} runs")
        results.append(measure(functions[name], args.runs))
    print(
        f"bench.cold_start: median of {args.runs} fresh imports each; {code_version()}; "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print()
    print(report(results))
    print()
    print(f"total {time.perf_counter() - started:,.0f} s")
    print(
        json.dumps(
            {
                r.function: {
                    "handler_ms": round(r.handler_ms, 1),
                    "libraries_ms": round(r.libraries_ms, 1),
                    "own_share": round(r.own_share, 3),
                }
                for r in results
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
