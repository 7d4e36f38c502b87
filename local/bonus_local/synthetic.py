"""A synthetic month of a program, for the demo and the benchmarks: creators in KR, JP
and the US (and a few outside the program), their facts and their engagement, with the
mess real inputs have: duplicates, invalid events, out-of-order and late facts."""

import json
import random
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bonus_engine.periods import Period
from bonus_engine.timestamps import to_utc_text

MARKETS = [("KR", 40), ("JP", 25), ("US", 30), ("FR", 3), ("BR", 2)]
PERSONAL_CAPS = {"US": "250.00", "JP": "10000", "KR": "1200000", "FR": "100", "BR": "100"}


@dataclass
class SyntheticMonth:
    period: Period
    facts: list[dict[str, Any]] = field(default_factory=list)  # PutEvents entries
    engagement: list[str] = field(default_factory=list)  # SQS message bodies
    late_facts: list[dict[str, Any]] = field(default_factory=list)
    late_engagement: list[str] = field(default_factory=list)
    events: int = 0  # distinct valid events in `engagement`
    duplicate_messages: int = 0
    planted_invalid: int = 0


def synthetic_month(program_id: str, period: Period, creators: int, seed: int) -> SyntheticMonth:
    rng = random.Random(seed)
    month = SyntheticMonth(period)
    events: list[dict[str, Any]] = []
    countries = [code for code, weight in MARKETS for _ in range(weight)]
    for number in range(creators):
        country = rng.choice(countries)
        creator = f"{country.lower()}-{number:05d}"
        month.facts += _facts(rng, program_id, period, creator, country)
        events += _engagement(rng, period, creator)
        if rng.random() < 0.02:  # a late strike: arrives after the month was computed
            month.late_facts.append(
                _fact(
                    "PolicyStrikeIssued", creator, _instant(rng, period), strike_id=f"late-{number}"
                )
            )
    rng.shuffle(month.facts)  # facts arrive in any order; they apply by occurred_at
    month.events = len(events)
    month.engagement = _messages(rng, events, month)
    late = [e for e in _engagement(rng, period, "kr-late") if e["count"] > 0][:0]
    for creator in rng.sample([f["detail"]["creator_id"] for f in month.facts], 15):
        late.append(_event(rng, period, creator, f"{creator}-late", "reel", "view", 40000))
    month.late_engagement = [json.dumps({"events": late})]
    return month


def _facts(
    rng: random.Random, program_id: str, period: Period, creator: str, country: str
) -> list[dict[str, Any]]:
    before = period.start - timedelta(days=rng.randint(20, 180))
    facts = [
        _fact(
            "CreatorProfileChanged",
            creator,
            before,
            account_type="professional" if rng.random() < 0.94 else "personal",
            country=country,
            adult=rng.random() < 0.98,
            followers=int(rng.lognormvariate(8.5, 1.2)),
        )
    ]
    if rng.random() < 0.92:
        invited = before + timedelta(days=rng.randint(1, 15))
        extra = {"bonus_cap": PERSONAL_CAPS[country]} if rng.random() < 0.08 else {}
        facts.append(_fact("CreatorInvited", creator, invited, program_id=program_id, **extra))
        if rng.random() < 0.03:
            facts.append(
                _fact(
                    "CreatorInvitationRevoked",
                    creator,
                    _instant(rng, period),
                    program_id=program_id,
                )
            )
    if rng.random() < 0.04:
        issued = _instant(rng, period)
        expires = (
            {"expires_at": to_utc_text(issued + timedelta(days=3))} if rng.random() < 0.4 else {}
        )
        facts.append(
            _fact("PolicyStrikeIssued", creator, issued, strike_id=f"s-{creator}", **expires)
        )
        if rng.random() < 0.3:
            facts.append(
                _fact(
                    "PolicyStrikeLifted",
                    creator,
                    issued + timedelta(days=1),
                    strike_id=f"s-{creator}",
                )
            )
    if rng.random() < 0.02:
        facts.append(
            _fact("PostRestricted", creator, _instant(rng, period), post_id=f"{creator}-p0")
        )
    return facts


def _engagement(rng: random.Random, period: Period, creator: str) -> list[dict[str, Any]]:
    events = []
    for post in range(rng.choice([0, 1, 1, 2, 2, 3, 4, 6])):
        post_id = f"{creator}-p{post}"
        format_ = rng.choice(["reel", "reel", "carousel", "standard"])
        reach = rng.lognormvariate(9, 1.3)
        for metric, share in (("view", 1), ("like", 0.05), ("comment", 0.004), ("share", 0.002)):
            count = int(reach * share * rng.uniform(0.5, 1.5))
            if count:
                events.append(_event(rng, period, creator, post_id, format_, metric, count))
        if rng.random() < 0.1:  # an unlike, a deleted comment
            events.append(
                _event(rng, period, creator, post_id, format_, "like", -rng.randint(1, 20))
            )
    return events


def _event(
    rng: random.Random,
    period: Period,
    creator: str,
    post_id: str,
    format_: str,
    metric: str,
    count: int,
) -> dict[str, Any]:
    event = {
        "event_id": f"{post_id}-{metric}-{rng.getrandbits(40):010x}",
        "creator_id": creator,
        "post_id": post_id,
        "format": format_,
        "metric": metric,
        "count": count,
        "occurred_at": to_utc_text(_instant(rng, period)),
    }
    if rng.random() < 0.03:
        event["quality"] = rng.choice(["paid", "self", "invalid"])
    return event


def _messages(rng: random.Random, events: list[dict[str, Any]], month: SyntheticMonth) -> list[str]:
    rng.shuffle(events)
    messages: list[str] = []
    start = 0
    while start < len(events):
        size = 1 if rng.random() < 0.1 else rng.randint(20, 100)
        chunk = [_maybe_broken(rng, event, month) for event in events[start : start + size]]
        start += size
        messages.append(json.dumps(chunk[0] if size == 1 else {"events": chunk}))
    for _ in range(3):
        messages.insert(rng.randrange(len(messages)), "views=1200&creator=kr-00001")
        month.planted_invalid += 1
    duplicates = rng.sample(messages, max(1, len(messages) * 3 // 100))
    month.duplicate_messages = len(duplicates)
    for message in duplicates:  # SQS delivers at least once
        messages.insert(rng.randrange(len(messages)), message)
    return messages


def _maybe_broken(
    rng: random.Random, event: dict[str, Any], month: SyntheticMonth
) -> dict[str, Any]:
    if rng.random() >= 0.005:
        return event
    month.planted_invalid += 1
    month.events -= 1
    broken = dict(event)
    flaw = rng.choice(["format", "count", "future", "field"])
    if flaw == "format":
        broken["format"] = "story"
    elif flaw == "count":
        broken["count"] = 0
    elif flaw == "future":
        broken["occurred_at"] = "2099-01-01T00:00:00Z"
    else:
        broken["country"] = "KR"
    return broken


def _fact(detail_type: str, creator: str, at: Any, **detail: Any) -> dict[str, Any]:
    return {
        "source": "creators",
        "detail-type": detail_type,
        "detail": {"creator_id": creator, "occurred_at": to_utc_text(at), **detail},
    }


def _instant(rng: random.Random, period: Period) -> Any:
    seconds = int((period.end - period.start).total_seconds())
    return period.start + timedelta(seconds=rng.randrange(seconds))
