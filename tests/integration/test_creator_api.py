"""The creator and operator API on moto in process: every route through the function as
the HTTP API invokes it (payload format 2.0, the token's claims in the event)."""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from moto import mock_aws

from bonus_engine import dependencies
from bonus_engine.computation import SettlementRecord
from bonus_engine.periods import Period
from bonus_engine.storage.dynamo import Table
from bonus_engine.storage.results_store import ProvisionalSettlement, ResultsStore
from bonus_local.api_server import API_FUNCTION, api_routes, http_api_event, match_route
from bonus_local.emulator import Emulation
from bonus_local.pipeline import LocalPipeline
from bonus_local.replay import read_engagement, read_facts
from bonus_local.template import REPOSITORY

SMALL = REPOSITORY / "examples" / "small"
PROGRAMS_DIR = REPOSITORY / "layers" / "program_rules" / "programs"
MARCH = Period.parse("2026-03")
OPERATOR = {"sub": "ops-1", "scope": "openid bonus/operate"}
ALICE = {"sub": "alice"}


@pytest.fixture(scope="module")
def computed() -> Iterator[LocalPipeline]:
    """examples/small replayed and March 2026 computed, once for the module (the tests
    below change only what no other test reads)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("AWS_ENDPOINT_URL", raising=False)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
            patch.setenv(name, "testing")
        patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        dependencies.forget()
        with mock_aws(), Emulation(in_process=True) as emulation:
            pipeline = LocalPipeline(emulation, PROGRAMS_DIR)
            pipeline.put_facts(read_facts(SMALL / "facts.jsonl"))
            pipeline.send_engagement(read_engagement(SMALL / "engagement.jsonl"))
            pipeline.request_compute("spring-bonus", MARCH)
            yield pipeline
        dependencies.forget()


@pytest.fixture
def emulation(computed: LocalPipeline) -> Emulation:
    return computed.emulation


def call(
    pipeline: LocalPipeline,
    method: str,
    path: str,
    claims: dict[str, str] | None,
    language: str | None = None,
    query: dict[str, str] | None = None,
    body: str | None = None,
) -> tuple[int, dict[str, Any]]:
    found = match_route(api_routes(pipeline.emulation.template), method, path)
    assert found is not None, path
    route, parameters = found
    headers = {"accept-language": language} if language else {}
    event = http_api_event(method, path, route.key, parameters, headers, query or {}, body, claims)
    response = pipeline.functions[API_FUNCTION].invoke(event)
    return response["statusCode"], json.loads(response["body"])


def open_period() -> Period:
    return Period.containing(datetime.now(UTC))


def send_now(pipeline: LocalPipeline, creator: str, post: str, count: int) -> None:
    instant = max(datetime.now(UTC) - timedelta(minutes=1), open_period().start)
    pipeline.send_engagement(
        [
            json.dumps(
                {
                    "event_id": f"now-{creator}-{post}",
                    "creator_id": creator,
                    "post_id": post,
                    "format": "reel",
                    "metric": "view",
                    "count": count,
                    "occurred_at": instant.isoformat().replace("+00:00", "Z"),
                }
            )
        ]
    )


# --- criteria ---------------------------------------------------------------------------


def test_any_token_reads_the_criteria_without_a_budget_or_a_pool(
    computed: LocalPipeline,
) -> None:
    status, body = call(computed, "GET", "/programs/spring-bonus/criteria", ALICE)
    assert status == 200
    assert body["markets"]["US"]["payout"]["tiers"][0]["per_1000_points"] == "0.4"
    assert body["markets"]["JP"]["payout"]["milestones"][0]["amount_display"] == "¥5,000"
    assert body["markets"]["US"]["minimum_payout"]["amount_minor"] == 1000
    assert body["markets"]["KR"]["payout"] == {"model": "pool"}
    text = json.dumps(body)
    assert "budget" not in text
    assert "500000" not in text
    assert "100000000" not in text


def test_the_criteria_labels_follow_the_accept_language(computed: LocalPipeline) -> None:
    status, body = call(computed, "GET", "/programs/spring-bonus/criteria", ALICE, "ja")
    labels = {c["criterion"]: c["label"] for c in body["eligibility"]["criteria"]}
    assert status == 200
    assert labels["followers"] == "フォロワー"
    assert body["markets"]["JP"]["payout"]["milestones"][0]["amount_display"] == "￥5,000"


# --- eligibility ------------------------------------------------------------------------


def test_a_creator_sees_each_rule_with_the_actual_value_beside_the_requirement(
    computed: LocalPipeline,
) -> None:
    status, body = call(
        computed, "GET", "/creators/gus/programs/spring-bonus/eligibility", {"sub": "gus"}
    )
    assert status == 200
    assert (body["eligible"], body["reasons"]) == (False, ["policy_strikes"])
    strikes = next(c for c in body["criteria"] if c["criterion"] == "policy_strikes")
    assert (strikes["met"], strikes["actual"], strikes["required"]) == (False, 1, 0)
    assert len(body["active_strikes"]) == 1
    assert body["invitation"]["program_id"] == "spring-bonus"


# --- progress ---------------------------------------------------------------------------


def test_progress_of_a_computed_period_is_its_latest_statement(computed: LocalPipeline) -> None:
    status, body = call(
        computed, "GET", "/creators/alice/programs/spring-bonus/periods/2026-03/progress", ALICE
    )
    assert status == 200
    assert (body["points"], body["qualifying_posts"]["count"]) == ("1500500", 1)
    assert body["estimate"]["basis"] == "statement"
    assert (body["estimate"]["amount"], body["estimate"]["amount_minor"]) == ("500.10", 50010)
    assert body["excluded"]["restricted_post"] == "90000"  # a-3's views
    assert body["excluded"]["quality"] == "40000"  # a-2's paid views


def test_progress_of_the_open_month_estimates_at_the_rate_so_far(
    computed: LocalPipeline,
) -> None:
    send_now(computed, "alice", "a-new", 250_000)
    path = f"/creators/alice/programs/spring-bonus/periods/{open_period()}/progress"
    status, body = call(computed, "GET", path, ALICE, "ko")
    assert status == 200
    estimate = body["estimate"]
    # 250,000 points x 0.40 / 1000 = 100.00 USD
    assert (estimate["basis"], estimate["amount"], estimate["amount_minor"]) == (
        "rate_so_far",
        "100.00",
        10000,
    )
    assert estimate["amount_display"] == "US$100.00"
    assert "100.00" in estimate["text"]
    assert "예산" in estimate["text"]


def test_a_milestone_estimate_says_how_many_points_reach_the_next_milestone(
    computed: LocalPipeline,
) -> None:
    send_now(computed, "chiyo", "c-new", 120_000)
    path = f"/creators/chiyo/programs/spring-bonus/periods/{open_period()}/progress"
    status, body = call(computed, "GET", path, {"sub": "chiyo"}, "ja")
    estimate = body["estimate"]
    assert status == 200
    assert (estimate["basis"], estimate["amount_display"]) == ("milestone", "￥5,000")
    assert estimate["points_needed"] == "880000"
    assert estimate["next_milestone"]["amount_minor"] == 60000


def test_a_pool_estimate_is_null_until_a_provisional_run_then_uses_its_rate(
    computed: LocalPipeline, emulation: Emulation
) -> None:
    send_now(computed, "dae", "d-new", 1000)
    path = f"/creators/dae/programs/spring-bonus/periods/{open_period()}/progress"
    _, before = call(computed, "GET", path, {"sub": "dae"})
    results = ResultsStore(Table(emulation.dynamodb, emulation.table_name("BonusResultsTable")))
    as_of = datetime.now(UTC).replace(microsecond=0)
    results.save_provisional(
        "spring-bonus",
        open_period(),
        ProvisionalSettlement(
            run_id="provisional-1",
            as_of=as_of,
            settlements={"KR": SettlementRecord(pool_rate="2500/1", pool_total="100000000")},
        ),
    )
    status, after = call(computed, "GET", path, {"sub": "dae"}, "ko")
    assert before["estimate"] is None
    assert status == 200
    # 1,000 points x 2,500 KRW a point
    assert (after["estimate"]["basis"], after["estimate"]["amount_display"]) == (
        "pool_provisional",
        "₩2,500,000",
    )


# --- statement, summary, rejections -------------------------------------------------------


def test_a_statement_is_explained_in_the_readers_language_with_every_revision(
    computed: LocalPipeline,
) -> None:
    path = "/creators/alice/programs/spring-bonus/periods/2026-03/statement"
    _, english = call(computed, "GET", path, ALICE)
    status, korean = call(computed, "GET", path, ALICE, "ko-KR,ko;q=0.9,en;q=0.5")
    assert status == 200
    assert (korean["amount"], korean["amount_minor"]) == (english["amount"], 50010)
    assert korean["explanation"] != english["explanation"]
    assert english["explanation"][-1] == "Amount: $500.10, rounded down."
    assert korean["revisions"] == [
        {
            "revision": 1,
            "amount": "500.10",
            "amount_minor": 50010,
            "amount_display": "US$500.10",
            "flags": [],
        }
    ]


def test_an_operator_reads_the_latest_summary(computed: LocalPipeline) -> None:
    status, body = call(computed, "GET", "/programs/spring-bonus/periods/2026-03/summary", OPERATOR)
    assert status == 200
    kr = next(m for m in body["markets"] if m["market"] == "KR")
    assert (body["revision"], kr["total_paid"]) == (1, "99999999")


def test_rejections_are_listed_a_page_at_a_time(computed: LocalPipeline) -> None:
    path = "/programs/spring-bonus/periods/2026-03/rejections"
    seen, cursor, pages = [], None, 0
    while True:
        query = {"source": "engagement", "limit": "1", **({"cursor": cursor} if cursor else {})}
        status, body = call(computed, "GET", path, OPERATOR, query=query)
        assert status == 200
        seen += body["rejections"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert {r["reason"] for r in seen} >= {"invalid_event"}
    assert pages >= len(seen)


def test_a_forged_cursor_is_a_bad_request(computed: LocalPipeline) -> None:
    path = "/programs/spring-bonus/periods/2026-03/rejections"
    for cursor in ("not-base64!", "eyJwayI6IlJFSkVDVEVEI2ZhY3RzIzIwMjYtMDMiLCJzayI6IngifQ"):
        status, body = call(computed, "GET", path, OPERATOR, query={"cursor": cursor})
        assert (status, body["error"]) == (400, "invalid_cursor")


# --- compute ------------------------------------------------------------------------------


def test_an_operator_requests_a_dry_run_and_gets_its_run_id(computed: LocalPipeline) -> None:
    path = "/programs/spring-bonus/periods/2026-03/compute"
    status, body = call(computed, "POST", path, OPERATOR, body='{"dry_run": true}')
    assert status == 202
    assert body["run_id"]
    computed.settle()
    assert computed.results.summaries("spring-bonus", MARCH)[-1][0] == 1  # a dry run


def test_an_open_period_cannot_be_computed(computed: LocalPipeline) -> None:
    path = f"/programs/spring-bonus/periods/{open_period()}/compute"
    status, body = call(computed, "POST", path, OPERATOR, body='{"dry_run": false}')
    assert (status, body["error"]) == (422, "period_open")


def test_a_period_held_by_a_run_is_refused_with_409(
    computed: LocalPipeline, emulation: Emulation
) -> None:
    results = ResultsStore(Table(emulation.dynamodb, emulation.table_name("BonusResultsTable")))
    now = datetime.now(UTC)
    results.claim_period("spring-bonus", MARCH, "run-held", now, now - timedelta(hours=3))
    path = "/programs/spring-bonus/periods/2026-03/compute"
    status, body = call(computed, "POST", path, OPERATOR, body="{}")
    assert (status, body["error"]) == (409, "run_in_progress")


def test_a_compute_body_that_is_not_the_contract_is_a_bad_request(
    computed: LocalPipeline,
) -> None:
    path = "/programs/spring-bonus/periods/2026-03/compute"
    status, body = call(computed, "POST", path, OPERATOR, body='{"dry_run": "yes"}')
    assert (status, body["error"]) == (400, "invalid_request")


# --- who may read what ----------------------------------------------------------------------


CREATOR_PATHS = [
    "/creators/{c}/programs/spring-bonus/eligibility",
    "/creators/{c}/programs/spring-bonus/periods/2026-03/progress",
    "/creators/{c}/programs/spring-bonus/periods/2026-03/statement",
]
OPERATOR_ROUTES = [
    ("GET", "/programs/spring-bonus/periods/2026-03/summary"),
    ("GET", "/programs/spring-bonus/periods/2026-03/rejections"),
    ("POST", "/programs/spring-bonus/periods/2026-03/compute"),
]


@pytest.mark.parametrize("template", CREATOR_PATHS)
def test_another_creators_path_is_answered_as_a_creator_that_does_not_exist(
    computed: LocalPipeline, template: str
) -> None:
    other = call(computed, "GET", template.format(c="bob"), ALICE)
    missing = call(computed, "GET", template.format(c="nobody"), ALICE)
    missing_for_operator = call(computed, "GET", template.format(c="nobody"), OPERATOR)
    assert other == missing == missing_for_operator
    assert other[0] == 404
    assert "bob" not in json.dumps(other[1])


@pytest.mark.parametrize(("method", "path"), OPERATOR_ROUTES)
def test_a_creator_token_on_an_operator_route_is_forbidden(
    computed: LocalPipeline, method: str, path: str
) -> None:
    status, body = call(computed, method, path, ALICE, body="{}")
    assert (status, body["error"]) == (403, "forbidden")


def test_a_request_without_claims_is_unauthorized(computed: LocalPipeline) -> None:
    status, body = call(computed, "GET", "/programs/spring-bonus/criteria", None, "ja")
    assert (status, body["error"]) == (401, "unauthorized")
    assert body["message"] == "有効なベアラートークンが必要です。"


def test_an_operator_reads_any_creators_statement(computed: LocalPipeline) -> None:
    path = "/creators/bob/programs/spring-bonus/periods/2026-03/statement"
    status, body = call(computed, "GET", path, OPERATOR)
    assert (status, body["creator_id"], body["flags"]) == (200, "bob", ["below_minimum"])
