"""The creator facts table: each creator's facts as a timeline, beside their decisions.

Items, all in the creator's bucket partition (pk = FACTS#<bucket>), so that one Query
(sk begins with `<creator>#`) reads a creator's whole record:
- a fact: sk = <creator>#<occurred_at UTC>#<fact id>. The fact id derives from the fact's
  content: a redelivered fact has the same key. The eligibility function stores a fact
  its Query did not find, with the change markers it needs, in one BatchWriteItem
  (`add_fact_marking`: the item is the same on every delivery, so a racing redelivery
  writes it again unchanged); `add_fact` is a conditional put (attribute_not_exists)
  that writes nothing the second time;
- the creator's current decision for a program: sk = <creator>#~decision#<program>
  (`~` sorts after every timestamp), replaced under an optimistic version check;
and change markers for closed periods a late fact affects (pk = CHANGED#<period>).
"""

import json
from collections import defaultdict
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime

from bonus_engine.facts import Fact, fact_detail, parse_fact
from bonus_engine.periods import Period
from bonus_engine.storage import keys
from bonus_engine.storage.change_markers import change_marker_items, changed_since
from bonus_engine.storage.dynamo import ConditionFailed, Item, Table
from bonus_engine.timestamps import to_utc_text

DECISION = "decision"


@dataclass(frozen=True)
class StoredDecision:
    eligible: bool
    reasons: tuple[str, ...]
    market: str | None
    version: int
    announced: bool
    as_of: str

    def same_decision(self, eligible: bool, reasons: Sequence[str], market: str | None) -> bool:
        return (self.eligible, self.reasons, self.market) == (eligible, tuple(reasons), market)


@dataclass
class CreatorRecord:
    """A creator's facts (in stored order) and current decisions, by program."""

    facts: list[Fact] = field(default_factory=list)
    decisions: dict[str, StoredDecision] = field(default_factory=dict)

    def has(self, fact: Fact) -> bool:
        return any(known.fact_id == fact.fact_id for known in self.facts)


@dataclass
class BucketFacts:
    facts: dict[str, list[Fact]]  # by creator
    unreadable: set[str]  # creators with a stored fact that cannot be read


class FactsStore:
    def __init__(self, table: Table) -> None:
        self.table = table

    def creator(self, creator_id: str) -> CreatorRecord:
        """The creator's facts and decisions (one strongly consistent Query)."""
        partition = keys.facts_partition(keys.creator_bucket(creator_id))
        record = CreatorRecord()
        for item in self.table.query(
            partition, prefix=keys.creator_prefix(creator_id), consistent=True
        ):
            if item["kind"] == DECISION:
                record.decisions[item["program_id"]] = _decision(item)
            else:
                record.facts.append(_fact(item))
        return record

    def timeline(self, creator_id: str) -> list[Fact]:
        return self.creator(creator_id).facts

    def decision(self, creator_id: str, program_id: str) -> StoredDecision | None:
        return self.creator(creator_id).decisions.get(program_id)

    def add_fact(self, fact: Fact, received_at: datetime) -> bool:
        """Store a fact once. True if it is new; False if it was already stored."""
        try:
            self.table.put(_fact_item(fact, received_at), condition="attribute_not_exists(pk)")
        except ConditionFailed:
            return False
        return True

    def add_fact_marking(
        self, fact: Fact, received_at: datetime, periods: Sequence[Period], marked_at: datetime
    ) -> None:
        """Store a fact the creator's record does not hold, with the change markers of the
        closed periods it changes, in one BatchWriteItem. Both are naturally idempotent:
        the fact's key derives from its content and its item from the fact and when the bus
        received it (`received_at`, the same on every delivery of the event), so a delivery
        that raced this one puts the very same item again. A batch that failed halfway may
        have stored the fact without its markers: whoever finds the fact stored marks the
        periods again (`mark_changed`)."""
        self.table.batch_put(
            [
                *change_marker_items(periods, marked_at, fact.fact_id, "facts"),
                _fact_item(fact, received_at),
            ]
        )

    def mark_changed(self, periods: Sequence[Period], at: datetime, marker_id: str) -> None:
        self.table.batch_put(change_marker_items(periods, at, marker_id, "facts"))

    def changed_since(self, period: Period, since: datetime) -> bool:
        return changed_since(self.table, period, since)

    def shard_facts(self, shard: keys.Shard) -> "BucketFacts":
        """Every fact of a shard's creators, by creator (one paginated Query). A stored
        fact that no longer reads (stored before a rule of its fields tightened) marks
        its creator as unreadable, never the shard."""
        facts: dict[str, list[Fact]] = defaultdict(list)
        unreadable: set[str] = set()
        partition = keys.facts_partition(shard.bucket)
        for item in self.table.query(partition, between=shard.sort_key_range()):
            if item["kind"] == DECISION:
                continue
            try:
                facts[item["creator_id"]].append(_fact(item))
            except (ValueError, KeyError):
                unreadable.add(item["creator_id"])
        return BucketFacts(facts=dict(facts), unreadable=unreadable)

    def save_decision(
        self,
        creator_id: str,
        program_id: str,
        eligible: bool,
        reasons: Sequence[str],
        market: str | None,
        as_of: datetime,
        previous: StoredDecision | None,
    ) -> int:
        """Replace the decision if it is still `previous` (optimistic version check);
        raise ConditionFailed if another writer got there first. Returns the version."""
        version = previous.version + 1 if previous else 1
        condition = "version = :previous" if previous else "attribute_not_exists(pk)"
        values = {":previous": previous.version} if previous else None
        self.table.put(
            {
                **keys.decision_key(creator_id, program_id),
                "kind": DECISION,
                "creator_id": creator_id,
                "program_id": program_id,
                "eligible": eligible,
                "reasons": list(reasons),
                "market": market,
                "as_of": to_utc_text(as_of),
                "version": version,
                "announced": False,
            },
            condition=condition,
            values=values,
        )
        return version

    def mark_announced(self, creator_id: str, program_id: str, version: int) -> None:
        """The change was put on the bus (conditional: only that version). If a newer
        decision replaced it, that one announces itself."""
        with suppress(ConditionFailed):
            self.table.update(
                keys.decision_key(creator_id, program_id),
                "SET announced = :yes",
                values={":yes": True, ":version": version},
                condition="version = :version",
            )


def _fact_item(fact: Fact, received_at: datetime) -> Item:
    return {
        **keys.fact_key(fact.creator_id, to_utc_text(fact.occurred_at), fact.fact_id),
        "creator_id": fact.creator_id,
        "kind": fact.kind,
        "detail": json.dumps(fact_detail(fact), sort_keys=True),
        "occurred_at": to_utc_text(fact.occurred_at),
        "received_at": to_utc_text(received_at),
    }


def _fact(item: Item) -> Fact:
    return parse_fact(item["kind"], json.loads(item["detail"]))


def _decision(item: Item) -> StoredDecision:
    return StoredDecision(
        eligible=item["eligible"],
        reasons=tuple(item["reasons"]),
        market=item.get("market"),
        version=int(item["version"]),
        announced=item["announced"],
        as_of=item["as_of"],
    )
