"""The payout export for finance (SPEC section 8): one row per creator paid or changed,
sorted, deltas that show claw-backs, per-currency totals, a manifest that pins the CSV by
its sha256, and the same bytes for the same inputs."""

import csv
import hashlib
import io
import json
import tracemalloc
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bonus_engine import payout_export
from bonus_engine.money import format_minor
from bonus_engine.payout_export import (
    CSV_HEADER,
    ExportedAmount,
    LatestAmount,
    PayoutExport,
    PayoutFileError,
    build_payout_export,
    csv_revision,
    payout_csv_key,
    payout_manifest_key,
    read_payout_csv,
)
from bonus_engine.periods import Period
from bonus_engine.statements import Breakdown, StatementRevision

PROGRAM = "spring-bonus"
PERIOD = Period(2026, 3)
RULES_HASH = "sha256:" + "ab" * 32
MARKETS = {"US": "USD", "JP": "JPY", "KR": "KRW"}


def statement(
    creator_id: str, market: str | None, amount_minor: int, revision: int = 1
) -> StatementRevision:
    currency = MARKETS[market] if market else None
    return StatementRevision(
        creator_id=creator_id,
        program_id=PROGRAM,
        period=PERIOD.name,
        market=market,
        currency=currency,
        eligible=amount_minor > 0,
        reasons=[],
        points="0",
        qualifying_posts=0,
        rules_hash=RULES_HASH,
        breakdown=Breakdown(by_format={}, by_metric={}, post_adjustments="0", by_post=[]),
        amount=format_minor(amount_minor, currency) if currency else "0",
        amount_minor=amount_minor,
        flags=[],
        explanation=[],
        revision=revision,
    )


def export(
    statements: list[StatementRevision],
    previous: dict[str, ExportedAmount] | None = None,
    revision: int = 1,
) -> PayoutExport:
    return build_payout_export(PROGRAM, PERIOD, revision, RULES_HASH, statements, previous or {})


def parse_payout_csv(data: bytes) -> dict[str, ExportedAmount]:
    """What each creator was paid in a CSV, by creator_id (the merge reads it a line at a
    time)."""
    return dict(read_payout_csv(data.splitlines(keepends=True)))


def rows_of(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))


def manifest_of(result: PayoutExport) -> dict:  # type: ignore[type-arg]
    return json.loads(result.manifest_bytes)  # type: ignore[no-any-return]


# --- the CSV ------------------------------------------------------------------------------


def test_the_files_are_named_by_program_period_and_revision() -> None:
    # Given revision 3 of spring-bonus 2026-03 / When it is exported
    result = export([statement("alice", "US", 1000)], revision=3)

    # Then both keys are under payouts/{program}/{period}/
    assert result.csv_key == "payouts/spring-bonus/2026-03/revision-3.csv"
    assert result.manifest_key == "payouts/spring-bonus/2026-03/revision-3.manifest.json"


def test_the_csv_has_the_header_and_a_row_per_paid_creator_sorted_by_creator_id() -> None:
    # Given three paid creators, given out of order
    statements = [
        statement("carol", "KR", 2_500_000),
        statement("alice", "US", 26117),
        statement("bob", "JP", 5000),
    ]

    # When exported
    result = export(statements)

    # Then the header is SPEC 8's, rows are sorted by creator_id, with \n line ends
    text = result.csv_bytes.decode("utf-8")
    assert text.splitlines()[0] == ",".join(CSV_HEADER)
    assert "\r" not in text
    assert text.endswith("\n")
    assert [row["creator_id"] for row in rows_of(result.csv_bytes)] == ["alice", "bob", "carol"]
    assert rows_of(result.csv_bytes)[0] == {
        "creator_id": "alice",
        "market": "US",
        "currency": "USD",
        "amount_minor": "26117",
        "amount": "261.17",
        "statement_revision": "1",
        "previous_amount_minor": "0",
        "delta_minor": "26117",
    }


def test_a_creator_paid_nothing_before_and_nothing_now_has_no_row() -> None:
    # Given an ineligible creator, one outside every market, and a paid one
    statements = [
        statement("alice", "US", 1000),
        statement("bob", "US", 0),
        statement("dave", None, 0),
    ]

    # When exported / Then only the paid creator has a row
    assert [row["creator_id"] for row in rows_of(export(statements).csv_bytes)] == ["alice"]


def test_a_creator_paid_before_and_zero_now_is_a_negative_delta() -> None:
    # Given alice was paid 10.00 in the previous exported revision and 0 now
    previous = {"alice": ExportedAmount("US", "USD", 1000)}

    # When revision 2 is exported
    result = export([statement("alice", "US", 0, revision=2)], previous, revision=2)

    # Then her claw-back is visible: amount 0, delta -10.00
    (row,) = rows_of(result.csv_bytes)
    assert row["amount_minor"] == "0"
    assert row["previous_amount_minor"] == "1000"
    assert row["delta_minor"] == "-1000"
    assert manifest_of(result)["currencies"]["USD"]["delta"] == "-10.00"


def test_an_unchanged_paid_creator_is_a_row_with_a_zero_delta() -> None:
    # Given bob paid 5000 JPY before and now
    previous = {"bob": ExportedAmount("JP", "JPY", 5000)}

    # When revision 2 is exported / Then his row is there, delta 0
    (row,) = rows_of(export([statement("bob", "JP", 5000, 2)], previous, 2).csv_bytes)
    assert (row["amount_minor"], row["delta_minor"]) == ("5000", "0")


def test_a_creator_gone_from_the_statements_is_a_row_at_zero() -> None:
    # Given carol was in the previous file and has no statement now
    previous = {"carol": ExportedAmount("KR", "KRW", 300000)}

    # When exported
    (row,) = rows_of(export([], previous, revision=2).csv_bytes)

    # Then her row pays 0 in her former market, with no statement revision
    assert row["creator_id"] == "carol"
    assert (row["market"], row["currency"], row["amount"]) == ("KR", "KRW", "0")
    assert row["statement_revision"] == ""
    assert row["delta_minor"] == "-300000"


def test_a_creator_whose_market_changed_currency_is_clawed_back_in_the_old_one() -> None:
    # Given alice was paid 10.00 USD and her market is now JP, 5000 JPY
    previous = {"alice": ExportedAmount("US", "USD", 1000)}

    # When exported
    result = export([statement("alice", "JP", 5000, 2)], previous, 2)

    # Then two rows, never a delta across currencies
    rows = [(r["currency"], r["amount_minor"], r["delta_minor"]) for r in rows_of(result.csv_bytes)]
    assert rows == [("JPY", "5000", "5000"), ("USD", "0", "-1000")]
    currencies = manifest_of(result)["currencies"]
    assert currencies["USD"]["delta_minor"] == -1000
    assert currencies["JPY"]["delta_minor"] == 5000


def test_an_id_with_a_comma_or_quote_is_quoted_as_rfc_4180_says() -> None:
    # Given a market name with a comma and a quote (ids cannot, but the CSV must hold)
    previous = {"alice": ExportedAmount('U,S"', "USD", 1000)}

    # When exported / Then the field is quoted and reads back intact
    result = export([], previous, 2)
    assert b'"U,S"""' in result.csv_bytes
    assert rows_of(result.csv_bytes)[0]["market"] == 'U,S"'


# --- the manifest ------------------------------------------------------------------------


def test_the_manifest_totals_each_currency_and_pins_the_csv_by_sha256() -> None:
    # Given creators paid in three currencies
    statements = [
        statement("alice", "US", 26117),
        statement("amy", "US", 1000),
        statement("bob", "JP", 5000),
        statement("carol", "KR", 2_500_000),
    ]

    # When exported
    result = export(statements, revision=1)
    manifest = manifest_of(result)

    # Then the manifest holds SPEC 8's fields, and the sha256 is the CSV's
    assert manifest == {
        "program_id": PROGRAM,
        "period": "2026-03",
        "revision": 1,
        "rows": 4,
        "currencies": {
            "JPY": {"total_minor": 5000, "total": "5000", "delta_minor": 5000, "delta": "5000"},
            "KRW": {
                "total_minor": 2_500_000,
                "total": "2500000",
                "delta_minor": 2_500_000,
                "delta": "2500000",
            },
            "USD": {
                "total_minor": 27117,
                "total": "271.17",
                "delta_minor": 27117,
                "delta": "271.17",
            },
        },
        "rules_hash": RULES_HASH,
        "csv_key": result.csv_key,
        "csv_sha256": hashlib.sha256(result.csv_bytes).hexdigest(),
    }


def test_the_same_inputs_always_give_the_same_bytes() -> None:
    # Given the same statements, in two orders, and the same previous amounts
    statements = [statement("alice", "US", 26117, 2), statement("bob", "JP", 5000, 1)]
    previous = {"alice": ExportedAmount("US", "USD", 1000)}

    # When exported twice / Then both files are byte for byte the same
    first = export(statements, previous, 2)
    second = export(list(reversed(statements)), dict(previous), 2)
    assert (first.csv_bytes, first.manifest_bytes) == (second.csv_bytes, second.manifest_bytes)


def test_two_statements_of_one_creator_are_refused() -> None:
    with pytest.raises(ValueError, match="two statements"):
        export([statement("alice", "US", 1), statement("alice", "US", 2)])


def test_a_statement_of_another_period_is_refused() -> None:
    other = statement("alice", "US", 1).model_copy(update={"period": "2026-04"})
    with pytest.raises(ValueError, match="2026-04"):
        export([other])


# --- reading a previous file --------------------------------------------------------------


def test_a_written_csv_reads_back_as_what_each_creator_is_paid() -> None:
    # Given a file with a paid creator, a claw-back and a currency change
    previous = {
        "alice": ExportedAmount("US", "USD", 1000),
        "bob": ExportedAmount("JP", "JPY", 7000),
    }
    result = export([statement("alice", "JP", 5000, 2), statement("bob", "JP", 0, 2)], previous, 2)

    # When read back / Then only the amounts paid in it are there
    assert parse_payout_csv(result.csv_bytes) == {"alice": ExportedAmount("JP", "JPY", 5000)}


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"creator_id,amount\n",
        ",".join(CSV_HEADER).encode() + b"\nalice,US,USD,ten,0.10,1,0,10\n",
        ",".join(CSV_HEADER).encode() + b"\nalice,US,EUR,10,0.10,1,0,10\n",
        ",".join(CSV_HEADER).encode() + b"\nalice,US,USD,10\n",
        ",".join(CSV_HEADER).encode()
        + b"\nalice,US,USD,10,0.10,1,0,10\nalice,US,USD,1,0.01,1,0,1\n",
        b"\xff\xfe",
        ",".join(CSV_HEADER).encode() + b"\nbob,US,USD,10,0.10,1,0,10\nalice,US,USD,1,0.01,1,0,1\n",
    ],
    ids=["empty", "header", "amount", "currency", "fields", "twice", "utf-8", "order"],
)
def test_a_file_this_module_did_not_write_is_refused(data: bytes) -> None:
    with pytest.raises(PayoutFileError):
        parse_payout_csv(data)


def test_the_merge_streams_its_memory_does_not_grow_with_the_file(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given creators arriving one at a time (as merged fragments do), half of them paid in
    # the previous file, read one at a time too, and a CSV kept in memory up to 256 KB
    monkeypatch.setattr(payout_export, "SPOOL_BYTES", 256 * 1024)

    def latest(creators: int) -> Iterator[LatestAmount]:
        for n in range(creators):
            yield LatestAmount(f"creator-{n:07d}", "US", "USD", 1000 + n % 7, 1)

    def paid_before(creators: int) -> Iterator[tuple[str, ExportedAmount]]:
        for n in range(0, creators, 2):
            yield f"creator-{n:07d}", ExportedAmount("US", "USD", 1000)

    def assembled(creators: int) -> tuple[PayoutExport, int]:
        tracemalloc.start()
        try:
            result = payout_export.assemble_payout_export(
                PROGRAM, PERIOD, 2, RULES_HASH, latest(creators), paid_before(creators)
            )
            return result, tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    # When the revision's file is assembled for 25,000 creators, then for 100,000
    small, small_peak = assembled(25_000)
    large, large_peak = assembled(100_000)

    # Then four times the creators took about the same memory, a small part of the file,
    # and the manifest pins the bytes written
    assert large.rows == 100_000
    assert large_peak < 2 * small_peak
    assert large_peak < large.csv_size / 2
    assert hashlib.sha256(large.csv_bytes).hexdigest() == large.csv_sha256
    assert json.loads(large.manifest_bytes)["csv_sha256"] == large.csv_sha256
    assert small.rows == 25_000


def test_a_previous_file_out_of_order_is_refused_by_the_merge() -> None:
    previous = [
        ("bob", ExportedAmount("US", "USD", 10)),
        ("alice", ExportedAmount("US", "USD", 10)),
    ]
    with pytest.raises(PayoutFileError, match="out of order"):
        payout_export.assemble_payout_export(PROGRAM, PERIOD, 2, RULES_HASH, [], previous)


def test_a_revision_is_read_from_a_csv_key_only() -> None:
    assert csv_revision(payout_csv_key(PROGRAM, PERIOD, 12), PROGRAM, PERIOD) == 12
    assert csv_revision(payout_manifest_key(PROGRAM, PERIOD, 12), PROGRAM, PERIOD) is None
    assert csv_revision("payouts/spring-bonus/2026-03/revision-012.csv", PROGRAM, PERIOD) is None


# --- reconciliation, by property ------------------------------------------------------------

CREATORS = [f"creator-{i}" for i in range(6)]
AMOUNTS = st.one_of(st.just(0), st.integers(min_value=1, max_value=10**12))
A_STATEMENT = st.tuples(st.sampled_from([None, *MARKETS]), AMOUNTS)
A_REVISION = st.dictionaries(st.sampled_from(CREATORS), A_STATEMENT)


@settings(max_examples=150, deadline=None)
@given(st.lists(A_REVISION, min_size=1, max_size=6))
def test_each_currencys_deltas_over_the_revisions_sum_to_its_latest_total(
    revisions: list[dict[str, tuple[str | None, int]]],
) -> None:
    # Given a sequence of summary revisions of random statements (a creator may be paid,
    # unpaid, move market and currency, or vanish), each exported after the previous one
    delta_sums: dict[str, int] = {}
    previous: dict[str, ExportedAmount] = {}
    result = None
    for number, revision in enumerate(revisions, 1):
        statements = [
            statement(creator, market, amount if market else 0, number)
            for creator, (market, amount) in revision.items()
        ]
        result = export(statements, previous, number)
        manifest = manifest_of(result)
        for currency, totals in manifest["currencies"].items():
            delta_sums[currency] = delta_sums.get(currency, 0) + totals["delta_minor"]
        # Then every row of the statement's currency is that statement
        by_creator = {s.creator_id: s for s in statements}
        for row in rows_of(result.csv_bytes):
            stated = by_creator.get(row["creator_id"])
            if stated is not None and stated.currency == row["currency"]:
                assert (row["market"], row["amount_minor"], row["amount"]) == (
                    stated.market,
                    str(stated.amount_minor),
                    stated.amount,
                )
                assert row["statement_revision"] == str(number)
            else:  # a claw-back in a currency the creator is no longer paid in
                assert row["amount_minor"] == "0"
                assert int(row["delta_minor"]) < 0
        # And every paid creator has a row
        paid = {s.creator_id for s in statements if s.amount_minor > 0}
        assert paid <= {row["creator_id"] for row in rows_of(result.csv_bytes)}
        previous = parse_payout_csv(result.csv_bytes)

    # Then, per currency, the deltas summed over the revisions are the latest total
    assert result is not None
    latest = manifest_of(result)["currencies"]
    for currency in delta_sums.keys() | latest.keys():
        total = latest.get(currency, {"total_minor": 0})["total_minor"]
        assert delta_sums.get(currency, 0) == total, currency
