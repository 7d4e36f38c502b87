"""The payout export for finance (SPEC section 8): a CSV of what each creator is paid in
a summary revision, what changed since the previous exported revision, and a manifest.

Pure: the latest statements (or each shard's fragment of them, merged) and the previous
file's amounts in, bytes out. The same inputs always give the same bytes (no clock,
sorted rows, sorted JSON keys), so a revision written twice is written identically.

A run's issue tasks each write their shard's fragment (every creator's latest amount and
revision, sorted by creator_id); the task that commits the run merges the fragments
instead of reading every statement again, so the file costs a few microseconds a
creator wherever the creators are. The merge streams: the fragments and the previous
file are read a line at a time and the CSV is written to a temporary file (in memory
while small), so its memory does not grow with the number of creators.

Amounts are integer minor units, shown in the major unit by `money.format_minor`; a
float never exists. Deltas are per creator and per currency: a creator whose market
moved to another currency is two rows, the old currency clawed back to 0 and the new
one paid, so that each currency's deltas, summed over the revisions, are its latest
total.
"""

import csv
import hashlib
import heapq
import io
import json
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO

from bonus_engine.identifiers import require_id
from bonus_engine.money import format_minor, minor_digits
from bonus_engine.periods import Period
from bonus_engine.statements import Statement, StatementRevision

CSV_HEADER = (
    "creator_id",
    "market",
    "currency",
    "amount_minor",
    "amount",
    "statement_revision",
    "previous_amount_minor",
    "delta_minor",
)


class PayoutFileError(ValueError):
    """A payout CSV that is not one this module writes (header, a field, a duplicate)."""


# --- object keys: one function each -------------------------------------------------------


def payouts_prefix(program_id: str, period: Period) -> str:
    """Every payout file of a program's period is under this prefix."""
    return f"payouts/{require_id('program_id', program_id)}/{period.name}/"


def payout_csv_key(program_id: str, period: Period, revision: int) -> str:
    return f"{payouts_prefix(program_id, period)}revision-{_revision(revision)}.csv"


def payout_manifest_key(program_id: str, period: Period, revision: int) -> str:
    return f"{payouts_prefix(program_id, period)}revision-{_revision(revision)}.manifest.json"


def fragment_key(program_id: str, period: Period, run_id: str, shard: int) -> str:
    """A run's fragment of a shard: its own prefix (`runs/`), which expires."""
    return (
        f"runs/{require_id('program_id', program_id)}/{period.name}/"
        f"{require_id('run_id', run_id)}/shard-{shard:06d}.csv"
    )


def csv_revision(key: str, program_id: str, period: Period) -> int | None:
    """The revision of a payout CSV's key under the period's prefix; None for any other
    key (a manifest, a stray object)."""
    prefix = payouts_prefix(program_id, period) + "revision-"
    if not key.startswith(prefix) or not key.endswith(".csv"):
        return None
    number = key[len(prefix) : -len(".csv")]
    if not number.isdigit() or number.startswith("0") or not number.isascii():
        return None
    return int(number)


def _revision(revision: int) -> int:
    if isinstance(revision, bool) or not isinstance(revision, int) or revision < 1:
        raise ValueError(f"a summary revision is an integer >= 1: {revision!r}")
    return revision


# --- the export ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportedAmount:
    """What a creator was paid in an exported revision (a non-zero row of its CSV)."""

    market: str
    currency: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class LatestAmount:
    """A creator's latest statement revision, as much of it as the payout file needs."""

    creator_id: str
    market: str | None
    currency: str | None
    amount_minor: int
    revision: int


def latest_amount(
    statement: Statement, program_id: str, period: Period, revision: int
) -> LatestAmount:
    _check_statement(statement, program_id, period)
    return LatestAmount(
        statement.creator_id, statement.market, statement.currency, statement.amount_minor, revision
    )


def fragment_bytes(amounts: Iterable[LatestAmount]) -> bytes:
    """A shard's fragment: one line per creator, sorted by creator_id (ids and market
    and currency codes admit no comma)."""
    lines = [
        f"{a.creator_id},{a.market or ''},{a.currency or ''},{a.amount_minor},{a.revision}\n"
        for a in sorted(amounts, key=lambda amount: amount.creator_id)
    ]
    return "".join(lines).encode("ascii")


def parse_fragment(data: bytes) -> Iterator[LatestAmount]:
    return read_fragment(data.splitlines())


def read_fragment(lines: Iterable[bytes]) -> Iterator[LatestAmount]:
    """A fragment's amounts, a line at a time (a file opened in binary mode is one)."""
    for line in lines:
        creator_id, market, currency, amount_minor, revision = line.decode("ascii").split(",")
        yield LatestAmount(
            creator_id, market or None, currency or None, int(amount_minor), int(revision)
        )


def merge_fragments(fragments: Iterable[Iterable[bytes]]) -> Iterator[LatestAmount]:
    """The shards' fragments (each its lines, or its bytes) as one sequence sorted by
    creator_id (a k-way merge, holding one line of each)."""
    return heapq.merge(
        *(
            parse_fragment(fragment) if isinstance(fragment, bytes) else read_fragment(fragment)
            for fragment in fragments
        ),
        key=lambda amount: amount.creator_id,
    )


@dataclass(frozen=True)
class PayoutRow:
    creator_id: str
    market: str
    currency: str
    amount_minor: int
    statement_revision: int | None  # None: the creator has no statement any more
    previous_amount_minor: int

    @property
    def amount(self) -> str:
        return format_minor(self.amount_minor, self.currency)

    @property
    def delta_minor(self) -> int:
        return self.amount_minor - self.previous_amount_minor

    def fields(self) -> list[str]:
        return [
            self.creator_id,
            self.market,
            self.currency,
            str(self.amount_minor),
            self.amount,
            "" if self.statement_revision is None else str(self.statement_revision),
            str(self.previous_amount_minor),
            str(self.delta_minor),
        ]


@dataclass(frozen=True)
class CurrencyTotals:
    total_minor: int
    delta_minor: int


SPOOL_BYTES = 16 * 1024 * 1024  # a CSV larger than this is written to a temporary file
_FLUSH_ROWS = 4096


@dataclass(frozen=True)
class PayoutExport:
    """A revision's files: the CSV in `csv_file` (a binary file at its start, in memory
    while small, else a temporary file), and the manifest's bytes."""

    program_id: str
    period: Period
    revision: int
    rules_hash: str
    rows: int
    totals: Mapping[str, CurrencyTotals]  # by currency, sorted
    csv_key: str
    manifest_key: str
    csv_file: IO[bytes]
    csv_size: int
    csv_sha256: str
    manifest_bytes: bytes

    @property
    def csv_bytes(self) -> bytes:
        """The whole CSV in memory: for tests and small files."""
        self.csv_file.seek(0)
        data = self.csv_file.read()
        self.csv_file.seek(0)
        return data


def build_payout_export(
    program_id: str,
    period: Period,
    revision: int,
    rules_hash: str,
    statements: Iterable[StatementRevision],
    previous: Mapping[str, ExportedAmount],
) -> PayoutExport:
    """The CSV and the manifest of summary revision `revision`, from the period's latest
    statements and the amounts of the previous exported revision (empty for the first)."""
    return assemble_payout_export(
        program_id,
        period,
        revision,
        rules_hash,
        sorted(
            (
                latest_amount(statement, program_id, period, statement.revision)
                for statement in statements
            ),
            key=lambda amount: amount.creator_id,
        ),
        sorted(previous.items()),
    )


def assemble_payout_export(
    program_id: str,
    period: Period,
    revision: int,
    rules_hash: str,
    latest: Iterable[LatestAmount],
    previous: Iterable[tuple[str, ExportedAmount]],
) -> PayoutExport:
    """The CSV and the manifest from every creator's latest amount and the previous
    file's paid creators, both sorted by creator_id (each consumed once, as it comes: the
    merged fragments of a run's shards, and `read_payout_csv` of the previous file).

    A row per creator whose amount is above 0 or differs from the previous exported one:
    a creator paid before and 0 now (or with no statement now) is a row at 0 with a
    negative delta, a claw-back."""
    require_id("program_id", program_id)
    _revision(revision)
    out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - returned
    digest = hashlib.sha256()
    size = 0
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    rows = 0
    totals: dict[str, list[int]] = {}

    def flush() -> None:
        nonlocal size
        data = buffer.getvalue().encode("utf-8")
        out.write(data)
        digest.update(data)
        size += len(data)
        buffer.seek(0)
        buffer.truncate()

    def write(creator_rows: list[PayoutRow]) -> None:
        nonlocal rows
        for row in sorted(creator_rows, key=lambda row: row.currency):
            writer.writerow(row.fields())
            rows += 1
            if rows % _FLUSH_ROWS == 0:
                flush()
            total = totals.setdefault(row.currency, [0, 0])
            total[0] += row.amount_minor
            total[1] += row.delta_minor

    writer.writerow(CSV_HEADER)
    paid_before = _in_order(previous)
    pending = next(paid_before, None)
    last: str | None = None
    for current in latest:
        if last is not None and current.creator_id == last:
            raise ValueError(f"two statements for creator {last!r}")
        if last is not None and current.creator_id < last:
            raise ValueError(f"creator {current.creator_id!r} out of order")
        last = current.creator_id
        while pending is not None and pending[0] < current.creator_id:
            write(_rows(pending[0], None, pending[1]))
            pending = next(paid_before, None)
        before = None
        if pending is not None and pending[0] == current.creator_id:
            before = pending[1]
            pending = next(paid_before, None)
        if current.currency is not None:
            totals.setdefault(current.currency, [0, 0])
        write(_rows(current.creator_id, current, before))
    while pending is not None:
        write(_rows(pending[0], None, pending[1]))
        pending = next(paid_before, None)
    flush()
    out.seek(0)

    currency_totals = {
        currency: CurrencyTotals(total_minor=total, delta_minor=delta)
        for currency, (total, delta) in sorted(totals.items())
    }
    csv_key = payout_csv_key(program_id, period, revision)
    csv_sha256 = digest.hexdigest()

    manifest = {
        "program_id": program_id,
        "period": period.name,
        "revision": revision,
        "rows": rows,
        "currencies": {
            currency: {
                "total_minor": total.total_minor,
                "total": format_minor(total.total_minor, currency),
                "delta_minor": total.delta_minor,
                "delta": format_minor(total.delta_minor, currency),
            }
            for currency, total in currency_totals.items()
        },
        "rules_hash": rules_hash,
        "csv_key": csv_key,
        "csv_sha256": csv_sha256,
    }
    manifest_bytes = (json.dumps(manifest, sort_keys=True, indent=2) + "\n").encode("utf-8")
    return PayoutExport(
        program_id=program_id,
        period=period,
        revision=revision,
        rules_hash=rules_hash,
        rows=rows,
        totals=currency_totals,
        csv_key=csv_key,
        manifest_key=payout_manifest_key(program_id, period, revision),
        csv_file=out,
        csv_size=size,
        csv_sha256=csv_sha256,
        manifest_bytes=manifest_bytes,
    )


def _in_order(
    previous: Iterable[tuple[str, ExportedAmount]],
) -> Iterator[tuple[str, ExportedAmount]]:
    last: str | None = None
    for creator_id, amount in previous:
        if last is not None and creator_id <= last:
            raise PayoutFileError(f"the previous file pays {creator_id!r} twice or out of order")
        last = creator_id
        yield creator_id, amount


def _check_statement(statement: Statement, program_id: str, period: Period) -> None:
    where = f"statement of {statement.creator_id!r}"
    if statement.program_id != program_id or statement.period != period.name:
        raise ValueError(f"{where} is of {statement.program_id} {statement.period}")
    if statement.amount_minor < 0:
        raise ValueError(f"{where} has a negative amount")
    if statement.currency is None:
        if statement.amount_minor != 0:
            raise ValueError(f"{where} pays {statement.amount_minor} in no currency")
        return
    minor_digits(statement.currency)  # a currency the program pays in
    if statement.amount != format_minor(statement.amount_minor, statement.currency):
        raise ValueError(f"{where}: amount {statement.amount} is not its amount_minor")


def _rows(
    creator_id: str, statement: LatestAmount | None, before: ExportedAmount | None
) -> list[PayoutRow]:
    rows = []
    revision = statement.revision if statement is not None else None
    currency = statement.currency if statement is not None else None
    if before is not None and before.amount_minor != 0 and before.currency != currency:
        # Paid in a currency the creator is no longer paid in (or no statement now):
        # clawed back to 0 in that currency.
        rows.append(
            PayoutRow(
                creator_id=creator_id,
                market=before.market,
                currency=before.currency,
                amount_minor=0,
                statement_revision=revision,
                previous_amount_minor=before.amount_minor,
            )
        )
    if statement is not None and statement.currency is not None:
        previous_minor = before.amount_minor if before and before.currency == currency else 0
        if statement.amount_minor > 0 or statement.amount_minor != previous_minor:
            rows.append(
                PayoutRow(
                    creator_id=creator_id,
                    market=statement.market or "",
                    currency=statement.currency,
                    amount_minor=statement.amount_minor,
                    statement_revision=revision,
                    previous_amount_minor=previous_minor,
                )
            )
    return rows


# --- reading a previous file -------------------------------------------------------------


def read_payout_csv(lines: Iterable[bytes]) -> Iterator[tuple[str, ExportedAmount]]:
    """The paid creators of an exported CSV, a line at a time (a file opened in binary
    mode is its lines), in the file's order: by creator_id. A creator paid twice, or out
    of order, is an error, as is anything but the header and rows of 8 fields."""
    reader = csv.reader(_utf8_lines(lines), strict=True)
    last: str | None = None
    try:
        header = next(reader, None)
        if header is None or tuple(header) != CSV_HEADER:
            raise PayoutFileError(f"line 1: the header is not {','.join(CSV_HEADER)}")
        for row in reader:
            line = reader.line_num
            if len(row) != len(CSV_HEADER):
                raise PayoutFileError(f"line {line}: {len(row)} fields, not {len(CSV_HEADER)}")
            fields = dict(zip(CSV_HEADER, row, strict=True))
            creator_id, currency = fields["creator_id"], fields["currency"]
            try:
                require_id("creator_id", creator_id)
                minor_digits(currency)
                amount_minor = _integer(fields["amount_minor"])
            except ValueError as error:
                raise PayoutFileError(f"line {line}: {error}") from None
            if amount_minor == 0:
                continue
            if last is not None and creator_id == last:
                raise PayoutFileError(f"line {line}: {creator_id} is paid twice")
            if last is not None and creator_id < last:
                raise PayoutFileError(f"line {line}: {creator_id} is out of order")
            last = creator_id
            yield creator_id, ExportedAmount(fields["market"], currency, amount_minor)
    except csv.Error as error:
        raise PayoutFileError(f"line {reader.line_num}: {error}") from None


def _utf8_lines(lines: Iterable[bytes]) -> Iterator[str]:
    offset = 0
    for line in lines:
        try:
            yield line.decode("utf-8")
        except UnicodeDecodeError as error:
            raise PayoutFileError(f"not UTF-8 (byte {offset + error.start})") from None
        offset += len(line)


def _integer(text: str) -> int:
    if not text.isascii() or not text.lstrip("-").isdigit():
        raise ValueError(f"not an integer: {text!r}")
    value = int(text)
    if value < 0:
        raise ValueError(f"a negative amount: {text!r}")
    return value
