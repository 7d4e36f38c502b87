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
  (`~` sorts after every timestamp), replaced under an optimistic version check (the
  decisions of a batch of facts in transactions of up to 100, each item keeping its own
  condition: `save_decisions`);
and change markers for closed periods a late fact affects (pk = CHANGED#<period>).
"""

import dataclasses
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from bonus_engine.facts import Fact, fact_detail, parse_fact
from bonus_engine.periods import Period
from bonus_engine.storage import keys
from bonus_engine.storage.change_markers import change_marker_items, changed_since
from bonus_engine.storage.dynamo import TRANSACTION_LIMIT, ConditionFailed, Item, Table
from bonus_engine.timestamps import to_utc_text

DECISION = "decision"

_W = TypeVar("_W")


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

    def fields(self, creator_id: str, program_id: str) -> dict[str, Any]:
        """The decision as its item and its announcement both carry it."""
        return {
            "creator_id": creator_id,
            "program_id": program_id,
            "eligible": self.eligible,
            "reasons": list(self.reasons),
            "market": self.market,
            "as_of": self.as_of,
        }


@dataclass
class CreatorRecord:
    """A creator's facts (in stored order) and current decisions, by program."""

    facts: list[Fact] = field(default_factory=list)
    decisions: dict[str, StoredDecision] = field(default_factory=dict)

    def has(self, fact: Fact) -> bool:
        return any(known.fact_id == fact.fact_id for known in self.facts)


@dataclass(frozen=True)
class DecisionChange:
    """A decision to store in place of `previous` (None: the creator's first)."""

    creator_id: str
    program_id: str
    eligible: bool
    reasons: tuple[str, ...]
    market: str | None
    as_of: datetime
    previous: StoredDecision | None

    @property
    def version(self) -> int:
        return self.previous.version + 1 if self.previous else 1

    def stored(self) -> StoredDecision:
        return StoredDecision(
            eligible=self.eligible,
            reasons=self.reasons,
            market=self.market,
            version=self.version,
            announced=False,
            as_of=to_utc_text(self.as_of),
        )


@dataclass(frozen=True)
class Announced:
    """A stored decision put on the bus, to be marked as announced."""

    creator_id: str
    program_id: str
    decision: StoredDecision


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
            self.table.put(fact_item(fact, received_at), condition="attribute_not_exists(pk)")
        except ConditionFailed:
            return False
        return True

    def add_fact_marking(
        self, fact: Fact, received_at: datetime, periods: Sequence[Period], marked_at: datetime
    ) -> None:
        """Store a fact the creator's record does not hold, with the change markers of the
        closed periods it changes, in one BatchWriteItem (`fact_items`)."""
        self.put_all(fact_items(fact, received_at, periods, marked_at))

    def put_all(self, items: Sequence[Item]) -> None:
        """Facts and change markers, 25 a BatchWriteItem: every one naturally idempotent."""
        self.table.batch_put(items)

    def mark_changed(self, periods: Sequence[Period], at: datetime, marker_id: str) -> None:
        self.put_all(change_marker_items(periods, at, marker_id, "facts"))

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
        change = DecisionChange(
            creator_id, program_id, eligible, tuple(reasons), market, as_of, previous
        )
        self.table.put(_decision_item(change), **_version_condition(change.previous))
        return change.version

    def save_decisions(self, changes: Sequence[DecisionChange]) -> list[DecisionChange]:
        """Store each change whose `previous` is still the stored decision; returns those
        stored. One change is a conditional put; more go in transactions of up to 100,
        each item with its own condition: the items whose condition failed (another
        writer got there first) are left out and the rest of their transaction is
        written again."""
        if len(changes) == 1:
            (change,) = changes
            try:
                self.table.put(_decision_item(change), **_version_condition(change.previous))
            except ConditionFailed:
                return []
            return [change]
        return self._transact_each(
            changes,
            lambda change: {
                "Put": {"Item": _decision_item(change), **_transact_condition(change.previous)}
            },
        )

    def mark_all_announced(self, announced: Sequence[Announced]) -> None:
        """Mark each decision as announced, unless a newer decision replaced it (that one
        announces itself). The decision is put again, marked, on the condition that its
        version is still stored (a version's content never changes, and a put costs
        DynamoDB what the update would): one conditional put, or transactions of up to
        100."""
        if len(announced) == 1:
            (one,) = announced
            with suppress(ConditionFailed):
                self.table.put(
                    _announced_item(one),
                    condition="version = :version",
                    values={":version": one.decision.version},
                )
            return
        self._transact_each(
            announced,
            lambda one: {
                "Put": {
                    "Item": _announced_item(one),
                    "ConditionExpression": "version = :version",
                    "ExpressionAttributeValues": {":version": one.decision.version},
                }
            },
        )

    def _transact_each(
        self, writes: Sequence[_W], action: Callable[[_W], dict[str, Any]]
    ) -> list[_W]:
        """Write each in transactions of up to 100; a write whose condition fails is left
        out and the rest of its transaction tried again. Returns the writes applied."""
        applied: list[_W] = []
        for start in range(0, len(writes), TRANSACTION_LIMIT):
            pending = list(writes[start : start + TRANSACTION_LIMIT])
            while pending:
                try:
                    self.table.transact([action(write) for write in pending])
                except ConditionFailed as failure:
                    if not failure.failed:
                        raise
                    pending = [w for i, w in enumerate(pending) if i not in failure.failed]
                    continue
                applied += pending
                break
        return applied


def _decision_item(change: DecisionChange) -> Item:
    return _stored_item(change.creator_id, change.program_id, change.stored())


def _announced_item(announced: Announced) -> Item:
    marked = dataclasses.replace(announced.decision, announced=True)
    return _stored_item(announced.creator_id, announced.program_id, marked)


def _stored_item(creator_id: str, program_id: str, decision: StoredDecision) -> Item:
    return {
        **keys.decision_key(creator_id, program_id),
        "kind": DECISION,
        **decision.fields(creator_id, program_id),
        "version": decision.version,
        "announced": decision.announced,
    }


def _version_condition(previous: StoredDecision | None) -> dict[str, Any]:
    if previous is None:
        return {"condition": "attribute_not_exists(pk)"}
    return {"condition": "version = :previous", "values": {":previous": previous.version}}


def _transact_condition(previous: StoredDecision | None) -> dict[str, Any]:
    if previous is None:
        return {"ConditionExpression": "attribute_not_exists(pk)"}
    return {
        "ConditionExpression": "version = :previous",
        "ExpressionAttributeValues": {":previous": previous.version},
    }


def fact_items(
    fact: Fact, received_at: datetime, periods: Sequence[Period], marked_at: datetime
) -> list[Item]:
    """A fact's item and the change markers of the closed periods it changes. Both are
    naturally idempotent: the fact's key derives from its content and its item from the
    fact and when the bus received it (`received_at`, the same on every delivery of the
    event), so a delivery that raced this one puts the very same item again. A batch that
    failed halfway may have stored the fact without its markers: whoever finds the fact
    stored marks the periods again (`change_marker_items`)."""
    return [
        *change_marker_items(periods, marked_at, fact.fact_id, "facts"),
        fact_item(fact, received_at),
    ]


def fact_item(fact: Fact, received_at: datetime) -> Item:
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
