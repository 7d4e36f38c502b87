"""Fixtures shared by every test layer.

- unit tests use the rules and builders below, and no AWS at all;
- integration tests get `aws` (moto in process), `emulation` (every resource of
  template.yaml, provisioned from it) and `pipeline` (the four functions wired as AWS
  wires them);
- e2e tests run `bonus replay` against the moto server.

Tests are marked by the folder they live in (unit, integration, e2e).
"""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto import mock_aws

from bonus_engine import dependencies
from bonus_local.emulator import Emulation
from bonus_local.pipeline import LocalPipeline

REPOSITORY = Path(__file__).resolve().parents[1]
PROGRAMS_DIR = REPOSITORY / "layers" / "program_rules" / "programs"
EVENTS_DIR = REPOSITORY / "events"
EXAMPLES_DIR = REPOSITORY / "examples"

# Powertools: no EMF namespace needed, no X-Ray daemon, quiet logs.
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "CreatorBonusTests")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")
# boto3 1.44 with in-process moto: see docs/LOCAL.md.
os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        layer = Path(str(item.fspath)).relative_to(REPOSITORY / "tests").parts[0]
        if layer in ("unit", "integration", "e2e"):
            item.add_marker(getattr(pytest.mark, layer))


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in process, with fake credentials and no endpoint override."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    dependencies.forget()
    with mock_aws():
        yield
    dependencies.forget()


@pytest.fixture
def emulation(aws: None, request: pytest.FixtureRequest) -> Iterator[Emulation]:
    """Every resource of template.yaml on moto in process, with the emulation's moto
    speed-ups; a test parametrized with `emulation=["stock"]` (indirect) runs on stock
    moto, so that no guarantee holds only because of a patch."""
    speedups = getattr(request, "param", "patched") != "stock"
    with Emulation(in_process=True, speedups=speedups) as provisioned:
        yield provisioned


@pytest.fixture
def pipeline(emulation: Emulation) -> LocalPipeline:
    return LocalPipeline(emulation, PROGRAMS_DIR)
