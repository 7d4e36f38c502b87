"""`bonus simulate`: a period computed in process for program rules and candidates
(SPEC section 9), on the inputs `bonus replay` reads, with the functions' own rules code.

The engagement file is streamed: each line goes through the ingestion function's own
validation (`parse_message`) and deduplication rule (an `event_id` counts once; the first
accepted copy stands; a later copy with other content is a `conflicting_duplicate`), and
only the period's accepted events are summed into each creator's tally. What stays in
memory grows with creators, posts and distinct `event_id`s, not with the lines read.
Facts go through `parse_fact` as the eligibility function reads them. Then each rules
file is computed with `compute_period`, the function the sharded run is tested against.
"""

import argparse
import importlib
import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bonus_engine.computation import CreatorInputs
from bonus_engine.eligibility import judge_eligibility, restricted_posts
from bonus_engine.engagement import MessageContext, parse_message
from bonus_engine.facts import FACT_SOURCE, Fact, InvalidFact, UnknownFactType, parse_fact
from bonus_engine.money import format_decimal, format_minor
from bonus_engine.payout import PreparedPayout, market_totals, pay, prepare, settle
from bonus_engine.periods import Period
from bonus_engine.program_rules import (
    LoadedProgram,
    PoolPayout,
    ProgramRulesError,
    ScoringRules,
    load_program_rules,
)
from bonus_engine.rejections import RejectionReason
from bonus_engine.scoring import TallyKey, score_creator
from bonus_local.pipeline import SQS_MESSAGE_LIMIT
from bonus_local.replay import ReplayInputError

FACT_ENTRY_KEYS = frozenset({"source", "detail-type", "detail"})


@dataclass
class SimulationInputs:
    """The period's inputs as the functions would have stored them."""

    period: Period
    facts: dict[str, list[Fact]] = field(default_factory=dict)  # by creator, once each
    tallies: dict[str, dict[TallyKey, int]] = field(default_factory=dict)  # the period's
    events_accepted: int = 0  # distinct event_ids of the period
    rejected: Counter[str] = field(default_factory=Counter)  # by reason, any period

    def creators(self) -> dict[str, CreatorInputs]:
        """Who gets a statement: a fact that occurred before the period's end, or
        engagement in the period (as a computation shard decides)."""
        end = self.period.end
        chosen = {
            creator
            for creator, facts in self.facts.items()
            if any(fact.occurred_at < end for fact in facts)
        } | set(self.tallies)
        return {
            creator: CreatorInputs(self.facts.get(creator, []), self.tallies.get(creator, {}))
            for creator in sorted(chosen)
        }


# --- reading ------------------------------------------------------------------------------


def _numbered_lines(path: Path) -> Iterator[tuple[int, str]]:
    """The file's non-blank lines, one at a time, numbered from 1 (without their end)."""
    number = 0
    try:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, 1):
                text = line.rstrip("\n")
                if text.strip():
                    yield number, text
    except FileNotFoundError:
        raise ReplayInputError(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise ReplayInputError(
            f"{path}:{number + 1}: not UTF-8 text (byte {error.start} of a read block)"
        ) from None
    except OSError as error:
        raise ReplayInputError(f"{path}: cannot be read: {error.strerror}") from None


def read_facts(path: Path, into: SimulationInputs) -> None:
    """One PutEvents entry a line. An entry that is not one stops the simulation (as it
    stops `bonus replay`); a fact the eligibility function would reject is counted."""
    for number, line in _numbered_lines(path):
        try:
            entry = json.loads(line)
        except ValueError as error:
            raise ReplayInputError(f"{path}:{number}: not JSON: {error}") from None
        if not isinstance(entry, dict) or not set(entry) >= FACT_ENTRY_KEYS:
            raise ReplayInputError(
                f"{path}:{number}: a PutEvents entry needs source, detail-type and detail"
            )
        unknown = set(entry) - FACT_ENTRY_KEYS
        if unknown:
            raise ReplayInputError(f"{path}:{number}: unknown keys {sorted(unknown)}")
        if not isinstance(entry["source"], str) or not isinstance(entry["detail-type"], str):
            raise ReplayInputError(f"{path}:{number}: source and detail-type must be strings")
        if not isinstance(entry["detail"], dict):
            raise ReplayInputError(f"{path}:{number}: detail must be a JSON object")
        if entry["source"] != FACT_SOURCE:
            continue  # not a creator fact: the bus delivers it to no function of ours
        try:
            fact = parse_fact(entry["detail-type"], entry["detail"])
        except UnknownFactType:
            into.rejected[RejectionReason.UNKNOWN_FACT_TYPE.value] += 1
            continue
        except InvalidFact:
            into.rejected[RejectionReason.INVALID_FACT.value] += 1
            continue
        # The same fact delivered twice is kept twice here: the rules read a creator's
        # facts once each by fact_id (`sorted_timeline`), as the stored facts are.
        into.facts.setdefault(fact.creator_id, []).append(fact)


def read_engagement(path: Path, into: SimulationInputs, now: datetime) -> None:
    """One SQS message body a line, judged by the ingestion function's `parse_message`.

    Deduplication keeps, per `event_id`, a 64-bit hash of what the event says (creator,
    post, format, metric, count, instant in UTC, quality: what the stored digest covers);
    equal hashes are the same content, as equal digests are for ingestion."""
    start, end = into.period.start, into.period.end
    seen: dict[str, int] = {}
    tallies = into.tallies
    rejected = into.rejected
    accepted = 0
    conflicts = 0
    for number, line in _numbered_lines(path):
        if len(line) * 4 > SQS_MESSAGE_LIMIT and len(line.encode()) > SQS_MESSAGE_LIMIT:
            raise ReplayInputError(f"{path}:{number}: over SQS's 256 KB message limit")
        parsed = parse_message(line, MessageContext(f"line-{number}", now), now)
        for rejection in parsed.rejections:
            rejected[rejection.reason.value] += 1
        for event in parsed.events:
            occurred_at = event.occurred_at
            content = hash(
                (
                    event.creator_id,
                    event.post_id,
                    event.format,
                    event.metric,
                    event.count,
                    occurred_at,
                    event.quality,
                )
            )
            known = len(seen)
            first = seen.setdefault(event.event_id, content)
            if len(seen) == known:  # the event_id was accepted before
                if first != content:
                    conflicts += 1  # other content: rejected, the first stands
                continue  # same content: a duplicate, counted once
            if start <= occurred_at < end:
                accepted += 1
                tally = tallies.get(event.creator_id)
                if tally is None:
                    tally = tallies[event.creator_id] = {}
                key = (event.post_id, event.format, event.metric, event.quality)
                tally[key] = tally.get(key, 0) + event.count
    into.events_accepted += accepted
    if conflicts:
        rejected[RejectionReason.CONFLICTING_DUPLICATE.value] += conflicts


def read_simulation_inputs(
    facts_path: Path, engagement_path: Path, period: Period, now: datetime
) -> SimulationInputs:
    inputs = SimulationInputs(period)
    read_facts(facts_path, inputs)
    read_engagement(engagement_path, inputs, now)
    return inputs


def read_stored_inputs(
    dynamodb: Any, period: Period, facts_table: str, engagement_table: str
) -> SimulationInputs:
    """The period's inputs as a deployed or emulated stack stored them: each creator
    bucket's facts and month of engagement (one paginated Query each, read only), with
    the same stores the computation reads through."""
    from bonus_engine.storage.dynamo import Table
    from bonus_engine.storage.engagement_store import EngagementStore
    from bonus_engine.storage.facts_store import FactsStore
    from bonus_engine.storage.keys import CREATOR_BUCKETS, Shard

    facts = FactsStore(Table(dynamodb, facts_table))
    engagement = EngagementStore(Table(dynamodb, engagement_table))
    inputs = SimulationInputs(period)
    for bucket in range(CREATOR_BUCKETS):
        stored = facts.shard_facts(Shard.whole(bucket))
        inputs.facts.update(stored.facts)
        if stored.unreadable:
            inputs.rejected["unreadable_fact"] += len(stored.unreadable)
        month = engagement.shard_engagement(period, Shard.whole(bucket), None)
        inputs.tallies.update(month.tallies)
        inputs.events_accepted += month.accepted
    return inputs


# --- computing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What `changes` compares: one creator's result under one rules file."""

    market: str | None
    eligible: bool
    amount_minor: int


@dataclass
class _Drafts:
    """One rules file's creators, judged and prepared, before the market settlement."""

    program: LoadedProgram
    decisions: dict[str, tuple[str | None, bool]] = field(default_factory=dict)
    prepared: dict[str, dict[str, PreparedPayout]] = field(default_factory=dict)  # by market


def compute_outcomes(
    programs: Sequence[LoadedProgram], period: Period, creators: Mapping[str, CreatorInputs]
) -> list[dict[str, Outcome]]:
    """Each creator's market, eligibility and amount under each rules file, by the
    functions a period's computation composes (`draft_creator`, `totals_by_market`,
    `settle_markets`, `finish_statement`): `judge_eligibility`, `restricted_posts`,
    `score_creator`, `prepare`, `market_totals`, `settle`, `pay`. What a statement adds
    around them (its breakdown and explanation in words) is not built: it is most of a
    statement's cost and no part of its amount. tests/unit/test_simulation.py holds this
    equal to `compute_period`.

    Points depend on the scoring rules only: rules files with equal scoring share them."""
    drafts = [_Drafts(program) for program in programs]
    scorings: list[ScoringRules] = []
    scoring_of = []
    for program in programs:
        scoring = program.rules.scoring
        if scoring not in scorings:
            scorings.append(scoring)
        scoring_of.append(scorings.index(scoring))
    end = period.end
    for creator_id, inputs in creators.items():
        restricted = restricted_posts(inputs.facts)
        points = [score_creator(scoring, inputs.tally, restricted) for scoring in scorings]
        for index, draft in enumerate(drafts):
            rules = draft.program.rules
            decision = judge_eligibility(rules, inputs.facts, end)
            draft.decisions[creator_id] = (decision.market, decision.eligible)
            market = rules.markets.get(decision.market) if decision.market else None
            if market is None:
                continue
            scored = points[scoring_of[index]]
            draft.prepared.setdefault(decision.market or "", {})[creator_id] = prepare(
                market,
                scored.points,
                scored.qualifying_posts,
                decision.eligible,
                decision.bonus_cap,
            )
    return [_settle(draft) for draft in drafts]


def _settle(draft: _Drafts) -> dict[str, Outcome]:
    amounts: dict[str, int] = {}
    for name, market in draft.program.rules.markets.items():
        prepared = draft.prepared.get(name, {})
        settlement = settle(market, market_totals(market, prepared.values()))
        for creator_id, item in prepared.items():
            amounts[creator_id] = pay(market, item, settlement).amount_minor
    return {
        creator_id: Outcome(market, eligible, amounts.get(creator_id, 0))
        for creator_id, (market, eligible) in draft.decisions.items()
    }


def program_entry(
    program: LoadedProgram, rules: str, outcomes: Mapping[str, Outcome]
) -> dict[str, Any]:
    """The `programs` entry of one rules file: every market, with or without creators."""
    markets: dict[str, dict[str, Any]] = {}
    for name, market in sorted(program.rules.markets.items()):
        lines = [outcome for outcome in outcomes.values() if outcome.market == name]
        total_minor = sum(outcome.amount_minor for outcome in lines)
        payout = market.payout
        if isinstance(payout, PoolPayout):
            limit: str | None = format_decimal(payout.pool)
        else:
            limit = None if market.budget is None else format_decimal(market.budget)
        markets[name] = {
            "currency": market.currency,
            "creators": len(lines),
            "eligible": sum(1 for outcome in lines if outcome.eligible),
            "paid": sum(1 for outcome in lines if outcome.amount_minor > 0),
            "total": format_minor(total_minor, market.currency),
            "total_minor": total_minor,
            "limit": limit,
        }
    return {"rules": rules, "hash": program.content_hash, "markets": markets}


def changes(
    candidate: str, before: dict[str, Outcome], after: dict[str, Outcome]
) -> list[dict[str, Any]]:
    """One entry per creator whose eligibility or amount differs (both sides have the same
    creators: who gets a statement does not depend on the rules)."""
    lines = []
    for creator_id in sorted(before.keys() | after.keys()):
        old = before.get(creator_id, Outcome(None, False, 0))
        new = after.get(creator_id, Outcome(None, False, 0))
        if old.eligible == new.eligible and old.amount_minor == new.amount_minor:
            continue
        lines.append(
            {
                "candidate": candidate,
                "creator_id": creator_id,
                "market": new.market if new.market is not None else old.market,
                "eligible_before": old.eligible,
                "eligible_after": new.eligible,
                "amount_minor_before": old.amount_minor,
                "amount_minor_after": new.amount_minor,
            }
        )
    return lines


def simulate(
    baseline: tuple[str, LoadedProgram],
    candidates: Sequence[tuple[str, LoadedProgram]],
    inputs: SimulationInputs,
) -> dict[str, Any]:
    """SPEC section 9's JSON object. Each rules file is named by its path as given."""
    named = [baseline, *candidates]
    outcomes = compute_outcomes([program for _, program in named], inputs.period, inputs.creators())
    changed: list[dict[str, Any]] = []
    for (name, _), after in zip(candidates, outcomes[1:], strict=True):
        changed += changes(name, outcomes[0], after)
    changed.sort(key=lambda line: (line["candidate"], line["creator_id"]))
    return {
        "period": inputs.period.name,
        "inputs": {
            "events_accepted": inputs.events_accepted,
            "rejected": sum(inputs.rejected.values()),
        },
        "programs": [
            program_entry(program, name, result)
            for (name, program), result in zip(named, outcomes, strict=True)
        ],
        "changes": changed,
    }


def run_simulation(
    program_path: Path,
    candidate_paths: Sequence[Path],
    facts_path: Path | None,
    engagement_path: Path | None,
    period_name: str,
    now: datetime | None = None,
    stored: "StoredSource | None" = None,
) -> dict[str, Any]:
    """Raises ProgramRulesError (a bad rules file) or ReplayInputError (anything else).
    The rules are all loaded first, so a bad one stops before any input is read. The
    inputs come from the files, or from a stack's tables (`stored`)."""
    try:
        period = Period.parse(period_name)
    except ValueError as error:
        raise ReplayInputError(f"--period: {error}") from None
    baseline = (str(program_path), load_program_rules(program_path))
    candidates = [(str(path), load_program_rules(path)) for path in candidate_paths]
    if stored is not None:
        inputs = read_stored_inputs(
            stored.dynamodb, period, stored.facts_table, stored.engagement_table
        )
    elif facts_path is not None and engagement_path is not None:
        inputs = read_simulation_inputs(
            facts_path, engagement_path, period, now or datetime.now(UTC)
        )
    else:
        raise ReplayInputError("give --facts and --engagement, or --from-tables")
    return simulate(baseline, candidates, inputs)


@dataclass(frozen=True)
class StoredSource:
    """A stack's tables to read a period's inputs from (read only)."""

    dynamodb: Any
    facts_table: str
    engagement_table: str


# --- the command ------------------------------------------------------------------------------


def register(
    subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]",
) -> Callable[[argparse.Namespace], int]:
    """Add `bonus simulate` to the CLI's sub-commands; returns the function that runs it."""
    command = subparsers.add_parser(
        "simulate", help="compute a period in process for program rules and candidates"
    )
    command.add_argument("--program", required=True, type=Path, help="baseline rules YAML")
    command.add_argument(
        "--candidate",
        action="append",
        default=[],
        type=Path,
        help="candidate rules YAML, compared with the baseline (repeatable)",
    )
    command.add_argument("--facts", type=Path, help="PutEvents entries, JSONL")
    command.add_argument("--engagement", type=Path, help="SQS bodies, JSONL")
    command.add_argument(
        "--from-tables",
        action="store_true",
        help="read the period's stored facts and engagement from a stack's tables instead "
        "(the local emulation with --endpoint, else AWS with your credentials; read only)",
    )
    command.add_argument("--endpoint", help="a local emulation, e.g. http://127.0.0.1:5000")
    command.add_argument("--facts-table", help="CreatorFactsTable (default: the template's)")
    command.add_argument("--engagement-table", help="EngagementTable (default: the template's)")
    command.add_argument("--period", required=True, help="the month to compute, YYYY-MM")
    command.add_argument("--out", type=Path, help="write the result here (default: stdout)")
    command.add_argument("--html", type=Path, help="also write an HTML report here")
    return run_command


def run_command(args: argparse.Namespace) -> int:
    try:
        result = run_simulation(
            args.program,
            args.candidate,
            args.facts,
            args.engagement,
            args.period,
            stored=_stored_source(args) if args.from_tables else None,
        )
    except (ProgramRulesError, ReplayInputError) as error:
        print(f"bonus: {error}", file=sys.stderr)
        return 2
    text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    try:
        if args.out:
            args.out.write_text(text, encoding="utf-8")
        else:
            sys.stdout.write(text)
        if args.html:
            args.html.write_text(_render_report(result), encoding="utf-8")
    except OSError as error:
        print(f"bonus: {error.filename}: cannot be written: {error.strerror}", file=sys.stderr)
        return 2
    return 0


def _stored_source(args: argparse.Namespace) -> StoredSource:
    from bonus_local.emulator import dynamodb_client
    from bonus_local.template import load_template

    tables = load_template().tables
    return StoredSource(
        dynamodb_client(args.endpoint),
        args.facts_table or tables["CreatorFactsTable"].name,
        args.engagement_table or tables["EngagementTable"].name,
    )


def _render_report(result: dict[str, Any]) -> str:
    """The HTML page of `bonus_local.report`, imported only when asked for."""
    report = importlib.import_module("bonus_local.report")
    render: Callable[[dict[str, Any]], str] = report.render_simulation_report
    return render(result)


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m bonus_local.simulate ...`: the sub-command on its own."""
    parser = argparse.ArgumentParser(prog="bonus")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["simulate", *(sys.argv[1:] if argv is None else argv)])
    return run_command(args)


if __name__ == "__main__":
    sys.exit(main())
