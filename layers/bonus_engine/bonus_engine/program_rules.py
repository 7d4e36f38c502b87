"""Program rules (SPEC section 3): one YAML file per program, validated on load.

Errors name the file, the field and why, e.g.
`spring.yaml: markets.JP: payout.milestones[0].amount: JPY has no minor unit: 5000.5 has
decimals`.
Unquoted decimals in the YAML are read from their text as `Decimal`, never as floats.
"""

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from bonus_engine.engagement import FORMATS, METRICS, Format, Metric, Quality
from bonus_engine.identifiers import CountryCode, ProgramId
from bonus_engine.money import (
    MINOR_DIGITS,
    check_amount,
    decimal_places,
    format_decimal,
    parse_decimal,
)
from bonus_engine.periods import Period


def _decimal(value: object) -> Decimal:
    return parse_decimal(value)


# Every number of a rules file is bounded, so that no rules file can make the exact
# arithmetic overflow or a stored item outgrow DynamoDB's: at most 15 digits before the
# point and 6 after it (amounts are further held to their currency's minor unit).
INTEGER_DIGITS = 15
FRACTION_DIGITS = 6


def _bounded(value: object) -> Decimal:
    amount = parse_decimal(value)
    if amount.is_zero():
        return Decimal(0)
    if amount.adjusted() >= INTEGER_DIGITS:
        raise ValueError(f"more than {INTEGER_DIGITS} digits before the point")
    exponent = amount.as_tuple().exponent
    assert isinstance(exponent, int)  # finite: parse_decimal refuses the others
    if exponent < -2 * INTEGER_DIGITS or decimal_places(amount) > FRACTION_DIGITS:
        raise ValueError(f"more than {FRACTION_DIGITS} digits after the point")
    return amount


def _non_negative(value: object) -> Decimal:
    amount = _bounded(value)
    if amount < 0:
        raise ValueError(f"must not be negative, got {format_decimal(amount)}")
    return amount


def _positive(value: object) -> Decimal:
    amount = _bounded(value)
    if amount <= 0:
        raise ValueError(f"must be above 0, got {format_decimal(amount)}")
    return amount


NonNegativeDecimal = Annotated[Decimal, BeforeValidator(_non_negative)]
PositiveDecimal = Annotated[Decimal, BeforeValidator(_positive)]
Currency = Literal["USD", "JPY", "KRW"]
assert set(MINOR_DIGITS) == {"USD", "JPY", "KRW"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EligibilityRules(_Strict):
    account_type: Literal["professional", "personal"] = "professional"
    invitation_required: bool = True
    adult_required: bool = True
    max_active_strikes: int = Field(0, ge=0, le=1_000, strict=True)
    min_followers: int = Field(0, ge=0, le=10**12, strict=True)


class ScoringRules(_Strict):
    counted_quality: list[Quality] = Field(min_length=1)
    weights: dict[Format, dict[Metric, NonNegativeDecimal]]
    post_points_cap: PositiveDecimal | None = None

    @field_validator("counted_quality")
    @classmethod
    def _unique(cls, qualities: list[Quality]) -> list[Quality]:
        if len(set(qualities)) != len(qualities):
            raise ValueError("lists a quality twice")
        return qualities

    @field_validator("weights")
    @classmethod
    def _complete(
        cls, weights: dict[Format, dict[Metric, Decimal]]
    ) -> dict[Format, dict[Metric, Decimal]]:
        for format_ in FORMATS:
            if format_ not in weights:
                raise ValueError(f"missing the weights of {format_} (use 0 to not count it)")
            for metric in METRICS:
                if metric not in weights[format_]:
                    raise ValueError(f"{format_}: missing the weight of {metric}")
        return weights

    def weight(self, format_: Format, metric: Metric) -> Decimal:
        return self.weights[format_][metric]


class RateTier(_Strict):
    up_to: PositiveDecimal | None
    per_1000_points: NonNegativeDecimal


class RatePayout(_Strict):
    """Graduated: each tier pays its own points (those between the previous tier's
    `up_to` and its own) at its rate. Points above a bounded last tier earn nothing."""

    model: Literal["rate"]
    tiers: list[RateTier] = Field(min_length=1)

    @field_validator("tiers")
    @classmethod
    def _ascending(cls, tiers: list[RateTier]) -> list[RateTier]:
        previous = Decimal(0)
        for index, tier in enumerate(tiers):
            if tier.up_to is None:
                if index != len(tiers) - 1:
                    raise ValueError(f"tier {index} has up_to: null but is not the last tier")
                continue
            if tier.up_to <= previous:
                raise ValueError(
                    f"tiers out of order: tier {index} up_to {format_decimal(tier.up_to)} "
                    f"is not above {format_decimal(previous)}"
                )
            previous = tier.up_to
        return tiers


class Milestone(_Strict):
    points: PositiveDecimal
    amount: NonNegativeDecimal


class MilestonesPayout(_Strict):
    """Pays the amount of the highest milestone whose points were reached."""

    model: Literal["milestones"]
    milestones: list[Milestone] = Field(min_length=1)

    @field_validator("milestones")
    @classmethod
    def _ascending(cls, milestones: list[Milestone]) -> list[Milestone]:
        for index in range(1, len(milestones)):
            if milestones[index].points <= milestones[index - 1].points:
                raise ValueError(
                    f"milestones out of order: milestone {index} is not above milestone {index - 1}"
                )
        return milestones


class PoolPayout(_Strict):
    """Shares `pool` among the market's eligible creators by points."""

    model: Literal["pool"]
    pool: PositiveDecimal


Payout = Annotated[RatePayout | MilestonesPayout | PoolPayout, Field(discriminator="model")]


class Market(_Strict):
    currency: Currency
    min_qualifying_posts: int = Field(1, ge=0, le=1_000_000, strict=True)
    payout: Payout
    creator_cap: NonNegativeDecimal | None = None
    minimum_payout: NonNegativeDecimal | None = None
    budget: NonNegativeDecimal | None = None

    @model_validator(mode="after")
    def _amounts_fit_the_currency(self) -> "Market":
        amounts: list[tuple[str, Decimal | None]] = [
            ("creator_cap", self.creator_cap),
            ("minimum_payout", self.minimum_payout),
            ("budget", self.budget),
        ]
        if isinstance(self.payout, MilestonesPayout):
            amounts += [
                (f"payout.milestones[{index}].amount", milestone.amount)
                for index, milestone in enumerate(self.payout.milestones)
            ]
        if isinstance(self.payout, PoolPayout):
            amounts.append(("payout.pool", self.payout.pool))
            if self.budget is not None:
                raise ValueError("budget: a pool market pays exactly its pool; drop budget")
        for name, amount in amounts:
            if amount is not None:
                try:
                    check_amount(amount, self.currency)
                except ValueError as error:
                    raise ValueError(f"{name}: {error}") from None
        return self


def _period_name(value: object) -> str:
    if not isinstance(value, str):
        raise ValueError("must be a month, like 2026-03")
    return Period.parse(value).name


PeriodName = Annotated[str, BeforeValidator(_period_name)]


class ProgramRules(_Strict):
    program_id: ProgramId
    period: Literal["month"]
    grace_hours: int = Field(ge=0, le=24 * 366, strict=True)
    starts: PeriodName | None = None  # the first period of the program (a season)
    ends: PeriodName | None = None  # the last one
    eligibility: EligibilityRules = EligibilityRules()
    scoring: ScoringRules
    markets: dict[CountryCode, Market] = Field(min_length=1)

    @model_validator(mode="after")
    def _season_in_order(self) -> "ProgramRules":
        if self.starts is not None and self.ends is not None and self.ends < self.starts:
            raise ValueError(f"ends: {self.ends} is before starts: {self.starts}")
        return self

    def covers(self, period: Period) -> bool:
        """Whether the period is one of the program's (SPEC section 3: no period before
        `starts` or after `ends` is ever computed, scheduled or requested)."""
        return (self.starts is None or period.name >= self.starts) and (
            self.ends is None or period.name <= self.ends
        )


@dataclass(frozen=True)
class LoadedProgram:
    rules: ProgramRules
    content_hash: str  # "sha256:<hex>" of the file's bytes, recorded on every statement
    source: str  # the file it came from


class ProgramRulesError(ValueError):
    """A rules file that cannot be used; the message is one line: file: field: why."""


class _DecimalLoader(yaml.SafeLoader):
    """YAML's safe loader, reading floats from their text as exact Decimals."""


def _construct_decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    text = str(loader.construct_scalar(node))  # type: ignore[arg-type]
    return Decimal(text.replace("_", ""))


_DecimalLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def parse_program_rules(text: bytes, source: str) -> LoadedProgram:
    try:
        document: Any = yaml.load(text, Loader=_DecimalLoader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "?"
        problem = getattr(error, "problem", None) or str(error)
        raise ProgramRulesError(f"{source}: {where}: not valid YAML: {problem}") from None
    except ArithmeticError as error:
        raise ProgramRulesError(f"{source}: a number cannot be read: {error}") from None
    if not isinstance(document, dict):
        raise ProgramRulesError(f"{source}: must be a YAML mapping of the program's rules")
    try:
        rules = ProgramRules.model_validate(document)
    except ValidationError as error:
        raise ProgramRulesError(f"{source}: {_describe(error)}") from None
    content_hash = "sha256:" + hashlib.sha256(text).hexdigest()
    return LoadedProgram(rules=rules, content_hash=content_hash, source=source)


def load_program_rules(path: Path) -> LoadedProgram:
    try:
        text = path.read_bytes()
    except OSError as error:
        raise ProgramRulesError(f"{path}: cannot be read: {error.strerror}") from None
    return parse_program_rules(text, str(path))


def load_programs(directory: Path) -> dict[str, LoadedProgram]:
    """Every program in a directory (`*.yaml`, `*.yml`), by program_id."""
    programs: dict[str, LoadedProgram] = {}
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    if not files:
        raise ProgramRulesError(f"{directory}: holds no program rules (*.yaml)")
    for path in files:
        program = load_program_rules(path)
        program_id = program.rules.program_id
        if program_id in programs:
            raise ProgramRulesError(
                f"{path}: program_id: {program_id} is also defined in {programs[program_id].source}"
            )
        programs[program_id] = program
    return programs


def _describe(error: ValidationError) -> str:
    """The first problem as `field: why`, and how many more there are."""
    problems = []
    for item in error.errors(include_url=False, include_input=False):
        location = ""
        loc = item["loc"]
        for index, part in enumerate(loc):
            if index and loc[index - 1] == "payout" and part in ("rate", "milestones", "pool"):
                continue  # the discriminator's tag, not a field
            if isinstance(part, int):
                location += f"[{part}]"
            else:
                location += f".{part}" if location else str(part)
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field"
        elif item["type"] == "missing":
            message = "required field is missing"
        elif item["type"] == "union_tag_invalid":
            message = "unknown payout model (use rate, milestones or pool)"
        problems.append(f"{location}: {message}" if location else message)
    more = len(problems) - 1
    return problems[0] + (f" (and {more} more problem{'s' * (more > 1)})" if more else "")
