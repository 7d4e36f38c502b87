"""The embedded AWS emulation: a moto server, provisioned from template.yaml.

Start one of our own (`Emulation()`), or reuse one that runs already (`Emulation(endpoint=
"http://127.0.0.1:5000")`, e.g. from `bonus emulator`); provisioning is idempotent.
`Emulation(in_process=True)` provisions moto's in-process mock instead (the caller holds
`mock_aws()` open): the integration tests run the same pipeline at a millisecond a call.
"""

import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from bonus_local import moto_speedups
from bonus_local.template import ACCOUNT_ID, REGION, STACK_NAME, Template, load_template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_events import EventBridgeClient
    from mypy_boto3_kms import KMSClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sqs import SQSClient

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_SESSION_TOKEN": "local",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
}


@contextmanager
def in_process_aws() -> Iterator[None]:
    """moto in this process, with the emulation's credentials and no endpoint: every
    client, the functions' included, talks to it at about a millisecond a call."""
    from moto import mock_aws

    from bonus_engine import dependencies

    saved = dict(os.environ)
    os.environ.pop("AWS_ENDPOINT_URL", None)
    os.environ.update(CREDENTIALS)
    os.environ.setdefault("AWS_ACCOUNT_ID_ENDPOINT_MODE", "disabled")
    dependencies.forget()
    try:
        with mock_aws():
            yield
    finally:
        dependencies.forget()
        os.environ.clear()
        os.environ.update(saved)


def dynamodb_client(endpoint: str | None) -> "DynamoDBClient":
    """A DynamoDB client for the commands that read a stack: a running emulation at
    `endpoint`, else AWS with the caller's own credentials and region."""
    if endpoint is None:
        return boto3.client("dynamodb")
    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def rule_name(function_id: str, event_name: str) -> str:
    return f"{function_id}-{event_name}"


def stand_in_queue_name(function_id: str, event_name: str) -> str:
    """EventBridge cannot invoke a local function: a rule's matches go to this queue,
    from which the runner invokes the function as EventBridge would."""
    return f"{STACK_NAME}-{function_id}-{event_name}-target"


class Emulation:
    def __init__(
        self,
        template: Template | None = None,
        endpoint: str | None = None,
        port: int = 0,
        in_process: bool = False,
        speedups: bool | None = None,
    ) -> None:
        self.template = template or load_template()
        # moto's speed-ups (bonus_local.moto_speedups) keep its answers; stock moto is one
        # switch away, so that no test passes only because of a patch.
        self.speedups = (
            os.environ.get("BONUS_MOTO_SPEEDUPS", "1") != "0" if speedups is None else speedups
        )
        self._endpoint = endpoint
        self._port = port
        self.in_process = in_process
        self._server: Any = None
        self.queue_urls: dict[str, str] = {}  # queue name -> URL

    # --- lifecycle ----------------------------------------------------------------------

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        if self._endpoint is None or self.in_process:  # our own moto, in this process
            if self.speedups:
                moto_speedups.install()
            else:
                moto_speedups.uninstall()
        if self._endpoint is None and not self.in_process:
            from moto.server import ThreadedMotoServer

            logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
            self._server = ThreadedMotoServer(
                ip_address="127.0.0.1", port=self._port, verbose=False
            )
            self._server.start()
            host, port = self._server.get_host_and_port()
            self._endpoint = f"http://{host}:{port}"
        self.provision()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def endpoint(self) -> str | None:
        """The server's URL; None in process."""
        return self._endpoint

    # --- clients and function environments ----------------------------------------------

    @property
    def _client_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {
            "region_name": REGION,
            "aws_access_key_id": "local",
            "aws_secret_access_key": "local",
            "config": Config(retries={"mode": "standard", "max_attempts": 3}),
        }
        if self.endpoint is not None:
            options["endpoint_url"] = self.endpoint
        return options

    @property
    def dynamodb(self) -> "DynamoDBClient":
        return boto3.client("dynamodb", **self._client_options)

    @property
    def sqs(self) -> "SQSClient":
        return boto3.client("sqs", **self._client_options)

    @property
    def events(self) -> "EventBridgeClient":
        return boto3.client("events", **self._client_options)

    @property
    def s3(self) -> "S3Client":
        options = self._client_options
        options["config"] = options["config"].merge(Config(s3={"addressing_style": "path"}))
        return boto3.client("s3", **options)

    @property
    def kms(self) -> "KMSClient":
        return boto3.client("kms", **self._client_options)

    def environment(self, function_id: str, program_rules_dir: Path) -> dict[str, str]:
        """The function's environment as template.yaml declares it, pointed at the
        emulation (as `sam local invoke --env-vars` would) and at the given rules."""
        spec = self.template.function(function_id)
        variables = {name: self._fill_queue_urls(value) for name, value in spec.environment.items()}
        variables.update(CREDENTIALS)
        variables.update(
            PROGRAM_RULES_DIR=str(program_rules_dir),
            POWERTOOLS_TRACE_DISABLED="true",
            AWS_LAMBDA_FUNCTION_NAME=function_id,
        )
        if self.endpoint is not None:
            variables["AWS_ENDPOINT_URL"] = self.endpoint
        return variables

    def _fill_queue_urls(self, value: str) -> str:
        for name, url in self.queue_urls.items():
            value = value.replace(f"{{queue-url:{name}}}", url)
        return value

    def queue_url(self, logical_id: str) -> str:
        return self.queue_urls[self.template.queues[logical_id].name]

    def table_name(self, logical_id: str) -> str:
        return self.template.tables[logical_id].name

    def bucket_name(self, logical_id: str) -> str:
        return self.template.buckets[logical_id].name

    @property
    def bus_name(self) -> str:
        (name,) = self.template.buses.values()
        return name

    # --- provisioning, from the template only -------------------------------------------

    def provision(self) -> None:
        self._provision_keys_and_buckets()
        dynamodb, sqs, events = self.dynamodb, self.sqs, self.events
        for table in self.template.tables.values():
            self._create_table(dynamodb, table.name, table.properties)
        # Dead-letter queues first: a redrive policy names an existing queue.
        queues = sorted(
            self.template.queues.values(), key=lambda q: "RedrivePolicy" in q.properties
        )
        for queue in queues:
            self.queue_urls[queue.name] = self._create_queue(sqs, queue.name, queue.properties)
        for bus in self.template.buses.values():
            with suppress(events.exceptions.ResourceAlreadyExistsException):
                events.create_event_bus(Name=bus)
        for rule in self.template.rules.values():
            events.put_rule(
                Name=rule.name, EventBusName=rule.bus, EventPattern=json.dumps(rule.pattern)
            )
            events.put_targets(
                Rule=rule.name,
                EventBusName=rule.bus,
                Targets=[
                    {"Id": f"target-{i}", "Arn": arn} for i, arn in enumerate(rule.queue_arns)
                ],
            )
        for function in self.template.functions.values():
            for event in function.events:
                if event.type != "EventBridgeRule":
                    continue
                target = stand_in_queue_name(function.logical_id, event.name)
                url = self._create_queue(sqs, target, {})
                self.queue_urls[target] = url
                name = rule_name(function.logical_id, event.name)
                bus = event.properties["EventBusName"]
                events.put_rule(
                    Name=name,
                    EventBusName=bus,
                    EventPattern=json.dumps(event.properties["Pattern"]),
                )
                events.put_targets(
                    Rule=name,
                    EventBusName=bus,
                    Targets=[{"Id": "function", "Arn": _queue_arn(target)}],
                )

    def _provision_keys_and_buckets(self) -> None:
        """KMS keys first (a bucket's encryption names one), then each bucket with its
        encryption, versioning, public access block and ownership; idempotent."""
        if not self.template.keys and not self.template.buckets:
            return
        kms, s3 = self.kms, self.s3
        for key in self.template.keys.values():
            try:
                kms.describe_key(KeyId=key.alias)
                continue
            except kms.exceptions.NotFoundException:
                pass
            options: dict[str, Any] = {"Description": key.properties.get("Description", "")}
            if "KeyPolicy" in key.properties:
                options["Policy"] = json.dumps(key.properties["KeyPolicy"])
            key_id = kms.create_key(**options)["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName=key.alias, TargetKeyId=key_id)
            if key.properties.get("EnableKeyRotation"):
                kms.enable_key_rotation(KeyId=key_id)
        for bucket in self.template.buckets.values():
            properties = bucket.properties
            with suppress(s3.exceptions.BucketAlreadyOwnedByYou):
                s3.create_bucket(Bucket=bucket.name)
            encryption = properties.get("BucketEncryption")
            if encryption:
                s3.put_bucket_encryption(
                    Bucket=bucket.name,
                    ServerSideEncryptionConfiguration={
                        "Rules": [
                            {
                                "ApplyServerSideEncryptionByDefault": rule[
                                    "ServerSideEncryptionByDefault"
                                ],
                                "BucketKeyEnabled": rule.get("BucketKeyEnabled", False),
                            }
                            for rule in encryption["ServerSideEncryptionConfiguration"]
                        ]
                    },
                )
            versioning = properties.get("VersioningConfiguration")
            if versioning:
                s3.put_bucket_versioning(
                    Bucket=bucket.name, VersioningConfiguration={"Status": versioning["Status"]}
                )
            public_access = properties.get("PublicAccessBlockConfiguration")
            if public_access:
                s3.put_public_access_block(
                    Bucket=bucket.name, PublicAccessBlockConfiguration=public_access
                )
            ownership = properties.get("OwnershipControls")
            if ownership:
                s3.put_bucket_ownership_controls(Bucket=bucket.name, OwnershipControls=ownership)

    @staticmethod
    def _create_table(client: "DynamoDBClient", name: str, properties: dict[str, Any]) -> None:
        indexes = properties.get("GlobalSecondaryIndexes")
        try:
            client.create_table(
                TableName=name,
                KeySchema=properties["KeySchema"],
                AttributeDefinitions=properties["AttributeDefinitions"],
                BillingMode=properties.get("BillingMode", "PROVISIONED"),
                SSESpecification={"Enabled": properties["SSESpecification"]["SSEEnabled"]},
                **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ResourceInUseException":
                raise
            return
        ttl = properties.get("TimeToLiveSpecification")
        if ttl:
            client.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        recovery = properties.get("PointInTimeRecoverySpecification")
        if recovery:
            client.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification=recovery
            )

    @staticmethod
    def _create_queue(client: "SQSClient", name: str, properties: dict[str, Any]) -> str:
        attributes: dict[Any, str] = {
            key: json.dumps(value)
            if isinstance(value, dict)
            else str(value).lower()
            if isinstance(value, bool)
            else str(value)
            for key, value in properties.items()
        }
        return client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def _queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"


def sam_local_env_vars(template: Template, endpoint: str) -> dict[str, dict[str, str]]:
    """The `--env-vars` file for `sam local invoke`: each function's resource names as
    the emulation at `endpoint` (a moto server) has them, and the endpoint itself."""
    queue_urls = {
        queue.name: f"{endpoint}/{ACCOUNT_ID}/{queue.name}" for queue in template.queues.values()
    }
    files = {}
    for function_id, spec in template.functions.items():
        variables = {}
        for name, value in spec.environment.items():
            for queue_name, url in queue_urls.items():
                value = value.replace(f"{{queue-url:{queue_name}}}", url)
            if name.endswith(("_TABLE_NAME", "_QUEUE_URL", "_BUS_NAME", "_BUCKET_NAME")):
                variables[name] = value
        files[function_id] = {
            **variables,
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
    return files
