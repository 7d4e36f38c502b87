"""`bonus replay`, `bonus emulator`, `bonus rejected` and `bonus demo`, run as a developer
runs them: the installed command, in a subprocess, on the moto server."""

import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
SMALL = REPOSITORY / "examples" / "small"
BONUS = Path(sys.executable).parent / "bonus"


def bonus(*args: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    return subprocess.run(  # noqa: S603 - our own command
        [str(BONUS), *args],
        capture_output=True,
        text=True,
        cwd=REPOSITORY,
        env=env,
        timeout=timeout,
        check=False,
    )


def replay(*extra: str, engagement: Path = SMALL / "engagement.jsonl") -> dict[str, Any]:
    result = bonus(
        "replay",
        "--program", str(SMALL / "program.yaml"),
        "--facts", str(SMALL / "facts.jsonl"),
        "--engagement", str(engagement),
        "--period", "2026-03",
        *extra,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.fixture(scope="module")
def small_replay() -> dict[str, Any]:
    return replay()


def by_creator(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {statement["creator_id"]: statement for statement in document["statements"]}


# --- the small scenario, checked by hand ---------------------------------------------------


def test_replay_writes_one_object_with_statements_sorted_by_creator(
    small_replay: dict[str, Any],
) -> None:
    assert set(small_replay) == {"program_id", "period", "statements", "rejected", "summary"}
    assert (small_replay["program_id"], small_replay["period"]) == ("spring-bonus", "2026-03")
    creators = [s["creator_id"] for s in small_replay["statements"]]
    assert creators == ["alice", "bob", "chiyo", "dae", "eun", "fay", "gus"]


def test_replay_says_how_many_messages_each_dead_letter_queue_holds(
    small_replay: dict[str, Any],
) -> None:
    assert small_replay["summary"]["dead_lettered"] == {
        "ComputeDeadLetterQueue": 0,
        "EngagementDeadLetterQueue": 0,
        "FactsDeadLetterQueue": 0,
    }


def test_a_us_creator_is_paid_by_graduated_tiers_and_restricted_and_paid_posts_earn_nothing(
    small_replay: dict[str, Any],
) -> None:
    alice = by_creator(small_replay)["alice"]
    # a-1: 1,500,000 views x 1 + 100 likes x 5 (the like delivered twice counts once)
    # = 1,500,500 points; a-2 was paid engagement; a-3 was restricted.
    # 1,000,000 / 1000 x 0.40 = 400.00, then 500,500 / 1000 x 0.20 = 100.10.
    assert (alice["points"], alice["qualifying_posts"]) == ("1500500", 1)
    assert (alice["amount"], alice["amount_minor"], alice["currency"]) == ("500.10", 50010, "USD")
    posts = {post["post_id"]: post for post in alice["breakdown"]["by_post"]}
    assert posts["a-3"]["restricted"] is True
    assert posts["a-3"]["points"] == "0"
    assert posts["a-2"]["uncounted"] == {"paid": 40000}


def test_an_amount_below_the_minimum_payout_pays_nothing(small_replay: dict[str, Any]) -> None:
    bob = by_creator(small_replay)["bob"]
    # 10,000 points x 0.40 / 1000 = 4.00 USD, below the 10.00 minimum.
    assert (bob["amount"], bob["flags"]) == ("0.00", ["below_minimum"])


def test_a_jp_creator_is_paid_the_milestone_reached(small_replay: dict[str, Any]) -> None:
    chiyo = by_creator(small_replay)["chiyo"]
    # 150,000 points: past 100,000 (5000 JPY), short of 1,000,000.
    assert (chiyo["amount"], chiyo["amount_minor"], chiyo["currency"]) == ("5000", 5000, "JPY")


def test_kr_creators_share_the_pool_by_points_rounded_down_to_the_won(
    small_replay: dict[str, Any],
) -> None:
    statements = by_creator(small_replay)
    # dae: 30 comments x 10 - 10 retracted x 10 = 200 points; eun: 5 shares x 20 = 100.
    # 100,000,000 x 200/300 = 66,666,666.67 -> 66,666,666; x 100/300 -> 33,333,333.
    assert (statements["dae"]["points"], statements["dae"]["amount"]) == ("200", "66666666")
    assert (statements["eun"]["points"], statements["eun"]["amount"]) == ("100", "33333333")
    kr = next(m for m in small_replay["summary"]["markets"] if m["market"] == "KR")
    assert (kr["total_paid"], kr["limit_kind"], kr["limit"]) == ("99999999", "pool", "100000000")


def test_ineligible_creators_get_a_statement_with_their_reasons_and_nothing_to_pay(
    small_replay: dict[str, Any],
) -> None:
    statements = by_creator(small_replay)
    assert (statements["fay"]["reasons"], statements["fay"]["amount"]) == (
        ["not_professional"],
        "0",
    )
    assert (statements["gus"]["reasons"], statements["gus"]["amount"]) == (
        ["policy_strikes"],
        "0.00",
    )
    assert statements["gus"]["points"] == "80000"  # what the creator would have earned on


def test_every_bad_input_line_is_listed_with_its_reason(small_replay: dict[str, Any]) -> None:
    rejected = sorted((r["source"], r["reason"], r["event_id"]) for r in small_replay["rejected"])
    assert rejected == [
        ("engagement", "invalid_event", "bad-1"),
        ("engagement", "invalid_json", None),
        ("facts", "invalid_fact", None),
    ]


def test_the_summary_counts_creators_and_the_periods_events(small_replay: dict[str, Any]) -> None:
    summary = small_replay["summary"]
    assert (
        summary["creators_evaluated"],
        summary["creators_eligible"],
        summary["creators_paid"],
    ) == (7, 5, 4)
    assert summary["events"] == {"accepted": 11, "rejected": 1, "late": 0}
    assert summary["revision"] == 1


def test_replay_writes_to_the_file_given_with_out(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    result = bonus(
        "replay", "--program", str(SMALL / "program.yaml"), "--facts", str(SMALL / "facts.jsonl"),
        "--engagement", str(SMALL / "engagement.jsonl"), "--period", "2026-03", "--out", str(out),
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert json.loads(out.read_text())["summary"]["creators_paid"] == 4


# --- clear errors ----------------------------------------------------------------------------


def test_a_bad_rules_file_exits_non_zero_with_one_line_naming_the_field(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        (SMALL / "program.yaml").read_text().replace('amount: "5000"', 'amount: "5000.5"')
    )

    result = bonus(
        "replay", "--program", str(rules), "--facts", str(SMALL / "facts.jsonl"),
        "--engagement", str(SMALL / "engagement.jsonl"), "--period", "2026-03",
    )  # fmt: skip

    assert result.returncode == 2
    assert result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert str(rules) in line
    for part in ("markets.JP", "milestones[0].amount", "JPY has no minor unit"):
        assert part in line


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "facts.jsonl: no such file"),
        (
            '{"source": "creators", "detail-type": "X", "detail": {}}\n{oops\n',
            "facts.jsonl:2: not JSON",
        ),
        ('{"source": "creators", "detail": {}}\n', "facts.jsonl:1: a PutEvents entry needs"),
        (b"\xff\xfe", "facts.jsonl: not UTF-8"),
    ],
)
def test_unreadable_input_exits_non_zero_with_one_line_naming_file_and_line(
    tmp_path: Path, content: str | bytes | None, expected: str
) -> None:
    facts = tmp_path / "facts.jsonl"
    if isinstance(content, bytes):
        facts.write_bytes(content)
    elif content is not None:
        facts.write_text(content)

    result = bonus(
        "replay", "--program", str(SMALL / "program.yaml"), "--facts", str(facts),
        "--engagement", str(SMALL / "engagement.jsonl"), "--period", "2026-03",
    )  # fmt: skip

    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert expected in line


# --- a running emulation: replays that build on each other -----------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - our own command
        [str(BONUS), "emulator", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=REPOSITORY,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while "emulation running" not in process.stdout.readline():
        assert process.poll() is None, "the emulator exited"
        assert time.monotonic() < deadline, "the emulator did not start within a minute"
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=30)


def test_replaying_the_same_inputs_again_writes_no_new_revision_and_a_late_event_one(
    emulator: str, tmp_path: Path
) -> None:
    first = replay("--endpoint", emulator)
    again = replay("--endpoint", emulator)
    with_late = tmp_path / "engagement.jsonl"
    late = {
        "event_id": "c-late-1", "creator_id": "chiyo", "post_id": "c-2", "format": "carousel",
        "metric": "view", "count": 900000, "occurred_at": "2026-03-30T10:00:00+09:00",
    }  # fmt: skip
    with_late.write_text((SMALL / "engagement.jsonl").read_text() + json.dumps(late) + "\n")
    late_replay = replay("--endpoint", emulator, engagement=with_late)

    assert {s["revision"] for s in first["statements"]} == {1}
    # The same inputs again: no statement changes. The bad line was sent in a message of
    # its own again, which is one more rejection (SPEC 1), so the summary counts it.
    assert again["statements"] == first["statements"]
    rejected = first["summary"]["events"]["rejected"]
    assert again["summary"]["events"]["rejected"] == rejected + 1
    assert again["summary"]["revision"] == first["summary"]["revision"] + 1
    revised = {s["creator_id"]: s for s in late_replay["statements"] if s["revision"] > 1}
    assert list(revised) == ["chiyo"]
    assert (revised["chiyo"]["revision"], revised["chiyo"]["amount"]) == (2, "60000")
    assert late_replay["summary"]["revision"] == first["summary"]["revision"] + 2
    assert late_replay["summary"]["events"] == {
        "accepted": 12,
        "rejected": rejected + 2,
        "late": 1,
    }


def test_bonus_rejected_lists_a_periods_rejections_from_the_emulation(emulator: str) -> None:
    replay("--endpoint", emulator)

    result = bonus("rejected", "--period", "2026-03", "--endpoint", emulator)

    assert result.returncode == 0, result.stderr
    # One rejection per message that carried the bad line (one per replay so far)
    lines = result.stdout.strip().splitlines()
    assert lines
    for line in lines:
        rejection = json.loads(line)
        assert (rejection["reason"], rejection["event_id"], rejection["position"]) == (
            "invalid_event",
            "bad-1",
            "3",
        )
    assert len({json.loads(line)["message_id"] for line in lines}) == len(lines)


# --- the demo ----------------------------------------------------------------------------------


def test_the_demo_replays_a_synthetic_program_and_shows_markets_and_statements() -> None:
    result = bonus("demo", "--creators", "150", timeout=600)

    assert result.returncode == 0, result.stderr
    for expected in ("What was stored", "markets", "pool", "milestones", "rate", "revision 2"):
        assert expected in result.stdout


# --- the payout export -----------------------------------------------------------------------


def test_two_replays_of_the_same_inputs_write_the_same_payout_files_equal_to_the_statements(
    tmp_path: Path,
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    document = replay("--payouts", str(first))
    replay("--payouts", str(second))

    base = Path("payouts") / "spring-bonus" / "2026-03"
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == [base / "revision-1.csv", base / "revision-1.manifest.json"]
    for name in files:
        assert (first / name).read_bytes() == (second / name).read_bytes()
    rows = (first / base / "revision-1.csv").read_text().splitlines()
    assert rows[0] == (
        "creator_id,market,currency,amount_minor,amount,statement_revision,"
        "previous_amount_minor,delta_minor"
    )
    paid = [s for s in document["statements"] if s["amount_minor"] > 0]
    assert rows[1:] == [
        f"{s['creator_id']},{s['market']},{s['currency']},{s['amount_minor']},{s['amount']},"
        f"{s['revision']},0,{s['amount_minor']}"
        for s in paid
    ]
    manifest = json.loads((first / base / "revision-1.manifest.json").read_text())
    csv_bytes = (first / base / "revision-1.csv").read_bytes()
    assert manifest["csv_sha256"] == hashlib.sha256(csv_bytes).hexdigest()
    assert manifest["rows"] == len(paid)
