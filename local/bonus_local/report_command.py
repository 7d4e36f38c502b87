"""`bonus report`: a computed period, read from the emulation's tables, written as one
self-contained HTML page (bonus_local.report draws it).

    bonus report --program-id ID --period YYYY-MM [--endpoint URL] --out report.html

Without --endpoint it reads the tables named in template.yaml through the default AWS
configuration (AWS_ENDPOINT_URL, a profile), as `bonus rejected` does.
"""

import argparse
import sys
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from bonus_local.report import PeriodReport, SummaryRevision

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The statement fields the page shows (a statement's breakdown by post stays out).
STATEMENT_FIELDS = (
    "creator_id",
    "market",
    "currency",
    "eligible",
    "reasons",
    "points",
    "amount",
    "amount_minor",
    "flags",
    "revision",
)


class NothingToReport(Exception):
    """The period has no stored run summary."""


def gather_period_report(
    dynamodb: "DynamoDBClient",
    program_id: str,
    period_name: str,
    results_table: str | None = None,
    rejections_table: str | None = None,
    generated_at: datetime | None = None,
) -> PeriodReport:
    """Read a computed period: every summary revision, each creator's latest statement,
    and the period's rejections counted by source and reason. Table names default to
    those of template.yaml. Raises NothingToReport if the period has no summary, and
    ValueError for a malformed period or program id."""
    from bonus_engine.periods import Period
    from bonus_engine.rejections import RejectionSource
    from bonus_engine.storage import keys
    from bonus_engine.storage.dynamo import Table
    from bonus_engine.storage.rejections_store import RejectionStore
    from bonus_engine.storage.results_store import ResultsStore
    from bonus_local.pipeline import REJECTIONS_TABLE, RESULTS_TABLE
    from bonus_local.template import load_template

    period = Period.parse(period_name)
    if results_table is None or rejections_table is None:
        template = load_template()
        results_table = results_table or template.tables[RESULTS_TABLE].name
        rejections_table = rejections_table or template.tables[REJECTIONS_TABLE].name
    results = ResultsStore(Table(dynamodb, results_table))
    summaries = results.summaries(program_id, period)
    if not summaries:
        raise NothingToReport(
            f"{program_id} {period.name} has not been computed: no run summary in {results_table}"
        )
    # When each revision's run started: kept on the summary item, which
    # ResultsStore.summaries does not return.
    started = {
        item["sk"]: item.get("started_at")
        for item in results.table.batch_get(
            [keys.summary_key(program_id, period, revision) for revision, _ in summaries],
            projection="sk, started_at",
        )
    }
    revisions = [
        SummaryRevision(
            revision=revision,
            computed_at=started.get(keys.summary_key(program_id, period, revision)["sk"]),
            summary=summary.model_dump(mode="json"),
        )
        for revision, summary in summaries
    ]
    statements = [
        {
            name: value
            for name, value in statement.model_dump(mode="json").items()
            if name in STATEMENT_FIELDS
        }
        for statement in results.latest_statements(program_id, period)
    ]
    rejections_store = RejectionStore(Table(dynamodb, rejections_table))
    rejections: Counter[tuple[str, str]] = Counter()
    for source in RejectionSource:
        for item in rejections_store.list(source, period):
            rejections[(source.value, str(item["reason"]))] += 1
    return PeriodReport(
        program_id=program_id,
        period=period.name,
        rules_hash=str(revisions[-1].summary.get("rules_hash", "")),
        summaries=revisions,
        statements=statements,
        rejections=dict(rejections),
        generated_at=(generated_at or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )


def register(
    commands: "argparse._SubParsersAction[argparse.ArgumentParser]",
) -> Callable[[argparse.Namespace], int]:
    """Add `report` to the `bonus` sub-commands; returns the function that runs it."""
    report = commands.add_parser(
        "report", help="write a computed period as one self-contained HTML page"
    )
    report.add_argument("--program-id", required=True, help="the program's id")
    report.add_argument("--period", required=True, help="a computed month, YYYY-MM")
    report.add_argument("--endpoint", help="a local emulation, e.g. http://127.0.0.1:5000")
    report.add_argument("--out", required=True, type=Path, help="the HTML file to write")
    return run_report


def run_report(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError

    from bonus_engine.storage.dynamo import StorageError

    try:
        from bonus_local.report import render_period_report

        report = gather_period_report(_client(args.endpoint), args.program_id, args.period)
        page = render_period_report(report)
    except (NothingToReport, ValueError) as error:
        return _fail(str(error))
    except ModuleNotFoundError as error:
        return _fail(f"{error.name} is missing: pip install -e '.[report]'")
    except (BotoCoreError, StorageError) as error:
        where = args.endpoint or "the default AWS endpoint"
        return _fail(f"cannot read the results tables at {where}: {error}")
    args.out.write_text(page, encoding="utf-8")
    print(f"wrote {args.out} ({args.program_id} {args.period}, revision "
          f"{report.summaries[-1].revision})")  # fmt: skip
    return 0


def _client(endpoint: str | None) -> "DynamoDBClient":
    from bonus_local.emulator import dynamodb_client

    return dynamodb_client(endpoint)


def _fail(message: str) -> int:
    print(f"bonus: {message}", file=sys.stderr)
    return 2
