"""template.yaml: what cfn-lint and `sam validate` do not check, and least privilege
checked against what the functions actually call."""

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from bonus_local.emulator import sam_local_env_vars
from bonus_local.pipeline import COMPUTE_QUEUE, ENGAGEMENT_QUEUE, LocalPipeline
from bonus_local.template import ACCOUNT_ID, REGION, _CfnLoader, load_template

REPOSITORY = Path(__file__).resolve().parents[2]
TEMPLATE = yaml.load((REPOSITORY / "template.yaml").read_text(), Loader=_CfnLoader)  # noqa: S506
RESOURCES = TEMPLATE["Resources"]
FUNCTIONS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
QUEUES = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::SQS::Queue"}
TABLES = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::DynamoDB::Table"}
MAPPINGS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Lambda::EventSourceMapping"}


def test_every_function_runs_on_a_runtime_sam_can_build_here() -> None:
    assert TEMPLATE["Globals"]["Function"]["Runtime"] == "python3.11"
    assert all("Runtime" not in f["Properties"] for f in FUNCTIONS.values())


def test_every_sqs_event_source_reports_partial_batch_failures() -> None:
    assert len(MAPPINGS) == 3  # engagement, facts, shard tasks
    for mapping in MAPPINGS.values():
        source = mapping["Properties"]
        assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert 2 <= source["ScalingConfig"]["MaximumConcurrency"] <= 1000  # what AWS accepts


def test_no_function_gets_sams_sqs_policy_on_every_queue() -> None:
    # A SAM `SQS` event attaches AWSLambdaSQSQueueExecutionRole (Receive/Delete on "*");
    # the queues are mapped explicitly and each function may poll its own queue only.
    for name, function in FUNCTIONS.items():
        events = function["Properties"].get("Events", {}).values()
        assert all(event["Type"] != "SQS" for event in events), name
    for mapping in MAPPINGS.values():
        function = FUNCTIONS[mapping["Properties"]["FunctionName"]["Ref"]]
        queue = mapping["Properties"]["EventSourceArn"]
        polls = [
            statement
            for policy in function["Properties"]["Policies"]
            for statement in policy["Statement"]
            if any(action.startswith("sqs:Receive") for action in statement["Action"])
        ]
        assert polls == [
            {
                "Sid": polls[0]["Sid"],
                "Effect": "Allow",
                "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
                "Resource": queue,
            }
        ]


def test_a_queue_lets_its_function_run_six_times_before_a_message_reappears() -> None:
    for mapping in MAPPINGS.values():
        function = FUNCTIONS[mapping["Properties"]["FunctionName"]["Ref"]]
        queue = QUEUES[mapping["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]]
        timeout = function["Properties"]["Timeout"]
        assert queue["Properties"]["VisibilityTimeout"] >= 6 * timeout


def test_every_queue_is_encrypted_and_every_work_queue_has_a_dead_letter_queue() -> None:
    for name, queue in QUEUES.items():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
        if "DeadLetter" not in name:
            redrive = queue["Properties"]["RedrivePolicy"]
            assert 2 <= redrive["maxReceiveCount"] <= 10
            assert redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] in QUEUES


def test_every_table_is_on_demand_encrypted_recoverable_and_kept() -> None:
    for table in TABLES.values():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["SSESpecification"] == {"SSEEnabled": True}
        assert properties["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }
        assert properties["TimeToLiveSpecification"] == {
            "AttributeName": "expires_at",
            "Enabled": True,
        }
        assert table["DeletionPolicy"] == "Retain"


def test_facts_and_runs_are_never_silently_lost_by_their_rules() -> None:
    # Runs: the coordinator is the rule's target; a failed invocation is retried, then kept.
    function = FUNCTIONS["StartBonusRunsFunction"]["Properties"]
    assert function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
    for event in function["Events"].values():
        if event["Type"] == "EventBridgeRule":
            assert event["Properties"]["RetryPolicy"]["MaximumRetryAttempts"] > 0
            assert "Arn" in event["Properties"]["DeadLetterConfig"]
    # Facts: the rule puts them on a queue that redrives to the facts dead-letter queue,
    # which also keeps what the rule could not deliver.
    rule = RESOURCES["CreatorFactsRule"]["Properties"]
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["FactsQueue", "Arn"]}
    assert target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    assert target["DeadLetterConfig"]["Arn"] == {"Fn::GetAtt": ["FactsDeadLetterQueue", "Arn"]}
    redrive = RESOURCES["FactsQueue"]["Properties"]["RedrivePolicy"]
    assert redrive["deadLetterTargetArn"] == {"Fn::GetAtt": ["FactsDeadLetterQueue", "Arn"]}
    mapping = RESOURCES["CreatorFactMessages"]["Properties"]
    assert mapping["FunctionName"] == {"Ref": "CheckEligibilityFunction"}
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_no_policy_grants_a_wildcard_action_or_resource() -> None:
    for function in FUNCTIONS.values():
        for policy in function["Properties"]["Policies"]:
            for statement in policy["Statement"]:
                assert all("*" not in action for action in statement["Action"])
                resources = statement["Resource"]
                for resource in resources if isinstance(resources, list) else [resources]:
                    assert resource != "*"


def test_the_pipeline_feeds_resources_the_template_declares() -> None:
    template = load_template()
    assert {ENGAGEMENT_QUEUE, COMPUTE_QUEUE} <= set(template.queues)


def test_the_sam_local_env_vars_file_matches_the_template() -> None:
    committed = json.loads((REPOSITORY / "events" / "sam-local-env.json").read_text())

    assert committed == sam_local_env_vars(load_template(), "http://host.docker.internal:5000")


def test_the_layer_pins_the_same_runtime_dependencies_as_the_project() -> None:
    layer = (REPOSITORY / "layers" / "bonus_engine" / "requirements.txt").read_text().split()
    project = (REPOSITORY / "pyproject.toml").read_text()
    for requirement in layer:
        assert f'"{requirement}"' in project


# --- least privilege, observed --------------------------------------------------------------


class CallRecorder:
    """Records (function, IAM action, resource ARN) for every AWS call a function makes."""

    def __init__(self) -> None:
        self.calls: set[tuple[str, str, str]] = set()
        self.put_events: set[tuple[str, str, str]] = set()  # function, source, detail-type

    def __call__(self, model: Any, params: dict[str, Any], **_: Any) -> None:
        import os

        function = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        if function is None:
            return  # the test's own calls, not a function's
        service = model.service_model.service_name
        for action, resource in _actions(service, model.name, params):
            self.calls.add((function, action, resource))
        if service == "events" and model.name == "PutEvents":
            for entry in params["Entries"]:
                self.put_events.add((function, entry["Source"], entry["DetailType"]))


def _actions(service: str, operation: str, params: dict[str, Any]) -> Iterator[tuple[str, str]]:
    table_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{{}}"
    if service == "dynamodb":
        if operation == "TransactWriteItems":
            for item in params["TransactItems"]:
                ((kind, body),) = item.items()
                name = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem"}
                yield (
                    f"dynamodb:{name.get(kind, kind + 'Item')}",
                    table_arn.format(body["TableName"]),
                )
        elif "RequestItems" in params:
            for table in params["RequestItems"]:
                yield f"dynamodb:{operation}", table_arn.format(table)
        elif "IndexName" in params:
            index = f"{params['TableName']}/index/{params['IndexName']}"
            yield f"dynamodb:{operation}", table_arn.format(index)
        else:
            yield f"dynamodb:{operation}", table_arn.format(params["TableName"])
    elif service == "sqs":
        action = re.sub("Batch$", "", operation)
        queue = params["QueueUrl"].rsplit("/", 1)[-1]
        yield f"sqs:{action}", f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue}"
    elif service == "s3":
        bucket = params["Bucket"]
        if operation in ("PutObject", "GetObject"):
            prefix = params["Key"].split("/", 1)[0]
            yield f"s3:{operation}", f"arn:aws:s3:::{bucket}/{prefix}/*"
            # S3 asks KMS on the caller's behalf: the caller needs these on the bucket's key
            kms = "kms:GenerateDataKey" if operation == "PutObject" else "kms:Decrypt"
            yield kms, _bucket_key_arn()
        elif operation == "ListObjectsV2":
            yield "s3:ListBucket", f"arn:aws:s3:::{bucket}"
        else:
            yield f"s3:{operation}", f"arn:aws:s3:::{bucket}"
    elif service == "events":
        for entry in params["Entries"]:
            yield (
                f"events:{operation}",
                f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/{entry['EventBusName']}",
            )


def _bucket_key_arn() -> str:
    """The KMS key the payout bucket encrypts with, as the emulation names it."""
    bucket = RESOURCES["PayoutExportBucket"]["Properties"]["BucketEncryption"]
    (rule,) = bucket["ServerSideEncryptionConfiguration"]
    key = rule["ServerSideEncryptionByDefault"]["KMSMasterKeyID"]["Fn::GetAtt"][0]
    template = load_template()
    resolved: str = template.keys[key].arn
    return resolved


def _granted(function: str) -> set[tuple[str, str, str]]:
    """What the function's policy grants, less the polling of its mapped queue (Lambda's
    event source mapping makes those calls, not the function's code)."""
    spec = load_template().function(function)
    granted = set()
    for statement in spec.policy_statements:
        if statement.get("Sid", "").startswith("Poll"):
            continue
        resources = statement["Resource"]
        for resource in resources if isinstance(resources, list) else [resources]:
            granted |= {(function, action, resource) for action in statement["Action"]}
    return granted


def test_each_function_is_granted_exactly_what_it_calls(
    pipeline: LocalPipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = CallRecorder()
    boto3.setup_default_session()
    session = boto3.DEFAULT_SESSION
    assert session is not None
    session.events.register("before-parameter-build", recorder)
    from bonus_engine import dependencies

    dependencies.forget()  # the functions' clients come from the recording session
    small = REPOSITORY / "examples" / "small"

    # Every path: facts (one malformed, all late enough to mark closed months), engagement
    # (with rejections), the hourly run, a late event, and the run that recomputes.
    pipeline.put_facts(
        [json.loads(line) for line in (small / "facts.jsonl").read_text().splitlines()]
    )
    pipeline.send_engagement((small / "engagement.jsonl").read_text().splitlines())
    pipeline.fire_schedule(datetime(2026, 4, 3, 1, tzinfo=UTC))
    pipeline.send_engagement(
        [(small / "engagement.jsonl").read_text().splitlines()[3].replace("b-1-v", "b-late")]
    )
    pipeline.fire_schedule(datetime(2026, 4, 3, 2, tzinfo=UTC))
    call_every_api_route(pipeline)

    for function in load_template().functions:
        used = {call for call in recorder.calls if call[0] == function}
        granted = _granted(function)
        assert used - granted == set(), f"{function} calls what it is not granted"
        assert granted - used == set(), f"{function} is granted what it never calls"
        allowed = _allowed_events(function)
        puts = {
            (source, kind) for caller, source, kind in recorder.put_events if caller == function
        }
        assert puts <= allowed, f"{function} puts events its policy's conditions refuse"
        assert allowed <= puts, f"{function} may put events it never puts"


def call_every_api_route(pipeline: LocalPipeline) -> None:
    """Each route of the creator API once, as a creator and as an operator."""
    from bonus_local.api_server import API_FUNCTION, api_routes, http_api_event, match_route

    creator = {"sub": "alice"}
    operator = {"sub": "ops", "scope": "bonus/operate"}
    base = "/programs/spring-bonus"
    mine = "/creators/alice/programs/spring-bonus"
    calls = [
        ("GET", f"{base}/criteria", creator, None),
        ("GET", f"{mine}/eligibility", creator, None),
        ("GET", f"{mine}/periods/2026-03/progress", creator, None),
        ("GET", f"{mine}/periods/2026-03/statement", creator, None),
        ("GET", f"{base}/periods/2026-03/summary", operator, None),
        ("GET", f"{base}/periods/2026-03/rejections", operator, None),
        ("POST", f"{base}/periods/2026-03/compute", operator, '{"dry_run": true}'),
    ]
    routes = api_routes(pipeline.emulation.template)
    for method, path, claims, body in calls:
        found = match_route(routes, method, path)
        assert found is not None, path
        route, parameters = found
        event = http_api_event(method, path, route.key, parameters, {}, {}, body, claims)
        response = pipeline.functions[API_FUNCTION].invoke(event)
        assert response["statusCode"] in (200, 202), (path, response)


def _allowed_events(function: str) -> set[tuple[str, str]]:
    """(source, detail-type) pairs the PutEvents conditions of the function allow."""
    allowed = set()
    for statement in load_template().function(function).policy_statements:
        if "events:PutEvents" not in statement["Action"]:
            continue
        condition = statement["Condition"]["StringEquals"]
        kinds = condition["events:detail-type"]
        for kind in kinds if isinstance(kinds, list) else [kinds]:
            allowed.add((condition["events:source"], kind))
    return allowed


def test_no_function_may_put_creator_facts_or_compute_requests_but_the_api() -> None:
    for function in load_template().functions:
        for source, kind in _allowed_events(function):
            assert source == "creator-bonus", function
            if kind == "ComputeBonusesRequested":
                assert function == "CreatorApiFunction"
