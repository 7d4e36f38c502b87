"""The emulation's moto speed-ups (bonus_local/moto_speedups.py) answer as stock moto:
queries with a sort-key condition, rule deliveries, item sizes, signed requests."""

import json
import random
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError, NoCredentialsError
from integration_support import create_keyed_table
from moto.core.models import botocore_stubber
from moto.core.responses import BaseResponse

from bonus_local import moto_speedups


@pytest.fixture(autouse=True)
def _speedups_installed() -> Iterator[None]:
    moto_speedups.install()
    yield
    moto_speedups.install()


def stock_then_patched(read: Callable[[], Any]) -> tuple[Any, Any]:
    moto_speedups.uninstall()
    try:
        stock = read()
    finally:
        moto_speedups.install()
    return stock, read()


def _pages(client: Any, **query: Any) -> list[dict[str, Any]]:
    """Every page of a query, with the keys moto answered (Items, Count, ScannedCount,
    LastEvaluatedKey)."""
    pages = []
    while True:
        response = client.query(TableName="q", **query)
        pages.append({k: v for k, v in response.items() if k != "ResponseMetadata"})
        if "LastEvaluatedKey" not in response:
            return pages
        query["ExclusiveStartKey"] = response["LastEvaluatedKey"]


def test_queries_with_a_sort_key_condition_answer_as_stock_moto(aws: None) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    create_keyed_table(client, "q")
    rng = random.Random(11)
    for n in range(400):
        # P0: small items; P1: items so large that a run of them nears a page (the
        # whole partition goes to moto); a few items that sort between the runs.
        partition = f"P{n % 2}"
        pad = "x" * (60_000 if partition == "P1" and n % 5 == 0 else rng.randint(10, 300))
        every_type = {
            "blob": {"B": bytes([n % 256, 0, 255])},
            "map": {"M": {"list": {"L": [{"N": str(n)}, {"S": "x"}, {"BOOL": False}]}}},
            "strings": {"SS": ["a", f"b{n}"]},
            "numbers": {"NS": ["1", "2.5"]},
            "flag": {"BOOL": True},
            "nothing": {"NULL": True},
        }
        client.put_item(
            TableName="q",
            Item={
                "pk": {"S": partition},
                "sk": {"S": f"{rng.choice('abcd')}#{n:04d}"},
                "pad": {"S": pad},
                "n": {"N": str(n)},
                **(every_type if n % 7 == 0 else {}),
            },
        )

    def condition(expression: str, **values: str) -> dict[str, Any]:
        return {
            "KeyConditionExpression": expression,
            "ExpressionAttributeValues": {
                ":pk": {"S": "P0"},
                **{f":{name}": {"S": value} for name, value in values.items()},
            },
        }

    queries = []
    for partition in ("P0", "P1"):
        for query in (
            condition("pk = :pk AND begins_with(sk, :p)", p="b#"),
            condition("pk = :pk AND begins_with(sk, :p)", p="z#"),
            condition("pk = :pk AND sk BETWEEN :a AND :b", a="b#0100", b="c#0300"),
            condition("pk = :pk AND sk > :a", a="c#0200"),
            condition("pk = :pk AND sk <= :a", a="b#0200"),
            condition("pk = :pk AND sk = :a", a="a#0000"),
        ):
            query["ExpressionAttributeValues"][":pk"] = {"S": partition}
            queries += [
                query,
                {**query, "Limit": 1},
                {**query, "Limit": 7, "ScanIndexForward": False},
                {**query, "ConsistentRead": True, "ReturnConsumedCapacity": "TOTAL"},
            ]

    stock, patched = stock_then_patched(lambda: [_pages(client, **dict(q)) for q in queries])

    assert patched == stock
    assert any(len(pages) > 2 for pages in stock)  # pages cut by the limit and by size


def test_a_rule_delivers_the_event_stock_moto_delivers(aws: None) -> None:
    events = boto3.client("events", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.create_queue(QueueName="target")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    events.put_rule(Name="r", EventPattern=json.dumps({"source": ["creators"]}))
    events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn["QueueArn"]}])

    def deliver() -> dict[str, Any]:
        detail = {"creator_id": "ana", "nested": {"list": [1, "two", None]}, "n": 1.5}
        events.put_events(
            Entries=[{"Source": "creators", "DetailType": "T", "Detail": json.dumps(detail)}]
        )
        (message,) = sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        assert len(message["ReceiptHandle"]) == 185
        body: dict[str, Any] = json.loads(message["Body"])
        return {k: v for k, v in body.items() if k not in ("id", "time")}

    stock, patched = stock_then_patched(deliver)

    assert patched == stock
    assert patched["detail"]["nested"] == {"list": [1, "two", None]}


def test_a_condition_seen_before_is_judged_on_its_own_values_as_stock_moto(aws: None) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    tables = iter(["stock", "patched"])

    def judge() -> list[Any]:
        table = next(tables)
        create_keyed_table(client, table)
        outcomes: list[Any] = []

        def attempt(write: Callable[[], Any]) -> None:
            try:
                write()
                outcomes.append("written")
            except client.exceptions.ConditionalCheckFailedException:
                outcomes.append("refused")
            except client.exceptions.TransactionCanceledException as error:
                reasons = error.response["CancellationReasons"]
                outcomes.append([reason["Code"] for reason in reasons])

        def put(version: int | None, sk: str = "d") -> dict[str, Any]:
            item = {"pk": {"S": "P"}, "sk": {"S": sk}, "version": {"N": str((version or 0) + 1)}}
            if version is None:
                return {
                    "TableName": table,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            return {
                "TableName": table,
                "Item": item,
                "ConditionExpression": "#v = :v",
                "ExpressionAttributeNames": {"#v": "version"},
                "ExpressionAttributeValues": {":v": {"N": str(version)}},
            }

        for version in (None, None, 1, 1, 2, 5, 2):  # the same two texts, values changing
            attempt(lambda version=version: client.put_item(**put(version)))
        attempt(lambda: client.put_item(**put(None, "e")))
        for first, second in ((4, 1), (3, 1)):  # one condition fails, then none
            attempt(
                lambda first=first, second=second: client.transact_write_items(
                    TransactItems=[{"Put": put(first)}, {"Put": put(second, "e")}]
                )
            )
        for least in (2, 4):
            response = client.query(
                TableName=table,
                KeyConditionExpression="pk = :p",
                FilterExpression="#v >= :least",
                ExpressionAttributeNames={"#v": "version"},
                ExpressionAttributeValues={":p": {"S": "P"}, ":least": {"N": str(least)}},
            )
            outcomes.append(sorted(item["sk"]["S"] for item in response["Items"]))
        return outcomes

    stock, patched = stock_then_patched(judge)

    assert patched == stock
    assert stock[:8] == [
        "written",
        "refused",
        "written",
        "refused",
        "written",
        "refused",
        "refused",
        "written",
    ]
    assert stock[8:] == [["ConditionalCheckFailed", "None"], "written", ["d", "e"], ["d"]]


def test_a_queue_counts_its_messages_as_stock_moto(aws: None) -> None:
    sqs = boto3.client("sqs", region_name="us-east-1")
    queues = iter(["counted-stock", "counted-patched"])

    def count() -> dict[str, str]:
        url = sqs.create_queue(QueueName=next(queues))["QueueUrl"]
        for n in range(5):
            sqs.send_message(QueueUrl=url, MessageBody=f"ready {n}")
        sqs.send_message(QueueUrl=url, MessageBody="delayed", DelaySeconds=900)
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=900)
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])
        names = (
            "ApproximateNumberOf" + kind
            for kind in ("Messages", "MessagesNotVisible", "MessagesDelayed")
        )
        return {name: attributes["Attributes"][name] for name in names}

    stock, patched = stock_then_patched(count)

    assert (
        patched
        == stock
        == {
            "ApproximateNumberOfMessages": "3",
            "ApproximateNumberOfMessagesNotVisible": "2",
            "ApproximateNumberOfMessagesDelayed": "1",
        }
    )


@pytest.mark.parametrize("pad", [404_000, 406_000])
def test_items_near_the_size_limit_are_taken_or_refused_as_stock_moto(aws: None, pad: int) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    create_keyed_table(client, "q")

    def put(sk: str) -> str:
        try:
            client.put_item(
                TableName="q",
                Item={"pk": {"S": "P"}, "sk": {"S": sk}, "a": {"N": "1"}, "pad": {"S": "x" * pad}},
            )
        except client.exceptions.ClientError as error:
            return str(error.response["Error"])
        return "stored"

    stock, patched = stock_then_patched(lambda: put(f"s{random.random()}"))

    assert patched == stock


def test_requests_still_name_their_access_key_and_region(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Signed by botocore or not (a call answered directly carries an unsigned
    Authorization header), moto reads the same access key, account and region."""
    access_key = "AKIAIOSFODNN7EXAMPLE"  # the shape moto reads a key of
    client = boto3.client(
        "dynamodb", region_name="eu-west-1", aws_access_key_id=access_key, aws_secret_access_key="x"
    )
    seen: list[tuple[str, str, str]] = []
    setup_class = BaseResponse.setup_class

    def recording(self: BaseResponse, *args: Any, **kwargs: Any) -> None:
        setup_class(self, *args, **kwargs)
        seen.append((self.get_access_key(), self.current_account, self.region))

    monkeypatch.setattr(BaseResponse, "setup_class", recording)

    stock, patched = stock_then_patched(lambda: client.list_tables()["TableNames"])

    assert patched == stock
    assert seen == [(access_key, "123456789012", "eu-west-1")] * 2


def _answer(call: Callable[[], Any]) -> Any:
    """What a caller sees of a call: its response, or its error's code, message and
    response fields (request ids and dates aside)."""
    try:
        response = call()
    except ClientError as error:
        fields = {k: v for k, v in error.response.items() if k != "ResponseMetadata"}
        return type(error).__name__, str(error), fields
    return _without_ids({k: v for k, v in response.items() if k != "ResponseMetadata"})


def _without_ids(value: Any) -> Any:
    """A response without the ids moto draws at random for each message and event."""
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k not in ("MessageId", "EventId")}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


def test_calls_answered_directly_answer_as_stock_moto_answers(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    events = boto3.client("events", region_name="us-east-1")
    create_keyed_table(dynamodb, "t")
    queue = sqs.create_queue(QueueName="q")["QueueUrl"]
    item = {"pk": {"S": "P"}, "sk": {"S": "a"}, "n": {"N": "1"}, "b": {"B": b"\x00\xff"}}
    if_absent = {"ConditionExpression": "attribute_not_exists(pk)"}
    calls: list[Callable[[], Any]] = [
        lambda: dynamodb.put_item(TableName="t", Item=item),
        lambda: dynamodb.get_item(TableName="t", Key={"pk": {"S": "P"}, "sk": {"S": "a"}}),
        lambda: dynamodb.query(
            TableName="t",
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": "P"}},
            ReturnConsumedCapacity="TOTAL",
        ),
        lambda: dynamodb.put_item(
            TableName="t", Item=item, ReturnValuesOnConditionCheckFailure="ALL_OLD", **if_absent
        ),
        lambda: dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "t", "Item": {**item, "sk": {"S": "new"}}}},
                {"Put": {"TableName": "t", "Item": item, **if_absent}},
            ]
        ),
        lambda: dynamodb.get_item(TableName="missing", Key={"pk": {"S": "P"}}),
        lambda: sqs.send_message(QueueUrl=queue, MessageBody="hello"),
        lambda: sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"]),
        lambda: sqs.send_message(QueueUrl=queue + "-missing", MessageBody="x"),
        lambda: events.put_events(Entries=[{"Source": "s", "DetailType": "T", "Detail": "{}"}]),
        lambda: events.describe_rule(Name="missing"),
    ]
    stubbed: list[str] = []
    process_request = botocore_stubber.process_request

    def counting(request: Any) -> Any:
        stubbed.append(request.url)
        return process_request(request)

    monkeypatch.setattr(botocore_stubber, "process_request", counting)

    def answers() -> list[Any]:
        for table in ("t",):
            for key in (
                {"pk": {"S": "P"}, "sk": {"S": "a"}},
                {"pk": {"S": "P"}, "sk": {"S": "new"}},
            ):
                dynamodb.delete_item(TableName=table, Key=key)
        for message in sqs.receive_message(QueueUrl=queue).get("Messages", []):
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        return [_answer(call) for call in calls]

    moto_speedups.uninstall()
    try:
        stock = answers()
    finally:
        moto_speedups.install()
    assert len(stubbed) > len(calls)  # every call took botocore's whole way
    stubbed.clear()
    patched = answers()

    assert patched == stock
    assert stubbed == []  # none went through moto's stubber
    assert stock[4][0] == "TransactionCanceledException"
    assert [r["Code"] for r in stock[4][2]["CancellationReasons"]] == [
        "None",
        "ConditionalCheckFailed",
    ]
    assert stock[3][2]["Item"]["b"] == {"B": b"\x00\xff"}  # the item, binary decoded
    assert stock[8][0] == "QueueDoesNotExist"


def test_a_call_answered_directly_still_runs_the_callers_hooks(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Other `before-call` handlers (a request counter, botocore's own Stubber) run
    first, and `after-call` handlers see the response."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    seen: list[str] = []
    client.meta.events.register("before-call", lambda **_: seen.append("before") or None)
    client.meta.events.register(
        "after-call", lambda parsed, **_: seen.append(f"after {sorted(parsed)}")
    )

    monkeypatch.setattr(botocore_stubber, "process_request", lambda request: seen.append("sent"))

    client.list_tables()

    assert seen == ["before", "after ['ResponseMetadata', 'TableNames']"]


@pytest.mark.parametrize(
    ("content_type", "cached"),
    [("application/x-amz-json-1.0", True), ("application/x-www-form-urlencoded", False)],
)
def test_a_json_body_is_read_as_werkzeug_reads_it(content_type: str, cached: bool) -> None:
    from moto.core.request import Request

    body = b'{"TableName": "t", "Item": {"pk": {"S": "a=b&c"}}}'
    headers = {"Content-Type": content_type, "X-Amz-Target": "DynamoDB_20120810.PutItem"}
    url = "https://dynamodb.us-east-1.amazonaws.com/"
    werkzeugs = Request.from_primitives("POST", url, headers, body)
    ours = Request.from_primitives("POST", url, headers, body)

    moto_speedups._read_already(ours, body)

    assert ("form" in ours.__dict__) is cached  # a form body is left to werkzeug
    assert (ours.data, ours.get_data()) == (werkzeugs.data, werkzeugs.get_data())
    assert (ours.form, ours.files) == (werkzeugs.form, werkzeugs.files)
    if cached:
        assert ours.data == body


def test_a_call_without_a_signature_takes_the_whole_way(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unsigned client, or one without credentials, is not answered directly: what
    botocore does with it (no Authorization header; NoCredentialsError) is kept."""
    sent: list[str] = []
    process_request = botocore_stubber.process_request

    def counting(request: Any) -> Any:
        sent.append(request.headers.get("Authorization", "none"))
        return process_request(request)

    monkeypatch.setattr(botocore_stubber, "process_request", counting)
    unsigned = boto3.client(
        "dynamodb", region_name="us-east-1", config=Config(signature_version=UNSIGNED)
    )
    anonymous = boto3.session.Session(botocore_session=_session_without_credentials()).client(
        "dynamodb", region_name="us-east-1"
    )

    assert unsigned.list_tables()["TableNames"] == []
    with pytest.raises(NoCredentialsError):
        anonymous.list_tables()
    assert sent == ["none"]


def _session_without_credentials() -> Any:
    import botocore.session

    session = botocore.session.Session()
    session.get_component("credential_provider").providers = []
    return session
