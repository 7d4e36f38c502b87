"""template.yaml, read as the local emulation needs it: the resources it declares, with
their intrinsic functions resolved to local names. This is the only description of the
infrastructure; nothing local keeps a second list.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPOSITORY = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPOSITORY / "template.yaml"

STACK_NAME = "creator-bonus"
REGION = "us-east-1"
ACCOUNT_ID = "123456789012"


class TemplateError(ValueError):
    pass


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short-form tags (!Ref, !GetAtt, !Sub...) as their long form."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    name: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class QueueSpec:
    logical_id: str
    name: str
    properties: dict[str, Any]  # with RedrivePolicy's target resolved to a queue ARN


@dataclass(frozen=True)
class BucketSpec:
    logical_id: str
    name: str
    properties: dict[str, Any]  # with the KMS key's !GetAtt resolved to its local ARN


@dataclass(frozen=True)
class KeySpec:
    """A customer-managed KMS key. KMS gives a key a random id, so the emulation names it
    by an alias (`alias`), which KMS and S3 accept wherever a key ARN is."""

    logical_id: str
    alias: str
    arn: str  # the alias's ARN: what `!GetAtt <key>.Arn` resolves to locally
    properties: dict[str, Any]


@dataclass(frozen=True)
class RuleSpec:
    """An EventBridge rule of its own (`AWS::Events::Rule`), whose targets are queues."""

    logical_id: str
    name: str
    bus: str
    pattern: dict[str, Any]
    queue_arns: list[str]


@dataclass(frozen=True)
class EventSpec:
    """One of a function's `Events`: SQS, EventBridgeRule or Schedule."""

    name: str
    type: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str
    environment: dict[str, str]
    timeout: int
    memory_size: int
    events: list[EventSpec]
    ephemeral_storage_mb: int = 512  # /tmp, Lambda's default
    event_invoke_config: dict[str, Any] = field(default_factory=dict)
    policy_statements: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Template:
    tables: dict[str, TableSpec]
    queues: dict[str, QueueSpec]
    buses: dict[str, str]  # logical id -> bus name
    functions: dict[str, FunctionSpec]
    buckets: dict[str, BucketSpec] = field(default_factory=dict)
    keys: dict[str, KeySpec] = field(default_factory=dict)
    rules: dict[str, RuleSpec] = field(default_factory=dict)

    def function(self, logical_id: str) -> FunctionSpec:
        return self.functions[logical_id]

    def queue_for_arn(self, arn: str) -> QueueSpec:
        name = arn.rsplit(":", 1)[-1]
        return next(queue for queue in self.queues.values() if queue.name == name)


def load_template(path: Path = TEMPLATE_PATH) -> Template:
    document = yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 (a SafeLoader)
    resources: dict[str, Any] = document["Resources"]
    parameters = {
        name: str(spec.get("Default", "")) for name, spec in document.get("Parameters", {}).items()
    }
    resolver = _Resolver(resources, parameters)
    globals_ = document.get("Globals", {}).get("Function", {})

    tables, queues, buses, functions = {}, {}, {}, {}
    buckets: dict[str, BucketSpec] = {}
    keys: dict[str, KeySpec] = {}
    rules: dict[str, RuleSpec] = {}
    for logical_id, resource in resources.items():
        kind = resource["Type"]
        properties = resource.get("Properties", {})
        if kind == "AWS::DynamoDB::Table":
            tables[logical_id] = TableSpec(logical_id, resolver.name(logical_id), properties)
        elif kind == "AWS::SQS::Queue":
            queues[logical_id] = QueueSpec(
                logical_id, resolver.name(logical_id), resolver.resolve(properties)
            )
        elif kind == "AWS::Events::EventBus":
            buses[logical_id] = resolver.name(logical_id)
        elif kind == "AWS::Serverless::Function":
            functions[logical_id] = _function(logical_id, properties, globals_, resolver, path)
        elif kind == "AWS::S3::Bucket":
            buckets[logical_id] = BucketSpec(
                logical_id, resolver.name(logical_id), resolver.resolve(properties)
            )
        elif kind == "AWS::KMS::Key":
            keys[logical_id] = KeySpec(
                logical_id,
                resolver.ref(logical_id),
                resolver.get_att(logical_id, "Arn"),
                resolver.resolve(properties),
            )
        elif kind == "AWS::Events::Rule":
            rules[logical_id] = _rule(logical_id, resolver.resolve(properties), resolver, path)
        elif kind not in _NOT_EMULATED and kind != "AWS::Lambda::EventSourceMapping":
            raise TemplateError(f"{path.name}: {logical_id}: no local emulation for {kind}")
    for logical_id, resource in resources.items():
        if resource["Type"] == "AWS::Lambda::EventSourceMapping":
            function_id, event = _event_source_mapping(logical_id, resource, resolver)
            functions[function_id].events.append(event)
    return Template(tables, queues, buses, functions, buckets, keys, rules)


def _rule(
    logical_id: str, properties: dict[str, Any], resolver: "_Resolver", path: Path
) -> RuleSpec:
    targets = [target["Arn"] for target in properties.get("Targets", [])]
    if not all(arn.startswith("arn:aws:sqs:") for arn in targets):
        raise TemplateError(f"{path.name}: {logical_id}: only queues are emulated as targets")
    return RuleSpec(
        logical_id,
        resolver.name(logical_id),
        properties["EventBusName"],
        properties["EventPattern"],
        targets,
    )


def _event_source_mapping(
    logical_id: str, resource: dict[str, Any], resolver: "_Resolver"
) -> tuple[str, EventSpec]:
    """An SQS event source mapping, as the function's `SQS` event it stands for."""
    properties = dict(resource["Properties"])
    function = properties.pop("FunctionName")
    if not isinstance(function, dict) or set(function) != {"Ref"}:
        raise TemplateError(f"{logical_id}: FunctionName must be !Ref of a function")
    properties["Queue"] = properties.pop("EventSourceArn")
    return function["Ref"], EventSpec(logical_id, "SQS", resolver.resolve(properties))


# Resources that change nothing in the emulation: layers (the package is installed in
# .venv; the rules directory is given to the functions), policies and alarms; the HTTP
# API and its access logs (`bonus api` serves the routes and checks the token itself,
# and the functions' HttpApi events are not delivered by the emulation).
_NOT_EMULATED = {
    "AWS::Serverless::LayerVersion",
    "AWS::SQS::QueuePolicy",
    "AWS::CloudWatch::Alarm",
    "AWS::Serverless::HttpApi",
    "AWS::Logs::LogGroup",
    "AWS::S3::BucketPolicy",  # moto does not enforce bucket policies (TLS only)
}


def _function(
    logical_id: str,
    properties: dict[str, Any],
    globals_: dict[str, Any],
    resolver: "_Resolver",
    path: Path,
) -> FunctionSpec:
    environment = {
        **globals_.get("Environment", {}).get("Variables", {}),
        **properties.get("Environment", {}).get("Variables", {}),
    }
    events = [
        EventSpec(name, event["Type"], resolver.resolve(event.get("Properties", {})))
        for name, event in properties.get("Events", {}).items()
    ]
    return FunctionSpec(
        logical_id=logical_id,
        code_uri=path.parent / properties["CodeUri"],
        handler=properties.get("Handler", globals_.get("Handler", "app.handler")),
        environment={k: str(v) for k, v in resolver.resolve(environment).items()},
        timeout=int(properties.get("Timeout", globals_.get("Timeout", 3))),
        memory_size=int(properties.get("MemorySize", globals_.get("MemorySize", 128))),
        events=events,
        ephemeral_storage_mb=int(
            properties.get("EphemeralStorage", globals_.get("EphemeralStorage", {})).get(
                "Size", 512
            )
        ),
        event_invoke_config=resolver.resolve(properties.get("EventInvokeConfig", {})),
        policy_statements=[
            statement
            for policy in resolver.resolve(properties.get("Policies", []))
            for statement in policy.get("Statement", [])
        ],
    )


class _Resolver:
    """Resolves Ref, Fn::GetAtt and Fn::Sub to the names the emulation gives resources."""

    def __init__(self, resources: dict[str, Any], parameters: dict[str, str]) -> None:
        self.resources = resources
        self.parameters = parameters

    def name(self, logical_id: str) -> str:
        resource = self.resources[logical_id]
        if resource["Type"] == "AWS::Events::EventBus":
            return str(self.resolve(resource["Properties"]["Name"]))
        if resource["Type"] == "AWS::S3::Bucket":
            return f"{STACK_NAME}-{logical_id}".lower()  # S3 names are lower-case
        return f"{STACK_NAME}-{logical_id}"

    def ref(self, target: str) -> str:
        pseudo = {
            "AWS::StackName": STACK_NAME,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
        }
        if target in pseudo:
            return pseudo[target]
        if target in self.parameters:
            return self.parameters[target]
        kind = self.resources[target]["Type"]
        if kind == "AWS::SQS::Queue":
            return f"{{queue-url:{self.name(target)}}}"  # filled in once the queue exists
        if kind == "AWS::KMS::Key":
            return f"alias/{self.name(target)}"  # KMS accepts an alias wherever a key id
        return self.name(target)

    def get_att(self, target: str, attribute: str) -> str:
        kind = self.resources[target]["Type"]
        name = self.name(target)
        if kind == "AWS::SQS::Queue" and attribute == "Arn":
            return f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{name}"
        if kind == "AWS::SQS::Queue" and attribute == "QueueName":
            return name
        if kind == "AWS::DynamoDB::Table" and attribute == "Arn":
            return f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{name}"
        if kind == "AWS::S3::Bucket" and attribute == "Arn":
            return f"arn:aws:s3:::{name}"
        if kind == "AWS::KMS::Key" and attribute == "Arn":
            return f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:{self.ref(target)}"
        if kind == "AWS::Events::EventBus" and attribute in ("Arn", "Name"):
            return f"arn:aws:events:{REGION}:{ACCOUNT_ID}:event-bus/{name}"
        raise TemplateError(f"no local value for !GetAtt {target}.{attribute}")

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"Ref"}:
                return self.ref(value["Ref"])
            if set(value) == {"Fn::GetAtt"}:
                target, attribute = value["Fn::GetAtt"]
                return self.get_att(target, attribute)
            if set(value) == {"Fn::Sub"}:
                return re.sub(
                    r"\$\{([^}]+)\}",
                    lambda m: (
                        self.get_att(*m.group(1).split(".", 1))
                        if "." in m.group(1) and not m.group(1).startswith("AWS::")
                        else self.ref(m.group(1))
                    ),
                    value["Fn::Sub"],
                )
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value
