"""`bonus demo` (`make demo`): a synthetic month of examples/demo/program.yaml, replayed on
the embedded emulation with progress bars, then what came out of it."""

import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bonus_engine.computation import RunSummary
from bonus_engine.periods import Period
from bonus_engine.program_rules import load_program_rules
from bonus_engine.statements import StatementRevision
from bonus_local.emulator import Emulation, in_process_aws
from bonus_local.pipeline import LocalPipeline
from bonus_local.synthetic import synthetic_month
from bonus_local.template import REPOSITORY

DEMO_RULES = REPOSITORY / "examples" / "demo" / "program.yaml"


def run_demo(creators: int, seed: int, console: Console | None = None) -> int:
    console = console or Console()
    program = load_program_rules(DEMO_RULES)
    program_id = program.rules.program_id
    period = Period.containing(datetime.now(UTC)).previous()
    month = synthetic_month(program_id, period, creators, seed)
    console.print(
        Panel.fit(
            f"[bold]{program_id}[/] for [bold]{period}[/]: {creators:,} synthetic creators in "
            f"KR (pool), JP (milestones) and the US (rate), {month.events:,} events in "
            f"{len(month.engagement):,} SQS messages ({month.duplicate_messages} delivered "
            f"twice, {month.planted_invalid} invalid), {len(month.facts):,} creator facts "
            "in no particular order.\nEverything runs on moto, provisioned from template.yaml, "
            "through the four Lambda handlers.",
            title="Creator bonus engine demo",
        )
    )
    started = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=1)
    with tempfile.TemporaryDirectory(prefix="bonus-demo-") as rules_dir:
        shutil.copyfile(DEMO_RULES, Path(rules_dir) / f"{program_id}.yaml")
        with in_process_aws(), Emulation(in_process=True) as emulation, _progress(console) as bar:
            pipeline = LocalPipeline(emulation, Path(rules_dir))
            with bar("Creator facts -> bus -> CheckEligibility", len(month.facts)) as advance:
                pipeline.put_facts(month.facts, advance)
            with bar("Engagement -> queue -> IngestEngagement", len(month.engagement)) as advance:
                pipeline.send_engagement(month.engagement, advance)
            with bar("ComputeBonusesRequested -> coordinator -> shards", 1) as advance:
                pipeline.request_compute(program_id, period)
                advance(1)
            first = {s.creator_id: s for s in pipeline.statements(program_id, period)}
            with bar("Late facts and events, then the period again", 2) as advance:
                pipeline.put_facts(month.late_facts)
                pipeline.send_engagement(month.late_engagement)
                advance(1)
                pipeline.request_compute(program_id, period)
                advance(1)
            statements = pipeline.statements(program_id, period)
            summaries = pipeline.results.summaries(program_id, period)
            rejected = Counter(r["reason"] for r in pipeline.rejections_since(started))
            dead = sum(pipeline.dead_letters().values())
            through_api = _read_through_the_api(
                emulation, Path(rules_dir), program_id, period, statements, first
            )
            report_path = _write_report(emulation, program_id, period)

    _, summary = summaries[-1]
    console.print(_ingestion_table(month.duplicate_messages, summary, rejected, dead))
    console.print(_markets_table(summary))
    console.print(_reasons_table(statements))
    revised = [s for s in statements if s.revision > 1]
    console.print(
        f"Late arrivals: {len(month.late_facts)} strikes and {summary.events.late} events came "
        f"after the first run; the second run wrote a new revision for {len(revised)} of "
        f"{len(statements):,} statements (summary revision {len(summaries)}), and kept the "
        "earlier ones."
    )
    for title, statement in _showcase(statements, first):
        console.print(_statement_panel(title, statement))
    console.print(through_api)
    console.print(f"The month's report (one self-contained HTML page): [bold]{report_path}[/]")
    console.print(
        "Replay your own inputs: [bold].venv/bin/bonus replay --program "
        "examples/small/program.yaml --facts examples/small/facts.jsonl --engagement "
        "examples/small/engagement.jsonl --period 2026-03[/]"
    )
    return 0


def _read_through_the_api(
    emulation: Emulation,
    rules_dir: Path,
    program_id: str,
    period: Period,
    statements: list[StatementRevision],
    first: dict[str, StatementRevision],
) -> Panel:
    """One creator reads their progress and statement through the HTTP API's function
    (with a token the local server accepts, in their market's language)."""
    from bonus_local.api_server import LocalApi, TokenSettings, issue_token
    from bonus_local.lambda_runtime import FunctionOutput

    creator = _most_revised(statements, first) or max(statements, key=lambda s: s.amount_minor)
    language = {"KR": "ko", "JP": "ja"}.get(creator.market or "", "en")
    api = LocalApi(emulation, rules_dir, FunctionOutput())
    token = issue_token(TokenSettings.from_template(), creator.creator_id, False)
    headers = {"Authorization": f"Bearer {token}", "Accept-Language": language}
    base = f"/creators/{creator.creator_id}/programs/{program_id}/periods/{period}"
    lines = []
    for route in ("progress", "statement"):
        status, _, body = api.handle("GET", f"{base}/{route}", headers, None)
        lines.append(f"[bold]GET {base}/{route}[/] ({language}) -> {status}")
        lines.append(_api_excerpt(route, json.loads(body)))
    return Panel.fit(Group(*lines), title=f"What {creator.creator_id} reads through the API")


def _api_excerpt(route: str, body: dict[str, Any]) -> str:
    if route == "progress":
        estimate = body.get("estimate") or {}
        qualifying = body.get("qualifying_posts") or {}
        return (
            f"  points {body.get('points')}, qualifying posts {qualifying.get('count')} "
            f"(minimum {qualifying.get('minimum')}); estimate {estimate.get('amount_display')} "
            f"({estimate.get('basis')})"
        )
    latest = body.get("statement") or body
    explanation = "\n    ".join(latest.get("explanation", []))
    revisions = ", ".join(
        f"#{r.get('revision')}: {r.get('amount')}" for r in body.get("revisions", [])
    )
    return f"  {latest.get('amount_display')}; revisions {revisions}\n    {explanation}"


def _write_report(emulation: Emulation, program_id: str, period: Period) -> Path:
    from bonus_local.report import render_period_report
    from bonus_local.report_command import gather_period_report

    report = gather_period_report(emulation.dynamodb, program_id, period.name)
    path = REPOSITORY / "demo-report.html"
    path.write_text(render_period_report(report), encoding="utf-8")
    return path


@contextmanager
def _progress(
    console: Console,
) -> Iterator[Callable[[str, int], AbstractContextManager[Callable[[int], None]]]]:
    columns = (
        TextColumn("{task.description:<50}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:

        @contextmanager
        def bar(label: str, total: int) -> Iterator[Callable[[int], None]]:
            task = progress.add_task(label, total=total)
            yield lambda steps: progress.advance(task, steps)
            progress.update(task, completed=total)

        yield bar


def _ingestion_table(
    duplicates: int, summary: RunSummary, rejected: Counter[str], dead: int
) -> Table:
    table = Table(title="What was stored and what was set aside", title_justify="left")
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_row("distinct events stored for the period", f"{summary.events.accepted:,}")
    table.add_row("messages delivered twice (counted once)", f"{duplicates:,}")
    for reason, count in sorted(rejected.items()):
        table.add_row(f"rejected: {reason}", f"{count:,}")
    table.add_row("messages in a dead-letter queue", f"{dead:,}")
    return table


def _markets_table(summary: RunSummary) -> Table:
    table = Table(title=f"{summary.program_id} {summary.period}: markets", title_justify="left")
    for column in ("market", "model", "creators", "eligible", "paid", "total paid", "of"):
        table.add_column(column, justify="left" if column in ("market", "model") else "right")
    for line in summary.markets:
        limit = f"{line.limit} {line.limit_kind}" if line.limit else "-"
        table.add_row(
            line.market,
            line.model,
            f"{line.creators:,}",
            f"{line.eligible:,}",
            f"{line.paid:,}",
            f"{line.total_paid} {line.currency}",
            limit,
        )
    table.caption = (
        f"{summary.creators_evaluated:,} creators evaluated, {summary.creators_eligible:,} "
        f"eligible, {summary.creators_paid:,} paid"
    )
    return table


def _reasons_table(statements: list[StatementRevision]) -> Table:
    reasons = Counter(reason for s in statements for reason in s.reasons)
    flags = Counter(flag for s in statements for flag in s.flags)
    table = Table(title="Why creators earned less or nothing", title_justify="left")
    table.add_column("reason or flag")
    table.add_column("creators", justify="right")
    for name, count in reasons.most_common() + flags.most_common():
        table.add_row(name, f"{count:,}")
    return table


def _showcase(
    statements: list[StatementRevision], first: dict[str, StatementRevision]
) -> list[tuple[str, StatementRevision]]:
    def best(market: str, flag: str | None = None) -> StatementRevision | None:
        found = [s for s in statements if s.market == market and (flag is None or flag in s.flags)]
        return max(found, key=lambda s: s.amount_minor, default=None)

    revised = _most_revised(statements, first)
    picks = [
        ("Top of the US rate market", best("US")),
        ("A capped share of the KR pool", best("KR", "capped") or best("KR")),
        ("A JP milestone", best("JP")),
        (_revised_title(first, revised), revised),
        ("Not eligible", next((s for s in statements if not s.eligible and s.points != "0"), None)),
    ]
    return [(title, s) for title, s in picks if s is not None]


def _most_revised(
    statements: list[StatementRevision], first: dict[str, StatementRevision]
) -> StatementRevision | None:
    """The revised statement whose amount moved most since its first revision."""
    revised = [s for s in statements if s.revision > 1 and s.creator_id in first]
    return max(
        revised,
        key=lambda s: abs(s.amount_minor - first[s.creator_id].amount_minor),
        default=None,
    )


def _revised_title(first: dict[str, StatementRevision], revised: StatementRevision | None) -> str:
    if revised is None:
        return ""
    before = first[revised.creator_id]
    return f"Revised by a late arrival (revision 1 said {before.amount} {before.currency or ''})"


def _statement_panel(title: str, statement: StatementRevision) -> Panel:
    table = Table(title="top posts", title_justify="left", box=None, pad_edge=False)
    for column in ("post", "format", "metric", "count", "points"):
        table.add_column(
            column, justify="left" if column in ("post", "format", "metric") else "right"
        )
    posts = sorted(statement.breakdown.by_post, key=lambda post: -Decimal(post.points))[:3]
    for post in posts:
        note = " (restricted)" if post.restricted else " (capped)" if post.capped else ""
        for line in post.metrics:
            table.add_row(
                post.post_id + note, line.format, line.metric, f"{line.count:,}", line.points
            )
    header = (
        f"[bold]{statement.creator_id}[/] in {statement.market or '-'}, revision "
        f"{statement.revision}: [bold]{statement.amount} {statement.currency or ''}[/] for "
        f"{statement.points} points; flags: {', '.join(statement.flags) or '-'}; reasons: "
        f"{', '.join(statement.reasons) or '-'}"
    )
    return Panel.fit(
        Group(header, *statement.explanation, table),
        title=title,
        subtitle=f"rules {statement.rules_hash[:19]}...",
    )
