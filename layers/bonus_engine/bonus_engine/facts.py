"""Creator facts from the EventBridge bus (SPEC section 2), as they arrive and as the
domain reasons about them.

A fact is identified by what it says (its detail-type and its detail), so a redelivered
fact has the same id and is stored once. Facts are ordered by when they became true
(`occurred_at`), never by arrival.
"""

import hashlib
import json
import re
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
)

from bonus_engine.engagement import describe_validation_error
from bonus_engine.identifiers import CountryCode, CreatorId, PostId, ProgramId, StrikeId
from bonus_engine.timestamps import Rfc3339, to_utc_text

FACT_SOURCE = "creators"


# SPEC section 2: > 0, at most 15 digits before the point and 2 after it, nothing else
# (no sign, no exponent, no spaces): a cap always fits the arithmetic and a stored item.
_BONUS_CAP = re.compile(r"[0-9]{1,15}(?:\.[0-9]{1,2})?")


def _bonus_cap(value: object) -> Decimal:
    if not isinstance(value, str) or _BONUS_CAP.fullmatch(value) is None:
        raise ValueError(
            "must be a decimal string above 0 with at most 15 digits before the point and "
            '2 after it, like "150000" or "2000.50"'
        )
    amount = Decimal(value)
    if amount <= 0:
        raise ValueError("must be above 0")
    return amount


BonusCap = Annotated[Decimal, BeforeValidator(_bonus_cap)]


class _Fact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    kind: ClassVar[str]
    creator_id: CreatorId
    occurred_at: Rfc3339

    @cached_property
    def fact_id(self) -> str:
        """A hash of what the fact says (computed once: facts are immutable)."""
        return fact_id(self)


class CreatorProfileChanged(_Fact):
    kind: ClassVar[str] = "CreatorProfileChanged"
    account_type: Literal["professional", "personal"]
    country: CountryCode
    adult: StrictBool
    followers: StrictInt = Field(ge=0)


class CreatorInvited(_Fact):
    kind: ClassVar[str] = "CreatorInvited"
    program_id: ProgramId
    bonus_cap: BonusCap | None = None


class CreatorInvitationRevoked(_Fact):
    kind: ClassVar[str] = "CreatorInvitationRevoked"
    program_id: ProgramId


class PolicyStrikeIssued(_Fact):
    kind: ClassVar[str] = "PolicyStrikeIssued"
    strike_id: StrikeId
    expires_at: Rfc3339 | None = None


class PolicyStrikeLifted(_Fact):
    kind: ClassVar[str] = "PolicyStrikeLifted"
    strike_id: StrikeId


class PostRestricted(_Fact):
    kind: ClassVar[str] = "PostRestricted"
    post_id: PostId


Fact = (
    CreatorProfileChanged
    | CreatorInvited
    | CreatorInvitationRevoked
    | PolicyStrikeIssued
    | PolicyStrikeLifted
    | PostRestricted
)

FACT_TYPES: dict[str, type[Fact]] = {
    model.__name__: model
    for model in (
        CreatorProfileChanged,
        CreatorInvited,
        CreatorInvitationRevoked,
        PolicyStrikeIssued,
        PolicyStrikeLifted,
        PostRestricted,
    )
}

# At one instant, a fact that takes something away applies after one that grants it:
# an invitation and a revocation at the same instant leave the creator not invited.
_TIE_RANK = {
    "CreatorProfileChanged": 0,
    "CreatorInvited": 0,
    "PolicyStrikeIssued": 0,
    "PostRestricted": 0,
    "CreatorInvitationRevoked": 1,
    "PolicyStrikeLifted": 1,
}


class UnknownFactType(ValueError):
    pass


class InvalidFact(ValueError):
    pass


def parse_fact(detail_type: object, detail: object) -> Fact:
    """The fact a detail-type and detail describe; raise UnknownFactType or InvalidFact."""
    if not isinstance(detail_type, str) or detail_type not in FACT_TYPES:
        raise UnknownFactType(
            f"detail-type {detail_type!r} is not one of {', '.join(sorted(FACT_TYPES))}"
        )
    if not isinstance(detail, dict):
        raise InvalidFact("detail must be a JSON object")
    try:
        return FACT_TYPES[detail_type].model_validate(detail)
    except ValidationError as error:
        raise InvalidFact(describe_validation_error(error)) from None


def fact_detail(fact: "_Fact") -> dict[str, Any]:
    """The fact's detail as JSON-ready data (the shape it arrived in, normalised)."""
    detail: dict[str, Any] = fact.model_dump(mode="json", exclude_none=True)
    detail["occurred_at"] = to_utc_text(fact.occurred_at)
    if isinstance(fact, PolicyStrikeIssued) and fact.expires_at is not None:
        detail["expires_at"] = to_utc_text(fact.expires_at)
    return detail


def fact_id(fact: "_Fact") -> str:
    canonical = json.dumps([fact.kind, fact_detail(fact)], sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def timeline_order(fact: Fact) -> tuple[datetime, int, str]:
    """The total order facts apply in: by occurred_at, then the tie rule, then the id."""
    return (fact.occurred_at, _TIE_RANK[fact.kind], fact.fact_id)


def sorted_timeline(facts: list[Fact]) -> list[Fact]:
    """A creator's facts, once each, in the order they apply."""
    unique = {fact.fact_id: fact for fact in facts}
    return sorted(unique.values(), key=timeline_order)
