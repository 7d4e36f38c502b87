"""DynamoDB reads parsed with json.loads give exactly what botocore's own parser gives."""

import base64
import json
from typing import Any

import boto3
import pytest

from bonus_engine.aws_clients import parse_read_response

BLOB = b"\x00\x01compressed\xff"
ITEM = {
    "pk": {"S": "STATEMENTS#p#2026-03#07"},
    "sk": {"S": "00af#alice#000001#run"},
    "revision": {"N": "1"},
    "statement": {"B": base64.b64encode(BLOB).decode()},
    "blobs": {"BS": [base64.b64encode(b"a").decode(), base64.b64encode(b"\xfe").decode()]},
    "flags": {"SS": ["capped", "held"]},
    "counts": {"NS": ["1", "2.5"]},
    "nothing": {"NULL": True},
    "yes": {"BOOL": False},
    "nested": {"M": {"B": {"S": "a map key named B"}, "deep": {"L": [{"B": "AAE="}, {"N": "3"}]}}},
}
RESPONSES = {
    "Query": {
        "Items": [ITEM, {"pk": {"S": "x"}, "sk": {"S": "y"}}],
        "Count": 2,
        "ScannedCount": 2,
        "LastEvaluatedKey": {"pk": {"S": "x"}, "sk": {"S": "y"}},
        "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 1.5},
    },
    "GetItem": {"Item": ITEM, "ConsumedCapacity": {"TableName": "t", "CapacityUnits": 0.5}},
    "BatchGetItem": {"Responses": {"t": [ITEM]}, "UnprocessedKeys": {}},
}


def botocore_parse(operation: str, body: bytes) -> dict[str, Any]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    model = client.meta.service_model.operation_model(operation)
    parser = client._endpoint._response_parser_factory.create_parser("json")  # type: ignore[attr-defined]
    response = {"status_code": 200, "headers": {}, "body": body}
    return dict(parser.parse(response, model.output_shape))


@pytest.mark.parametrize("operation", sorted(RESPONSES))
def test_a_read_parsed_fast_equals_botocores_parse(operation: str) -> None:
    body = json.dumps(RESPONSES[operation]).encode()
    response = {"status_code": 200, "headers": {}, "body": body}
    customized: dict[str, Any] = {}

    parse_read_response(response, customized)

    expected = botocore_parse(operation, body)
    expected.pop("ResponseMetadata", None)
    assert customized == expected
    assert response["body"] == b"{}"  # botocore is left an empty body to parse


def test_an_error_response_is_left_to_botocore() -> None:
    body = b'{"__type": "ProvisionedThroughputExceededException", "message": "slow down"}'
    response = {"status_code": 400, "headers": {}, "body": body}
    customized: dict[str, Any] = {}

    parse_read_response(response, customized)

    assert customized == {}
    assert response["body"] == body
