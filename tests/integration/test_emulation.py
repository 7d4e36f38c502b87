"""The emulation itself: provisioned from template.yaml, and moto's Query speed-up
answering exactly as moto does."""

import random
from typing import Any

import boto3
import pytest
from integration_support import create_keyed_table

from bonus_engine.storage.dynamo import Table
from bonus_engine.storage.keys import Index
from bonus_local import moto_speedups
from bonus_local.emulator import Emulation, rule_name
from bonus_local.template import load_template


def test_every_table_queue_bus_and_rule_of_the_template_is_provisioned(
    emulation: Emulation,
) -> None:
    template = load_template()

    tables = set(emulation.dynamodb.list_tables()["TableNames"])
    assert {table.name for table in template.tables.values()} <= tables
    queue_urls = emulation.sqs.list_queues()["QueueUrls"]
    for queue in template.queues.values():
        assert any(url.endswith("/" + queue.name) for url in queue_urls)
    rules = emulation.events.list_rules(EventBusName=emulation.bus_name)["Rules"]
    assert {rule["Name"] for rule in rules} == {
        template.rules["CreatorFactsRule"].name,
        rule_name("StartBonusRunsFunction", "ComputeRequested"),
    }
    (target,) = emulation.events.list_targets_by_rule(
        Rule=template.rules["CreatorFactsRule"].name, EventBusName=emulation.bus_name
    )["Targets"]
    assert target["Arn"].endswith(":" + template.queues["FactsQueue"].name)


def test_a_queue_keeps_the_redrive_policy_the_template_gives_it(emulation: Emulation) -> None:
    url = emulation.queue_url("EngagementQueue")

    attributes = emulation.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])

    assert '"maxReceiveCount": 5' in attributes["Attributes"]["RedrivePolicy"]
    assert "EngagementDeadLetterQueue" in attributes["Attributes"]["RedrivePolicy"]
    assert attributes["Attributes"]["VisibilityTimeout"] == "180"


def test_provisioning_again_changes_nothing(emulation: Emulation) -> None:
    before = sorted(emulation.dynamodb.list_tables()["TableNames"])

    emulation.provision()

    assert sorted(emulation.dynamodb.list_tables()["TableNames"]) == before


def random_table(client: Any, seed: int, partitions: int, items: int, pad: int) -> Table:
    """Table `t`, indexed by kind (K1, K2), holding `items` random items of `pad` bytes."""
    create_keyed_table(client, "t", index_on_kind=True)
    table = Table(client, "t")
    rng = random.Random(seed)
    table.batch_put(
        [
            {
                "pk": f"P{rng.randint(0, partitions - 1)}",
                "sk": f"{rng.choice('abc')}#{n:04d}",
                "n": n,
                "kind": rng.choice(["K1", "K2"]),
                "pad": "x" * pad,
            }
            for n in range(items)
        ]
    )
    return table


def test_queries_answer_the_same_with_and_without_the_speedup(aws: None) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    table = random_table(client, seed=4, partitions=5, items=1500, pad=12000)
    queries = [
        {"partition": "P1"},
        {"partition": "P2", "prefix": "b#"},
        {"partition": "P3", "after": "b#0700"},
        {"partition": "P0", "newest_first": True, "limit": 7},
        {"partition": "P4", "prefix": "c#", "newest_first": True},
        {"partition": "P1", "prefix": "a#", "projection": "sk, n, absent"},
        {"partition": "missing"},
    ]

    def index_query() -> list[str]:
        response = client.query(
            TableName="t",
            IndexName="by-kind",
            KeyConditionExpression="kind = :k AND begins_with(sk, :p)",
            ExpressionAttributeValues={":k": {"S": "K2"}, ":p": {"S": "a#"}},
        )
        return [item["pk"]["S"] + item["sk"]["S"] for item in response["Items"]]

    moto_speedups.uninstall()
    try:
        expected = [list(table.query(**q)) for q in queries]  # type: ignore[arg-type]
        expected_on_index = index_query()
    finally:
        moto_speedups.install()
    requests_before = table.usage.requests["Query"]
    answers = [list(table.query(**q)) for q in queries]  # type: ignore[arg-type]

    assert answers == expected
    assert expected_on_index
    assert index_query() == expected_on_index
    assert table.usage.requests["Query"] - requests_before > len(queries)  # pages were followed


def test_index_queries_answer_the_same_with_and_without_the_speedup_after_writes(
    aws: None,
) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    table = random_table(client, seed=7, partitions=41, items=900, pad=3000)
    by_kind = Index("by-kind", "kind", "sk")
    queries = [
        {"partition": "K1"},
        {"partition": "K2", "prefix": "b#"},
        {"partition": "K1", "between": ("a#0100", "b#0500")},
        {"partition": "K2", "after": "c#0300", "newest_first": True},
        {"partition": "K1", "prefix": "c#", "limit": 5},
        {"partition": "K3"},
    ]

    def answers() -> list[list[str]]:
        return [
            [item["pk"] + item["sk"] for item in table.query(**q, index=by_kind)]  # type: ignore[arg-type]
            for q in queries
        ]

    def writes(step: int) -> None:
        """A put, a delete and an update that moves an item to the other partition."""
        table.put({"pk": "P99", "sk": f"a#{step:04d}", "kind": "K1"})
        client.delete_item(
            TableName="t", Key={"pk": {"S": "P99"}, "sk": {"S": f"a#{step - 1:04d}"}}
        )
        moved = next(table.query("K2", prefix="b#", index=by_kind))
        table.update(
            {"pk": str(moved["pk"]), "sk": str(moved["sk"])},
            "SET kind = :k",
            {":k": "K1"},
        )

    seen = []
    for step in (1, 2, 3):
        moto_speedups.uninstall()
        try:
            expected = answers()
        finally:
            moto_speedups.install()
        seen.append(answers())
        assert seen[-1] == expected
        writes(step)
    assert seen[0] != seen[1] != seen[2]  # the writes changed what the index holds
    assert len(seen[0][0]) * 3000 > 1024 * 1024  # more than one page was read


@pytest.fixture(autouse=True)
def _speedup_installed() -> None:
    moto_speedups.install()


def _exercise_dynamodb(client: Any) -> None:
    """Every data-plane operation the engine uses, with the options it uses."""
    create_keyed_table(client, "v", index_on_kind=True)
    table = Table(client, "v")
    table.batch_put([{"pk": "P", "sk": f"s{n}", "n": n, "b": n % 2 == 0} for n in range(30)])
    table.put({"pk": "P", "sk": "z", "blob": b"\x00\x01", "m": {"a": [1, "x"]}})
    list(table.query("P", prefix="s1"))
    table.get({"pk": "P", "sk": "z"})
    table.batch_get([{"pk": "P", "sk": "s3"}, {"pk": "P", "sk": "missing"}], consistent=True)
    client.update_item(
        TableName="v",
        Key={"pk": {"S": "P"}, "sk": {"S": "s4"}},
        UpdateExpression="SET n = n + :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="ALL_NEW",
        ReturnConsumedCapacity="TOTAL",
    )
    client.transact_write_items(
        TransactItems=[{"Put": {"TableName": "v", "Item": {"pk": {"S": "T"}, "sk": {"S": "1"}}}}]
    )
    client.delete_item(TableName="v", Key={"pk": {"S": "T"}, "sk": {"S": "1"}})
    client.scan(TableName="v", ReturnConsumedCapacity="TOTAL")


def test_responses_written_as_plain_json_are_those_moto_would_write(aws: None) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    moto_speedups.install(verify=True)  # every response is compared with moto's own

    _exercise_dynamodb(client)  # raises SerialiserMismatch on any difference


def test_the_serialiser_check_catches_a_difference(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    moto_speedups.install(verify=True)
    monkeypatch.setattr(moto_speedups, "_json", lambda result: "{}")

    with pytest.raises(moto_speedups.SerialiserMismatch):
        _exercise_dynamodb(client)


def test_requests_read_as_plain_json_are_what_motos_parser_reads(aws: None) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    moto_speedups.install(verify=True)  # every request is also read moto's way, compared

    _exercise_dynamodb(client)  # raises ParserMismatch on any difference


def test_the_parser_check_catches_a_difference(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    moto_speedups.install(verify=True)
    real = moto_speedups._plain_request

    def with_a_stray_key(handler: Any, request: Any) -> dict[str, Any] | None:
        parameters = real(handler, request)
        return None if parameters is None else {**parameters, "stray": 1}

    monkeypatch.setattr(moto_speedups, "_plain_request", with_a_stray_key)

    with pytest.raises(moto_speedups.ParserMismatch):
        _exercise_dynamodb(client)


def test_requests_built_directly_are_what_werkzeug_builds(aws: None) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    moto_speedups.install(verify=True)  # every request is also built werkzeug's way

    _exercise_dynamodb(client)  # raises RequestMismatch on any difference
    url = sqs.create_queue(QueueName="built")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="caf\u00e9 \U0001f600")
    (message,) = sqs.receive_message(QueueUrl=url)["Messages"]
    assert message["Body"] == "caf\u00e9 \U0001f600"


def test_the_request_check_catches_a_difference(aws: None, monkeypatch: pytest.MonkeyPatch) -> None:
    client = boto3.client("dynamodb", region_name="us-east-1")
    moto_speedups.install(verify=True)
    real = moto_speedups._plain_environ

    def on_another_port(*args: Any) -> dict[str, Any] | None:
        environ = real(*args)
        return None if environ is None else {**environ, "SERVER_PORT": "8443"}

    monkeypatch.setattr(moto_speedups, "_plain_environ", on_another_port)

    with pytest.raises(moto_speedups.RequestMismatch):
        _exercise_dynamodb(client)
