"""Hand-made, realistic inputs for the HTML reports: a computed period of three markets
(a budget, milestones, a pool) with three revisions, and a simulation of two candidates.

Deterministic (a seeded generator): the unit tests, the browser test and the picture in
docs/REPORT.md all render the same pages.
"""

import random
from typing import Any

from bonus_local.report import PeriodReport, SummaryRevision

PROGRAM_ID = "spring-bonus"
PERIOD = "2026-03"
RULES_HASH = "sha256:5f0c9d1e27b84a6c93f1d0e8b7a4c2f1e6d5b3a29c8f7e1d0b4a6c9e2f1d3b5a"
REASONS = ["not_invited", "too_few_followers", "policy_strikes", "not_adult", "not_professional"]


def _us_amount(rng: random.Random) -> int:
    """Cents: most creators earn tens of dollars, a few reach the $2,000 cap."""
    return min(200_000, max(1_000, int(rng.lognormvariate(8.6, 0.9))))


def sample_statements(creators: int = 240, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    statements: list[dict[str, Any]] = []
    kr_points: list[int] = []
    for number in range(creators):
        market, currency = rng.choice([("US", "USD"), ("JP", "JPY"), ("KR", "KRW")])
        reasons = [rng.choice(REASONS)] if rng.random() < 0.22 else []
        statement: dict[str, Any] = {
            "creator_id": f"creator-{number:05d}",
            "market": market,
            "currency": currency,
            "eligible": not reasons,
            "reasons": reasons,
            "points": "0",
            "amount": "0",
            "amount_minor": 0,
            "flags": [],
            "revision": rng.choice([1, 1, 1, 2, 3]),
        }
        if not reasons:
            posts = rng.randint(0, 9)
            if posts == 0:
                statement["flags"] = ["below_min_posts"]
            elif market == "US":
                statement["amount_minor"] = _us_amount(rng)
                statement["flags"] = ["budget_scaled"] + (
                    ["capped"] if statement["amount_minor"] == 200_000 else []
                )
            elif market == "JP":
                statement["amount_minor"] = rng.choice([0, 5_000, 5_000, 5_000, 60_000])
            else:
                kr_points.append(number)
            statement["points"] = str(rng.randint(1_000, 3_000_000))
        statements.append(statement)
    # The KR pool (100,000,000 KRW) shared by points among its paid creators.
    weights = {n: rng.randint(1, 40) for n in kr_points}
    total_weight = sum(weights.values())
    for number, weight in weights.items():
        statements[number]["amount_minor"] = 100_000_000 * weight // total_weight
    for statement in statements:
        if 0 < statement["amount_minor"] < 1_000 and statement["currency"] == "USD":
            statement["amount_minor"] = 0
            statement["flags"].append("below_minimum")
        statement["amount"] = _major(statement["amount_minor"], statement["currency"])
    return statements


def _major(minor: int, currency: str) -> str:
    if currency == "USD":
        return f"{minor // 100}.{minor % 100:02d}"
    return str(minor)


def _summary(statements: list[dict[str, Any]], scale: tuple[int, int], late: int) -> dict[str, Any]:
    """A RunSummary as model_dump(mode="json") gives it; `scale` shrinks the totals of
    an earlier revision (numerator, denominator)."""
    limits = {"US": ("budget", "5000.00"), "JP": (None, None), "KR": ("pool", "100000000")}
    models = {"US": "rate", "JP": "milestones", "KR": "pool"}
    markets = []
    for name, currency in (("JP", "JPY"), ("KR", "KRW"), ("US", "USD")):
        mine = [s for s in statements if s["market"] == name]
        total = sum(s["amount_minor"] for s in mine) * scale[0] // scale[1]
        limit_kind, limit = limits[name]
        markets.append(
            {
                "market": name,
                "currency": currency,
                "model": models[name],
                "creators": len(mine),
                "eligible": sum(1 for s in mine if s["eligible"]),
                "paid": sum(1 for s in mine if s["amount_minor"] > 0),
                "total_paid": _major(total, currency),
                "total_paid_minor": total,
                "limit_kind": limit_kind,
                "limit": limit,
            }
        )
    return {
        "program_id": PROGRAM_ID,
        "period": PERIOD,
        "rules_hash": RULES_HASH,
        "creators_evaluated": len(statements),
        "creators_eligible": sum(1 for s in statements if s["eligible"]),
        "creators_paid": sum(1 for s in statements if s["amount_minor"] > 0),
        "markets": markets,
        "events": {"accepted": 48_210 + late, "rejected": 37, "late": late},
        "held": 0,
    }


def sample_period_report() -> PeriodReport:
    statements = sample_statements()
    return PeriodReport(
        program_id=PROGRAM_ID,
        period=PERIOD,
        rules_hash=RULES_HASH,
        summaries=[
            SummaryRevision(1, "2026-04-03T00:00:12Z", _summary(statements, (9, 10), 0)),
            SummaryRevision(2, "2026-04-05T06:00:09Z", _summary(statements, (24, 25), 412)),
            SummaryRevision(3, "2026-04-09T12:00:31Z", _summary(statements, (1, 1), 655)),
        ],
        statements=statements,
        rejections={
            ("engagement", "invalid_event"): 21,
            ("engagement", "occurred_in_future"): 3,
            ("engagement", "conflicting_duplicate"): 9,
            ("facts", "invalid_fact"): 4,
        },
        generated_at="2026-04-10T08:30:00Z",
    )


def sample_simulation(seed: int = 11) -> dict[str, Any]:
    """`bonus simulate`'s JSON (SPEC section 9): a baseline and two candidates."""
    rng = random.Random(seed)

    def market(currency: str, creators: int, eligible: int, paid: int, total_minor: int,
               limit: str | None) -> dict[str, Any]:  # fmt: skip
        return {
            "currency": currency,
            "creators": creators,
            "eligible": eligible,
            "paid": paid,
            "total": _major(total_minor, currency),
            "total_minor": total_minor,
            "limit": limit,
        }

    programs = [
        {
            "rules": "programs/spring-bonus.yaml",
            "hash": RULES_HASH,
            "markets": {
                "US": market("USD", 80, 62, 55, 41_230_55, "50000.00"),
                "JP": market("JPY", 81, 60, 48, 690_000, None),
                "KR": market("KRW", 79, 64, 57, 100_000_000, "100000000"),
            },
        },
        {
            "rules": "candidates/lower-followers.yaml",
            "hash": "sha256:a1" + "0" * 62,
            "markets": {
                "US": market("USD", 80, 70, 63, 45_872_10, "50000.00"),
                "JP": market("JPY", 81, 69, 55, 765_000, None),
                "KR": market("KRW", 79, 71, 63, 100_000_000, "100000000"),
            },
        },
        {
            "rules": "candidates/steeper-tiers.yaml",
            "hash": "sha256:b2" + "0" * 62,
            "markets": {
                "US": market("USD", 80, 62, 51, 38_950_00, "50000.00"),
                "JP": market("JPY", 81, 60, 48, 745_000, None),
                "KR": market("KRW", 79, 64, 57, 100_000_000, "100000000"),
            },
        },
    ]
    changes = []
    for candidate in ("candidates/lower-followers.yaml", "candidates/steeper-tiers.yaml"):
        for number in rng.sample(range(240), 60):
            name, currency = rng.choice([("US", "USD"), ("JP", "JPY"), ("KR", "KRW")])
            newly = candidate.endswith("followers.yaml") and rng.random() < 0.3
            before = 0 if newly else rng.randint(1_000, 120_000)
            if currency == "KRW":
                before *= 20
            if newly:
                after = rng.randint(1_500, 90_000) * (20 if currency == "KRW" else 1)
            else:
                after = max(0, before + int(rng.gauss(0, before / 4 + 2_000)))
            changes.append(
                {
                    "candidate": candidate,
                    "creator_id": f"creator-{number:05d}",
                    "market": name,
                    "eligible_before": not newly,
                    "eligible_after": True,
                    "amount_minor_before": before,
                    "amount_minor_after": after,
                }
            )
    return {
        "period": PERIOD,
        "inputs": {"events_accepted": 48_865, "rejected": 37},
        "programs": programs,
        "changes": changes,
    }
