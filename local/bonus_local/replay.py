"""`bonus replay`: the inputs of SPEC section 6, read strictly, replayed on the emulation.

Input problems are reported as one line naming the file, the line and what is wrong.
"""

import json
import shutil
import tempfile
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bonus_engine.payout_export import payouts_prefix
from bonus_engine.periods import Period
from bonus_engine.program_rules import LoadedProgram, load_program_rules
from bonus_local.emulator import Emulation
from bonus_local.lambda_runtime import FunctionOutput
from bonus_local.pipeline import SQS_MESSAGE_LIMIT, LocalPipeline

ProgressFactory = Callable[[str, int], AbstractContextManager[Callable[[int], None]]]


class ReplayInputError(ValueError):
    """Unreadable input: the message is one line, `file[:line]: what`."""


@dataclass(frozen=True)
class ReplayInputs:
    program: LoadedProgram
    program_path: Path
    facts: list[dict[str, Any]]
    engagement: list[str]
    period: Period


def read_inputs(
    program_path: Path, facts_path: Path, engagement_path: Path, period_name: str
) -> ReplayInputs:
    """Raises ProgramRulesError (a bad rules file) or ReplayInputError (anything else)."""
    try:
        period = Period.parse(period_name)
    except ValueError as error:
        raise ReplayInputError(f"--period: {error}") from None
    program = load_program_rules(program_path)
    return ReplayInputs(
        program=program,
        program_path=program_path,
        facts=read_facts(facts_path),
        engagement=read_engagement(engagement_path),
        period=period,
    )


def _lines(path: Path) -> list[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReplayInputError(f"{path}: no such file") from None
    except UnicodeDecodeError as error:
        raise ReplayInputError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except OSError as error:
        raise ReplayInputError(f"{path}: cannot be read: {error.strerror}") from None
    return [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]


def read_facts(path: Path) -> list[dict[str, Any]]:
    """One PutEvents entry a line: {"source", "detail-type", "detail"}."""
    entries = []
    for number, line in _lines(path):
        try:
            entry = json.loads(line)
        except ValueError as error:
            raise ReplayInputError(f"{path}:{number}: not JSON: {error}") from None
        if not isinstance(entry, dict) or not {"source", "detail-type", "detail"} <= set(entry):
            raise ReplayInputError(
                f"{path}:{number}: a PutEvents entry needs source, detail-type and detail"
            )
        unknown = set(entry) - {"source", "detail-type", "detail"}
        if unknown:
            raise ReplayInputError(f"{path}:{number}: unknown keys {sorted(unknown)}")
        if not isinstance(entry["source"], str) or not isinstance(entry["detail-type"], str):
            raise ReplayInputError(f"{path}:{number}: source and detail-type must be strings")
        if not isinstance(entry["detail"], dict):
            raise ReplayInputError(f"{path}:{number}: detail must be a JSON object")
        entries.append(entry)
    return entries


def read_engagement(path: Path) -> list[str]:
    """One SQS message body a line, sent as it is (a line that is not JSON is sent too:
    the ingestion function rejects it with invalid_json)."""
    bodies = []
    for number, line in _lines(path):
        if len(line.encode()) > SQS_MESSAGE_LIMIT:
            raise ReplayInputError(f"{path}:{number}: over SQS's 256 KB message limit")
        bodies.append(line)
    return bodies


def replay(
    inputs: ReplayInputs,
    endpoint: str | None = None,
    output: FunctionOutput | None = None,
    progress: ProgressFactory | None = None,
    payouts: Path | None = None,
) -> dict[str, Any]:
    """Run the pipeline on the inputs and return SPEC section 6's JSON object; with
    `payouts`, also copy the period's payout files into that directory (SPEC section 8)."""
    now = datetime.now(UTC)
    if inputs.period.end > now:
        raise ReplayInputError(
            f"--period: {inputs.period} has not ended yet; only closed periods are computed"
        )
    started = now.replace(microsecond=0) - timedelta(seconds=1)
    bar = progress or (lambda label, total: nullcontext(lambda _: None))
    program_id = inputs.program.rules.program_id
    with tempfile.TemporaryDirectory(prefix="bonus-rules-") as rules_dir:
        # The functions read the rules from a directory, as from the rules layer.
        shutil.copyfile(inputs.program_path, Path(rules_dir) / f"{program_id}.yaml")
        with Emulation(endpoint=endpoint) as emulation:
            pipeline = LocalPipeline(emulation, Path(rules_dir), output)
            with bar("facts", len(inputs.facts)) as advance:
                pipeline.put_facts(inputs.facts, advance)
            with bar("engagement", len(inputs.engagement)) as advance:
                pipeline.send_engagement(inputs.engagement, advance)
            with bar("computation", 1) as advance:
                pipeline.request_compute(program_id, inputs.period)
                advance(1)
            result = replay_result(pipeline, program_id, inputs.period, started)
            if payouts is not None:
                copy_payouts(emulation, payouts, program_id, inputs.period)
            return result


def replay_result(
    pipeline: LocalPipeline, program_id: str, period: Period, since: datetime
) -> dict[str, Any]:
    latest = pipeline.latest_summary(program_id, period)
    if latest is None:
        raise RuntimeError(f"{program_id} {period} was not computed: see the function logs")
    revision, summary = latest
    return {
        "program_id": program_id,
        "period": period.name,
        "statements": [
            statement.model_dump(mode="json")
            for statement in pipeline.statements(program_id, period)
        ],
        "rejected": [_rejected(item) for item in pipeline.rejections_since(since)],
        "summary": {
            **summary.model_dump(mode="json"),
            "revision": revision,
            # Messages left in each dead-letter queue, by logical id: 0 unless a transient
            # fault kept failing (no input, however malformed, ends there).
            "dead_lettered": pipeline.dead_letters(),
        },
    }


def _rejected(item: dict[str, Any]) -> dict[str, Any]:
    fields = (
        "reason",
        "source",
        "detail",
        "period",
        "event_id",
        "creator_id",
        "position",
        "message_id",
        "raw",
    )
    result = {name: item.get(name) for name in fields}
    if result["position"] is not None:
        result["position"] = int(result["position"])
    return result


PAYOUT_BUCKET = "PayoutExportBucket"  # its logical id in template.yaml


def copy_payouts(emulation: Emulation, directory: Path, program_id: str, period: Period) -> int:
    """Copy every payout file of the period (`payouts/{program_id}/{period}/...`) from the
    emulated payout bucket into `directory`, under the same relative keys; return how many
    files were copied."""
    s3 = emulation.s3
    bucket = emulation.bucket_name(PAYOUT_BUCKET)
    root = directory.resolve()
    copied = 0
    pages = s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=payouts_prefix(program_id, period)
    )
    for page in pages:
        for item in page.get("Contents", []):
            key = item.get("Key", "")
            target = (root / key).resolve()
            if not target.is_relative_to(root):  # a key cannot write outside DIR
                raise ReplayInputError(f"--payouts: object key {key!r} leaves the directory")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
            copied += 1
    return copied
