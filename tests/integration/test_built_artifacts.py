"""What `sam build` produced imports and runs on its own: each function's code with the
layer's packages, not the development environment's."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bonus_local.template import load_template

REPOSITORY = Path(__file__).resolve().parents[2]
BUILD = REPOSITORY / ".aws-sam" / "build"

pytestmark = pytest.mark.built

SMOKE = """
import json, sys
layer, function, event_file = sys.argv[1:4]
sys.path[:0] = [function, layer]  # as Lambda orders them: the function, then /opt/python
import app
for name in ("bonus_engine", "pydantic", "yaml", "aws_lambda_powertools", "boto3", "botocore"):
    module = sys.modules[name] if name in sys.modules else __import__(name)
    assert module.__file__.startswith(layer), f"{name} came from {module.__file__}"

from moto import mock_aws
from bonus_local.emulator import Emulation
from bonus_local.lambda_runtime import LambdaContext
with mock_aws(), Emulation(in_process=True):
    context = LambdaContext("IngestEngagementFunction", 512, 30, "request-1")
    print(json.dumps(app.handler(json.load(open(event_file)), context)))
"""


@pytest.fixture(scope="module")
def build() -> Path:
    if not (BUILD / "template.yaml").exists():
        if os.environ.get("REQUIRE_SAM_BUILD"):
            pytest.fail("no .aws-sam/build: `make build` runs sam build")
        pytest.skip("no .aws-sam/build (make test builds it; or run `make build`)")
    return BUILD


def test_the_built_ingestion_function_runs_on_the_built_layer_alone(build: Path) -> None:
    env = {
        **os.environ,
        # the function's environment as template.yaml declares it (tables, retention...)
        **load_template().function("IngestEngagementFunction").environment,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        "POWERTOOLS_METRICS_NAMESPACE": "CreatorBonus",
        "POWERTOOLS_TRACE_DISABLED": "true",
    }
    env.pop("AWS_ENDPOINT_URL", None)
    result = subprocess.run(  # noqa: S603 - our own interpreter and files
        [
            sys.executable,
            "-c",
            SMOKE,
            str(build / "BonusEngineLayer" / "python"),
            str(build / "IngestEngagementFunction"),
            str(REPOSITORY / "events" / "ingest-mixed-batch.json"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPOSITORY,
        check=False,
        timeout=120,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"batchItemFailures": []}


def test_the_rules_layer_puts_the_programs_where_the_functions_read_them(build: Path) -> None:
    built = (build / "template.yaml").read_text()
    # A layer without a build method is deployed from its source folder: /opt/programs.
    assert "ContentUri: ../../layers/program_rules" in built
    assert (REPOSITORY / "layers" / "program_rules" / "programs" / "spring-bonus.yaml").exists()
