"""A statement's explanation as structured lines, and their rendering in a language.

A line is a message code and its arguments, language-free: codes, decimal strings,
integer minor units and currency codes only. The statement keeps the lines; its
`explanation` is their English rendering, and the API renders them in the request's
language (bonus_engine.i18n).
"""

from collections.abc import Iterable, Sequence

from pydantic import BaseModel, ConfigDict

from bonus_engine import i18n

ArgValue = str | int | list[str] | None


class ExplanationLine(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    message: str
    args: dict[str, ArgValue] = {}


# The argument that picks the plural form of each plural message.
_PLURAL_ARG = {
    "statement.points": "qualifying_posts",
    "statement.restricted_posts": "restricted_posts",
    "statement.below_min_posts": "min_qualifying_posts",
    "estimate.below_min_posts": "min_qualifying_posts",
}
_NUMBERS = {"points", "points_needed", "qualifying_posts", "restricted_posts"}


def line(message: str, **args: ArgValue) -> ExplanationLine:
    return ExplanationLine(message=message, args=args)


def statement_lines(
    *,
    eligible: bool,
    reasons: Sequence[str],
    market: str | None,
    currency: str | None,
    points: str,
    qualifying_posts: int,
    restricted_posts: int,
    payout_model: str | None,
    min_qualifying_posts: int | None,
    flags: Sequence[str],
    cap_minor: int | None,
    minimum_minor: int | None,
    amount_minor: int,
) -> list[ExplanationLine]:
    """Why a creator earned what they earned, line by line (pure)."""
    lines = [
        line("statement.eligible", market=market)
        if eligible
        else line("statement.not_eligible", reasons=list(reasons))
    ]
    lines.append(line("statement.points", points=points, qualifying_posts=qualifying_posts))
    if restricted_posts:
        lines.append(line("statement.restricted_posts", restricted_posts=restricted_posts))
    if eligible and payout_model is not None:
        if "below_min_posts" in flags:
            lines.append(
                line("statement.below_min_posts", min_qualifying_posts=min_qualifying_posts)
            )
        else:
            lines.append(line(f"statement.paid_by_{payout_model}"))
        if "capped" in flags and cap_minor is not None:
            lines.append(line("statement.capped", cap_minor=cap_minor, currency=currency))
        if "budget_scaled" in flags:
            lines.append(line("statement.budget_scaled"))
        if "below_minimum" in flags and minimum_minor is not None:
            lines.append(
                line("statement.below_minimum", minimum_minor=minimum_minor, currency=currency)
            )
    lines.append(line("statement.amount", amount_minor=amount_minor, currency=currency))
    return lines


def held_lines(currency: str | None) -> list[ExplanationLine]:
    """A held statement: not computed this time, nothing paid."""
    return [
        line("statement.held"),
        line("statement.held_amount", amount_minor=0, currency=currency),
    ]


def render(lines: Iterable[ExplanationLine], locale: str) -> list[str]:
    return [render_line(item, locale) for item in lines]


def render_line(item: ExplanationLine, locale: str) -> str:
    values: dict[str, str] = {}
    args = item.args
    currency = args.get("currency")
    for name, value in args.items():
        if name.endswith("_minor") and isinstance(value, int):
            key = name.removesuffix("_minor")
            values[key] = (
                i18n.format_money(value, currency, locale)
                if isinstance(currency, str)
                else i18n.format_number(value, locale)
            )
        elif name == "reasons" and isinstance(value, list):
            separator = i18n.text(locale, "list.separator")
            values[name] = separator.join(i18n.text(locale, f"reason.{code}") for code in value)
        elif name in _NUMBERS and isinstance(value, str | int):
            values[name] = i18n.format_number(value, locale)
        else:
            values[name] = "" if value is None else str(value)
    plural = _PLURAL_ARG.get(item.message)
    count = args.get(plural) if plural else None
    return i18n.text(
        locale, item.message, count=count if isinstance(count, int) else None, **values
    )
