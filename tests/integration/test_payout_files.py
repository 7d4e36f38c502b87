"""The payout files a run writes (SPEC 8), through the real pipeline: one pair per
summary revision, rows equal to the statements, deltas that are exactly the changes."""

import csv
import io
import json
from pathlib import Path
from typing import Any

from integration_support import BusCapture

from bonus_engine.periods import Period
from bonus_local.emulator import Emulation
from bonus_local.pipeline import LocalPipeline
from bonus_local.replay import read_engagement, read_facts

REPOSITORY = Path(__file__).resolve().parents[2]
SMALL = REPOSITORY / "examples" / "small"
MARCH = Period.parse("2026-03")
PREFIX = "payouts/spring-bonus/2026-03/"


def files(emulation: Emulation) -> dict[str, bytes]:
    s3, bucket = emulation.s3, emulation.bucket_name("PayoutExportBucket")
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=PREFIX).get("Contents", [])
    return {
        item["Key"]: s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read() for item in listed
    }


def rows(data: bytes) -> dict[str, dict[str, Any]]:
    return {row["creator_id"]: row for row in csv.DictReader(io.StringIO(data.decode()))}


def test_a_late_event_writes_revision_two_whose_deltas_are_exactly_the_changes(
    pipeline: LocalPipeline, emulation: Emulation
) -> None:
    bus = BusCapture(emulation, ["PayoutFileReady"])
    pipeline.put_facts(read_facts(SMALL / "facts.jsonl"))
    pipeline.send_engagement(read_engagement(SMALL / "engagement.jsonl"))
    pipeline.request_compute("spring-bonus", MARCH)
    first = {s.creator_id: s for s in pipeline.statements("spring-bonus", MARCH)}
    pipeline.request_compute("spring-bonus", MARCH)  # nothing new: no new files

    late = {
        "event_id": "c-late-1", "creator_id": "chiyo", "post_id": "c-2", "format": "carousel",
        "metric": "view", "count": 900000, "occurred_at": "2026-03-30T10:00:00+09:00",
    }  # fmt: skip
    pipeline.send_engagement([json.dumps(late)])
    pipeline.request_compute("spring-bonus", MARCH)
    second = {s.creator_id: s for s in pipeline.statements("spring-bonus", MARCH)}

    written = files(emulation)
    assert sorted(written) == [
        f"{PREFIX}revision-1.csv",
        f"{PREFIX}revision-1.manifest.json",
        f"{PREFIX}revision-2.csv",
        f"{PREFIX}revision-2.manifest.json",
    ]
    revision_1, revision_2 = (
        rows(written[f"{PREFIX}revision-1.csv"]),
        rows(written[f"{PREFIX}revision-2.csv"]),
    )
    assert set(revision_1) == {c for c, s in first.items() if s.amount_minor > 0}
    changed = {c for c in second if second[c].amount_minor != first[c].amount_minor}
    assert changed == {"chiyo"}
    deltas = {c: int(row["delta_minor"]) for c, row in revision_2.items()}
    assert {c: d for c, d in deltas.items() if d} == {
        "chiyo": second["chiyo"].amount_minor - first["chiyo"].amount_minor
    }
    for creator, row in revision_2.items():
        assert int(row["amount_minor"]) == second[creator].amount_minor
        assert int(row["statement_revision"]) == second[creator].revision
    announced = bus.details("PayoutFileReady")
    assert [(d["revision"], d["csv_key"]) for d in announced] == [
        (1, f"{PREFIX}revision-1.csv"),
        (2, f"{PREFIX}revision-2.csv"),
    ]
    assert all("amount" not in json.dumps(d) for d in announced)
