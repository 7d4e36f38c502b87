"""Self-contained HTML reports: a computed period (`bonus report`) and a simulation of
candidate rules (`bonus simulate --html`).

Both functions here are pure: plain data in, one HTML page out, no I/O and no clock.
The page needs no network access to be read: no script, no web font, no remote image;
the CSS is inline and every chart is an inline SVG.

Why Matplotlib (SVG) rather than Plotly: a Plotly page inlines about 4.5 MB of
JavaScript and embeds every data point as JSON, so a period of 100,000 creators would
make a page of tens of megabytes that only renders with JavaScript on. Matplotlib draws
the histograms here, in Python, into SVGs of a few tens of kilobytes whatever the number
of creators; the page opens in any browser (JavaScript off, printed, attached to an
email), and the same data always gives the same bytes (fixed hash salt, no date). What
is given up is hovering over a bar to read its value: every figure a chart shows is also
written, exactly, in a table next to it.

Money is never a float here. Amounts arrive as decimal strings or integer minor units and
are formatted from `Decimal`s; a float appears only as a chart coordinate, and each place
says so.
"""

import html
import io
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from bonus_engine.money import MINOR_DIGITS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

NO_MARKET = "(no market)"  # statements of creators with no profile
NEWLY_QUALIFYING_ROWS = 500  # rows listed per candidate; the rest are counted

# Colours: a calm, colour-blind-safe palette (Okabe-Ito), one per program or market.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00"]
INK = "#1f2933"
MUTED = "#6b7785"


# --- input data ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SummaryRevision:
    """One stored run summary of the period."""

    revision: int
    computed_at: str | None  # UTC text: when the run that wrote it started
    summary: Mapping[str, Any]  # RunSummary.model_dump(mode="json"), maybe with "held"


@dataclass(frozen=True)
class PeriodReport:
    """Everything the period page shows, read from the results and rejections tables."""

    program_id: str
    period: str
    rules_hash: str
    summaries: Sequence[SummaryRevision]  # oldest first
    statements: Sequence[Mapping[str, Any]]  # each creator's latest statement revision
    rejections: Mapping[tuple[str, str], int] = field(default_factory=dict)  # (source, reason)
    generated_at: str | None = None  # UTC text


# --- money and numbers ---------------------------------------------------------------------


def _decimal(value: object) -> Decimal | None:
    if value is None or isinstance(value, bool | float):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def major_from_minor(minor: int, currency: str | None) -> Decimal:
    """Exact: 26117 USD minor units -> Decimal('261.17')."""
    return Decimal(minor).scaleb(-MINOR_DIGITS.get(currency or "", 0))


def format_money(amount: Decimal | str | int | None, currency: str | None) -> str:
    """`USD 1,234.50`, `KRW 2,500,000`: grouped digits, the currency's minor digits."""
    value = _decimal(amount)
    if value is None or not value.is_finite():
        return "—"
    digits = MINOR_DIGITS.get(currency or "")
    exponent = value.as_tuple().exponent
    if digits is not None and isinstance(exponent, int) and -exponent <= digits:
        value = value.quantize(Decimal(1).scaleb(-digits))  # adds zeros only: exact
    text = f"{value:,f}"
    return f"{currency} {text}" if currency else text


def format_money_minor(minor: int | None, currency: str | None) -> str:
    if minor is None:
        return "—"
    return format_money(major_from_minor(minor, currency), currency)


def format_signed_minor(minor: int, currency: str | None) -> str:
    text = format_money_minor(abs(minor), currency)
    return f"+{text}" if minor > 0 else f"−{text}" if minor < 0 else text


def format_count(value: object) -> str:
    return f"{value:,}" if isinstance(value, int) else "—"


def share_of_limit(total_minor: int, limit: str | None, currency: str | None) -> str:
    """`98.6 %` of the budget or pool, computed in decimal."""
    limit_value = _decimal(limit)
    if limit_value is None or limit_value == 0:
        return "—"
    share = major_from_minor(total_minor, currency) / limit_value * 100
    return f"{share.quantize(Decimal('0.1'))} %"


def _coordinate(amount: Decimal) -> float:
    # Only a drawing coordinate for the chart: no figure shown to a reader comes from it.
    return float(amount)


def _e(value: object) -> str:
    """Escape any text that comes from data before it enters the page."""
    return html.escape(str(value), quote=True)


# --- the page ----------------------------------------------------------------------------

CSS = """
:root { color-scheme: light; --ink: #1f2933; --muted: #6b7785; --line: #d9dee4;
        --soft: #f4f6f8; --accent: #0072B2; --warn: #b54708; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto,
       "Noto Sans", "Noto Sans CJK KR", "Noto Sans CJK JP", sans-serif;
       color: var(--ink); background: #fff; }
header { background: var(--soft); border-bottom: 1px solid var(--line); }
header .inner, main { max-width: 1120px; margin: 0 auto; padding: 20px 28px; }
h1 { font-size: 1.6em; margin: 0 0 4px; }
h2 { font-size: 1.25em; margin: 40px 0 12px; padding-bottom: 6px;
     border-bottom: 2px solid var(--line); }
h3 { font-size: 1.05em; margin: 24px 0 8px; }
.subtitle { color: var(--muted); margin: 0; }
code, .hash { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
              font-size: 0.9em; overflow-wrap: anywhere; }
nav { margin-top: 12px; display: flex; flex-wrap: wrap; gap: 6px 16px; font-size: 0.92em; }
nav a { color: var(--accent); text-decoration: none; }
nav a:hover { text-decoration: underline; }
.figures { display: flex; flex-wrap: wrap; gap: 12px; margin: 16px 0 0; padding: 0;
           list-style: none; }
.figures li { background: #fff; border: 1px solid var(--line); border-radius: 8px;
              padding: 8px 14px; min-width: 120px; }
.figures .value { display: block; font-size: 1.35em; font-weight: 600;
                  font-variant-numeric: tabular-nums; }
.figures .label { color: var(--muted); font-size: 0.85em; }
.markets { display: grid; grid-template-columns: repeat(auto-fill, minmax(320px, 1fr));
           gap: 16px; }
.market { border: 1px solid var(--line); border-radius: 8px; padding: 4px 16px 12px; }
table { border-collapse: collapse; width: 100%; margin: 8px 0 16px; font-size: 0.93em; }
th, td { padding: 5px 10px; border-bottom: 1px solid var(--line); text-align: left;
         vertical-align: top; }
th { background: var(--soft); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fafbfc; }
.gain { color: #067647; } .loss { color: #b42318; }
.over { color: #b42318; font-weight: 600; }
.note { color: var(--muted); font-size: 0.9em; }
figure.chart { margin: 8px 0 20px; }
figure.chart svg { max-width: 100%; height: auto; display: block; }
figcaption { color: var(--muted); font-size: 0.88em; margin-top: 4px; }
footer { color: var(--muted); font-size: 0.85em; border-top: 1px solid var(--line);
         margin-top: 48px; padding-top: 12px; }
@media print { nav { display: none; } h2 { break-after: avoid; } figure { break-inside: avoid; } }
"""


def _page(title: str, subtitle: str, nav: Sequence[tuple[str, str]], body: str) -> str:
    links = "".join(f'<a href="#{anchor}">{_e(label)}</a>' for anchor, label in nav)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        # Nothing may be fetched: no script, no style or image from anywhere else.
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">\n"
        f"<title>{_e(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n"
        f'<header><div class="inner"><h1>{_e(title)}</h1>'
        f'<p class="subtitle">{subtitle}</p><nav>{links}</nav></div></header>\n'
        f"<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _figures(items: Iterable[tuple[str, str]]) -> str:
    cells = "".join(
        f'<li><span class="value">{value}</span><span class="label">{_e(label)}</span></li>'
        for label, value in items
    )
    return f'<ul class="figures">{cells}</ul>'


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = ()
) -> str:
    """Cells are HTML already (escaped by the caller); `numeric` columns align right."""
    right = set(numeric)

    def cell(tag: str, index: int, content: str) -> str:
        css = ' class="num"' if index in right else ""
        return f"<{tag}{css}>{content}</{tag}>"

    head = "".join(cell("th", i, _e(header)) for i, header in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(cell("td", i, content) for i, content in enumerate(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _section(anchor: str, title: str, content: str) -> str:
    return f'<section id="{anchor}">\n<h2>{_e(title)}</h2>\n{content}\n</section>'


# --- charts --------------------------------------------------------------------------------

_SVG_START = re.compile(r"<svg\b")
_SVG_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_SVG_NAMESPACES = re.compile(r'\s+xmlns(:xlink)?="[^"]*"')
_SVG_ID = re.compile(r'\bid="([^"]+)"')
_SVG_REFERENCE = re.compile(r'(xlink:href="#|href="#|url\(#)')


def _chart(name: str, caption: str, draw: Callable[["Figure"], None], height: float) -> str:
    """One figure drawn by `draw`, as an inline SVG in a <figure>.

    Matplotlib's SVG is made fit to sit in an HTML page: the XML prolog, the metadata (the
    library's name and address) and the namespace declarations (an HTML parser puts <svg>
    and xlink:href in their namespaces by itself) are dropped, and its ids (`figure_1`,
    clip paths) are prefixed with the chart's name so that no two charts share an id.
    """
    import matplotlib
    from matplotlib.figure import Figure

    with matplotlib.rc_context(
        {
            "svg.fonttype": "none",  # text stays text: searchable, small, the page's font
            "svg.hashsalt": name,  # ids from content and name: the same data, the same bytes
            "font.family": "sans-serif",
            "font.size": 10,
            "axes.edgecolor": "#9aa5b1",
            "axes.labelcolor": INK,
            "axes.titlesize": 11,
            "axes.titleweight": "bold",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.color": "#e4e7eb",
            "grid.linewidth": 0.8,
            "axes.axisbelow": True,
            "xtick.color": MUTED,
            "ytick.color": MUTED,
            "text.color": INK,
            "legend.frameon": False,
        }
    ):
        figure = Figure(figsize=(10.4, height), layout="constrained")
        draw(figure)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    svg = svg[_SVG_START.search(svg).start() :]  # type: ignore[union-attr]
    svg = _SVG_METADATA.sub("", svg, count=1)
    svg = _SVG_NAMESPACES.sub("", svg[: svg.index(">")]) + svg[svg.index(">") :]
    svg = _SVG_ID.sub(lambda m: f'id="{name}-{m.group(1)}"', svg)
    svg = _SVG_REFERENCE.sub(lambda m: f"{m.group(1)}{name}-", svg)
    svg = svg.replace("<svg ", f'<svg role="img" aria-label="{_e(caption)}" ', 1)
    return (
        f'<figure class="chart" data-chart="{name}">{svg}'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _grid(figure: "Figure", count: int, columns: int = 3) -> list["Axes"]:
    columns = max(1, min(columns, count))
    rows = math.ceil(count / columns)
    axes = figure.subplots(rows, columns, squeeze=False).flatten().tolist()
    for unused in axes[count:]:
        unused.set_visible(False)
    return axes[:count]


def _height(count: int, columns: int = 3, per_row: float = 2.8) -> float:
    return 0.6 + per_row * math.ceil(count / max(1, min(columns, count)))


def _bins(count: int) -> int:
    return max(1, min(40, math.ceil(math.sqrt(count))))


def _money_axis(axes: "Axes", currency: str | None, which: str = "x") -> None:
    from matplotlib.ticker import StrMethodFormatter

    digits = MINOR_DIGITS.get(currency or "", 0)
    formatter = StrMethodFormatter(f"{{x:,.{digits}f}}")  # labels of drawing coordinates
    (axes.xaxis if which == "x" else axes.yaxis).set_major_formatter(formatter)


def _histogram(axes: "Axes", values: Sequence[float], colour: str) -> None:
    """Creators per amount bin; the y axis counts whole creators."""
    from matplotlib.ticker import MaxNLocator

    low, high = min(values), max(values)
    if low == high:  # one value: a bar of visible width around it, not a hairline
        half = max(1.0, abs(low) * 0.1)
        low, high = low - half, high + half
    axes.hist(values, bins=_bins(len(values)), range=(low, high), color=colour)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel("creators")


def _count_bars(axes: "Axes", counts: Sequence[tuple[str, int]], colour: str) -> None:
    labels = [label for label, _ in counts][::-1]
    values = [value for _, value in counts][::-1]
    bars = axes.barh(labels, values, color=colour, height=0.6)
    axes.bar_label(bars, labels=[f"{v:,}" for v in values], padding=3, color=MUTED)
    axes.grid(axis="y", visible=False)
    axes.margins(x=0.15)


# --- the period page ---------------------------------------------------------------------


def render_period_report(report: PeriodReport) -> str:
    """One self-contained HTML page for a computed period."""
    if not report.summaries:
        raise ValueError(f"{report.program_id} {report.period}: no run summary to report")
    latest = report.summaries[-1]
    summary = latest.summary
    markets: list[Mapping[str, Any]] = list(summary.get("markets", []))
    currencies = {m["market"]: m.get("currency") for m in markets}
    for statement in report.statements:
        name = statement.get("market") or NO_MARKET
        currencies.setdefault(name, statement.get("currency"))

    events = summary.get("events", {})
    figures = [
        ("creators evaluated", format_count(summary.get("creators_evaluated"))),
        ("eligible", format_count(summary.get("creators_eligible"))),
        ("paid", format_count(summary.get("creators_paid"))),
    ]
    if "held" in summary:
        figures.append(("held", format_count(summary.get("held"))))
    figures += [
        ("events accepted", format_count(events.get("accepted"))),
        ("events rejected", format_count(events.get("rejected"))),
        ("late events", format_count(events.get("late"))),
        ("summary revision", format_count(latest.revision)),
    ]
    computed = f", computed {_e(latest.computed_at)}" if latest.computed_at else ""
    subtitle = (
        f"Program <b>{_e(report.program_id)}</b> · period <b>{_e(report.period)}</b> · "
        f"revision {latest.revision}{computed} · rules "
        f'<code class="hash" title="{_e(report.rules_hash)}">{_e(report.rules_hash[:12])}</code>'
    )
    sections = [
        _figures(figures),
        _section("markets", "Markets: paid against budget or pool", _markets(markets)),
        _section(
            "amounts",
            "Distribution of amounts",
            _amounts(report.statements, currencies),
        ),
        _section("eligibility", "Eligibility reasons and flags", _reasons(report.statements)),
        _section("revisions", "Revisions", _revisions(report.summaries)),
        _section("rejections", "Rejected input", _rejections(report.rejections)),
        _footer(report),
    ]
    nav = [
        ("markets", "Markets"),
        ("amounts", "Amounts"),
        ("eligibility", "Reasons and flags"),
        ("revisions", "Revisions"),
        ("rejections", "Rejections"),
    ]
    title = f"Bonus report: {report.program_id}, {report.period}"
    return _page(title, subtitle, nav, "\n".join(sections))


def _markets(markets: Sequence[Mapping[str, Any]]) -> str:
    if not markets:
        return '<p class="note">The rules have no market.</p>'
    cards = []
    for market in markets:
        currency = market.get("currency")
        total_minor = int(market.get("total_paid_minor", 0))
        limit_kind = market.get("limit_kind")
        limit = market.get("limit")
        over = ""
        limit_value = _decimal(limit)
        if limit_value is not None and major_from_minor(total_minor, currency) > limit_value:
            over = ' class="over"'
        rows = [
            ("currency", _e(currency or "—")),
            ("payout model", _e(market.get("model", "—"))),
            ("creators", format_count(market.get("creators"))),
            ("eligible", format_count(market.get("eligible"))),
            ("paid", format_count(market.get("paid"))),
            ("total paid", f"<span{over}>{_e(format_money_minor(total_minor, currency))}</span>"),
            (
                _e(limit_kind or "limit"),
                _e(format_money(limit, currency)) if limit is not None else "no limit",
            ),
            (
                f"share of the {_e(limit_kind or 'limit')}",
                _e(share_of_limit(total_minor, limit, currency)),
            ),
        ]
        table = "".join(f'<tr><th>{k}</th><td class="num">{v}</td></tr>' for k, v in rows)
        cards.append(
            f'<div class="market"><h3>{_e(market["market"])}</h3>'
            f"<table><tbody>{table}</tbody></table></div>"
        )
    limited = [m for m in markets if _decimal(m.get("limit"))]
    chart = ""
    if limited:

        def draw(figure: "Figure") -> None:
            axes = figure.subplots()
            names = [str(m["market"]) for m in limited][::-1]
            shares = []
            labels = []
            for m in limited[::-1]:
                currency = m.get("currency")
                paid = major_from_minor(int(m.get("total_paid_minor", 0)), currency)
                limit_value = _decimal(m["limit"]) or Decimal(1)
                shares.append(_coordinate(paid / limit_value * 100))  # drawing only
                labels.append(
                    f"{format_money_minor(int(m.get('total_paid_minor', 0)), currency)}"
                    f" of {format_money(m['limit'], currency)} ({m.get('limit_kind')})"
                )
            bars = axes.barh(names, shares, color=PALETTE[0], height=0.55)
            axes.bar_label(bars, labels=labels, padding=4, color=MUTED, fontsize=9)
            axes.axvline(100, color="#b42318", linewidth=1, linestyle="--")
            axes.set_xlim(0, max(110.0, *shares) * 1.45)
            axes.set_xlabel("% of the budget or pool paid")
            axes.grid(axis="y", visible=False)

        chart = _chart(
            "limits",
            "Each market's total paid, as a share of its budget or pool (dashed line: 100 %).",
            draw,
            height=0.9 + 0.55 * len(limited),
        )
    unlimited = [str(m["market"]) for m in markets if not _decimal(m.get("limit"))]
    note = (
        f'<p class="note">No budget or pool limits what {_e(", ".join(unlimited))} pays.</p>'
        if unlimited
        else ""
    )
    return f'<div class="markets">{"".join(cards)}</div>{chart}{note}'


def _amounts(statements: Sequence[Mapping[str, Any]], currencies: Mapping[str, Any]) -> str:
    paid: dict[str, list[int]] = defaultdict(list)
    unpaid: Counter[str] = Counter()
    for statement in statements:
        market = statement.get("market") or NO_MARKET
        minor = int(statement.get("amount_minor", 0))
        if minor > 0:
            paid[market].append(minor)
        else:
            unpaid[market] += 1
    names = sorted(set(paid) | set(unpaid))
    if not names:
        return '<p class="note">No statement was issued for this period.</p>'
    rows = []
    for name in names:
        currency = currencies.get(name)
        amounts = sorted(paid[name])
        median = _median_minor(amounts)
        rows.append(
            [
                _e(name),
                format_count(len(amounts)),
                format_count(unpaid[name]),
                _e(format_money_minor(amounts[0], currency) if amounts else "—"),
                _e(format_money_minor(median, currency)),
                _e(format_money_minor(amounts[-1], currency) if amounts else "—"),
                _e(format_money_minor(sum(amounts), currency)),
            ]
        )
    table = _table(
        ["market", "paid", "paid nothing", "smallest", "median", "largest", "sum"],
        rows,
        numeric=range(1, 7),
    )
    drawn = [name for name in names if paid[name]]
    if not drawn:
        return table + '<p class="note">No creator was paid in this period.</p>'

    def draw(figure: "Figure") -> None:
        for index, (axes, name) in enumerate(zip(_grid(figure, len(drawn)), drawn, strict=True)):
            currency = currencies.get(name)
            # Drawing coordinates only: each amount's exact value is in the statements.
            values = [_coordinate(major_from_minor(m, currency)) for m in paid[name]]
            _histogram(axes, values, PALETTE[index % len(PALETTE)])
            axes.set_title(f"{name} ({currency})" if currency else name)
            axes.set_xlabel(f"amount paid ({currency})" if currency else "amount paid")
            _money_axis(axes, currency)
            axes.tick_params(axis="x", labelrotation=20)

    chart = _chart(
        "amounts",
        "How many creators were paid how much, per market (creators paid nothing are "
        "counted in the table, not drawn).",
        draw,
        height=_height(len(drawn)),
    )
    return table + chart


def _median_minor(amounts: Sequence[int]) -> int | None:
    """The lower median of sorted minor amounts: always an amount someone was paid."""
    return amounts[(len(amounts) - 1) // 2] if amounts else None


def _reasons(statements: Sequence[Mapping[str, Any]]) -> str:
    reasons: Counter[str] = Counter()
    flags: Counter[str] = Counter()
    eligible = 0
    for statement in statements:
        eligible += bool(statement.get("eligible"))
        reasons.update(str(r) for r in statement.get("reasons", []))
        flags.update(str(f) for f in statement.get("flags", []))
    total = len(statements)
    lines = [
        f"<p>{format_count(eligible)} of {format_count(total)} creators with a statement are "
        f"eligible; {format_count(total - eligible)} are not, for the reasons below (a creator "
        "may have several).</p>"
    ]
    reason_rows = reasons.most_common()
    flag_rows = flags.most_common()
    lines.append('<div class="markets">')
    for title, rows in (("Reason", reason_rows), ("Flag", flag_rows)):
        if rows:
            table = _table(
                [title.lower(), "creators"],
                ([f"<code>{_e(name)}</code>", format_count(n)] for name, n in rows),
                numeric=[1],
            )
        else:
            table = f'<p class="note">No {title.lower()}.</p>'
        lines.append(f"<div><h3>{title}s</h3>{table}</div>")
    lines.append("</div>")
    if reason_rows or flag_rows:
        panels = [
            (t, r, c)
            for t, r, c in (
                ("Ineligibility reasons", reason_rows, PALETTE[1]),
                ("Flags", flag_rows, PALETTE[2]),
            )
            if r
        ]

        def draw(figure: "Figure") -> None:
            for axes, (title, rows, colour) in zip(
                _grid(figure, len(panels), columns=2), panels, strict=True
            ):
                _count_bars(axes, rows, colour)
                axes.set_title(title)
                axes.set_xlabel("creators")

        longest = max(len(rows) for _, rows, _ in panels)
        lines.append(
            _chart(
                "reasons",
                "Creators per ineligibility reason and per statement flag.",
                draw,
                height=1.2 + 0.32 * longest,
            )
        )
    return "\n".join(lines)


def _revisions(summaries: Sequence[SummaryRevision]) -> str:
    market_names = sorted(
        {str(m["market"]) for s in summaries for m in s.summary.get("markets", [])}
    )
    currencies: dict[str, Any] = {}
    totals: dict[int, dict[str, int]] = {}
    for revision in summaries:
        totals[revision.revision] = {}
        for market in revision.summary.get("markets", []):
            currencies[str(market["market"])] = market.get("currency")
            totals[revision.revision][str(market["market"])] = int(
                market.get("total_paid_minor", 0)
            )
    rows = []
    for revision in summaries:
        events = revision.summary.get("events", {})
        rows.append(
            [
                str(revision.revision),
                _e(revision.computed_at or "—"),
                f'<code class="hash">{_e(str(revision.summary.get("rules_hash", ""))[:12])}</code>',
                format_count(revision.summary.get("creators_paid")),
                format_count(events.get("accepted")),
                format_count(events.get("late")),
                *(
                    _e(
                        format_money_minor(
                            totals[revision.revision].get(name), currencies.get(name)
                        )
                    )
                    for name in market_names
                ),
            ]
        )
    table = _table(
        ["revision", "computed at", "rules", "paid", "events", "late", *market_names],
        rows,
        numeric=[0, 3, 4, 5, *range(6, 6 + len(market_names))],
    )
    note = (
        '<p class="note">A period gets a new revision when it is computed again on changed '
        "inputs (late events, new facts); earlier revisions are kept.</p>"
    )
    if not market_names:
        return note + table

    def draw(figure: "Figure") -> None:
        for index, (axes, name) in enumerate(
            zip(_grid(figure, len(market_names)), market_names, strict=True)
        ):
            currency = currencies.get(name)
            points = [
                (revision, totals[revision][name])
                for revision in sorted(totals)
                if name in totals[revision]
            ]
            xs = [revision for revision, _ in points]
            # Drawing coordinates only: the exact totals are in the table above.
            ys = [_coordinate(major_from_minor(minor, currency)) for _, minor in points]
            axes.plot(xs, ys, marker="o", color=PALETTE[index % len(PALETTE)], linewidth=2)
            axes.set_title(f"{name} ({currency})" if currency else name)
            axes.set_xlabel("revision")
            axes.set_ylabel(f"total paid ({currency})" if currency else "total paid")
            axes.set_xticks(xs)
            axes.set_ylim(bottom=0, top=max([*ys, 1.0]) * 1.15)
            _money_axis(axes, currency, which="y")

    chart = _chart(
        "revisions",
        "Each market's total paid, revision after revision.",
        draw,
        height=_height(len(market_names)),
    )
    return note + table + chart


def _rejections(rejections: Mapping[tuple[str, str], int]) -> str:
    if not rejections:
        return '<p class="note">No input of this period was rejected.</p>'
    ordered = sorted(rejections.items(), key=lambda item: (-item[1], item[0]))
    total = sum(rejections.values())
    table = _table(
        ["source", "reason", "rejected"],
        (
            [_e(source), f"<code>{_e(reason)}</code>", format_count(n)]
            for (source, reason), n in ordered
        ),
        numeric=[2],
    )
    rows = [(f"{source}: {reason}", n) for (source, reason), n in ordered]

    def draw(figure: "Figure") -> None:
        axes = figure.subplots()
        _count_bars(axes, rows, PALETTE[5])
        axes.set_xlabel("rejected messages or events")

    chart = _chart(
        "rejections",
        "Rejected input of the period, by source and reason.",
        draw,
        height=1.0 + 0.35 * len(rows),
    )
    note = (
        f"<p>{format_count(total)} rejected in all. List them with <code>bonus rejected "
        "--period … --source … --reason …</code>.</p>"
    )
    return note + table + chart


def _footer(report: PeriodReport) -> str:
    generated = f" Generated {_e(report.generated_at)}." if report.generated_at else ""
    return (
        f'<footer>Rules content hash: <code class="hash">{_e(report.rules_hash)}</code>.'
        f"{generated} Amounts are exact, in each market's currency; charts are drawn from "
        "the same figures.</footer>"
    )


# --- the simulation page -----------------------------------------------------------------


def render_simulation_report(result: Mapping[str, Any]) -> str:
    """One self-contained HTML page for `bonus simulate`'s JSON (SPEC section 9)."""
    programs: list[Mapping[str, Any]] = list(result.get("programs", []))
    if not programs:
        raise ValueError("a simulation result has at least the baseline program")
    labels = ["baseline"] + [f"candidate {n}" for n in range(1, len(programs))]
    inputs = result.get("inputs", {})
    changes: list[Mapping[str, Any]] = list(result.get("changes", []))
    by_candidate = _changes_by_candidate(changes, programs, labels)

    program_rows = [
        [
            _e(label),
            _e(program.get("rules", "—")),
            f'<code class="hash">{_e(program.get("hash", ""))}</code>',
        ]
        for label, program in zip(labels, programs, strict=True)
    ]
    figures = [
        ("events accepted", format_count(inputs.get("events_accepted"))),
        ("rejected", format_count(inputs.get("rejected"))),
        ("candidates", format_count(len(programs) - 1)),
        (
            "creators changed",
            format_count(len({(c.get("creator_id"), c.get("candidate")) for c in changes})),
        ),
    ]
    body = [
        _figures(figures),
        _section(
            "programs",
            "Rules compared",
            _table(["", "rules", "content hash"], program_rows),
        ),
        _section("markets", "Markets side by side", _side_by_side(programs, labels)),
        _section(
            "changes",
            "Gains and losses",
            _gains_and_losses(by_candidate, programs, labels),
        ),
        _section(
            "qualifying",
            "Creators who newly qualify",
            _newly_qualifying(by_candidate, programs, labels),
        ),
        "<footer>Each candidate is computed on the same inputs as the baseline, with the "
        "same rules code. Amounts are exact, in each market's currency.</footer>",
    ]
    nav = [
        ("programs", "Rules"),
        ("markets", "Markets"),
        ("changes", "Gains and losses"),
        ("qualifying", "Newly qualifying"),
    ]
    title = f"Simulation: {result.get('period', '')}"
    subtitle = (
        f"Period <b>{_e(result.get('period', ''))}</b> · baseline and "
        f"{len(programs) - 1} candidate(s) on the same inputs"
    )
    return _page(title, subtitle, nav, "\n".join(body))


def _changes_by_candidate(
    changes: Sequence[Mapping[str, Any]],
    programs: Sequence[Mapping[str, Any]],
    labels: Sequence[str],
) -> dict[str, list[Mapping[str, Any]]]:
    """Changes grouped under each candidate's label. A change names its candidate by its
    rules, its hash, or its index in `programs`."""
    names: dict[str, str] = {}
    for index in range(len(programs) - 1, 0, -1):
        for key in (
            str(index),
            str(programs[index].get("hash")),
            str(programs[index].get("rules")),
        ):
            names[key] = labels[index]
    grouped: dict[str, list[Mapping[str, Any]]] = {label: [] for label in labels[1:]}
    for change in changes:
        label = names.get(str(change.get("candidate")), str(change.get("candidate")))
        grouped.setdefault(label, []).append(change)
    return grouped


def _market_names(programs: Sequence[Mapping[str, Any]]) -> list[str]:
    return sorted({str(name) for p in programs for name in p.get("markets", {})})


def _currency_of(programs: Sequence[Mapping[str, Any]], market: str | None) -> str | None:
    for program in programs:
        found = program.get("markets", {}).get(market, {}).get("currency")
        if found:
            return str(found)
    return None


def _side_by_side(programs: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> str:
    names = _market_names(programs)
    if not names:
        return '<p class="note">No market in any of the rules.</p>'
    cards = []
    for name in names:
        currency = _currency_of(programs, name)
        columns = [p.get("markets", {}).get(name) for p in programs]
        base = columns[0] or {}
        base_total = base.get("total_minor")

        def cell(market: Mapping[str, Any] | None, key: str, currency: str | None) -> str:
            if market is None:
                return "not in these rules"
            if key in ("total", "limit"):
                if key == "limit" and market.get("limit") is None:
                    return "no limit"
                return _e(format_money(market.get(key), currency))
            return format_count(market.get(key))

        rows = [
            [_e(key), *(cell(market, key, currency) for market in columns)]
            for key in ("creators", "eligible", "paid", "total", "limit")
        ]
        change_row = ["change in total"]
        for market in columns:
            if market is None or base_total is None or market is columns[0]:
                change_row.append("—")
                continue
            delta = int(market.get("total_minor", 0)) - int(base_total)
            css = "gain" if delta > 0 else "loss" if delta < 0 else ""
            change_row.append(
                f'<span class="{css}">{_e(format_signed_minor(delta, currency))}</span>'
            )
        rows.append(change_row)
        table = _table(["", *labels], rows, numeric=range(1, len(labels) + 1))
        cards.append(
            f'<h3>{_e(name)} <span class="note">({_e(currency or "—")})</span></h3>{table}'
        )

    def draw(figure: "Figure") -> None:
        for axes, name in zip(_grid(figure, len(names)), names, strict=True):
            currency = _currency_of(programs, name)
            heights = []
            for program in programs:
                market = program.get("markets", {}).get(name)
                minor = int(market.get("total_minor", 0)) if market else 0
                heights.append(_coordinate(major_from_minor(minor, currency)))  # drawing only
            bars = axes.bar(
                range(len(programs)),
                heights,
                color=[PALETTE[i % len(PALETTE)] for i in range(len(programs))],
            )
            axes.set_xticks(range(len(programs)), labels, rotation=15)
            axes.set_title(f"{name} ({currency})" if currency else name)
            axes.set_ylabel(f"total paid ({currency})" if currency else "total paid")
            axes.set_ylim(bottom=0, top=max([*heights, 1.0]) * 1.15)
            axes.grid(axis="x", visible=False)
            _money_axis(axes, currency, which="y")
            del bars

    chart = _chart(
        "side-by-side",
        "Each market's total paid under the baseline and each candidate.",
        draw,
        height=_height(len(names)),
    )
    return "".join(cards) + chart


def _gains_and_losses(
    by_candidate: Mapping[str, Sequence[Mapping[str, Any]]],
    programs: Sequence[Mapping[str, Any]],
    labels: Sequence[str],
) -> str:
    if len(labels) < 2:
        return '<p class="note">No candidate rules: nothing to compare.</p>'
    rows = []
    panels: list[tuple[str, str, str | None, list[int]]] = []
    for label, changes in by_candidate.items():
        per_market: dict[str, list[int]] = defaultdict(list)
        for change in changes:
            delta = int(change.get("amount_minor_after", 0)) - int(
                change.get("amount_minor_before", 0)
            )
            per_market[str(change.get("market") or NO_MARKET)].append(delta)
        if not per_market:
            rows.append([_e(label), "—", "0", "0", "0", "—", "—"])
        for market in sorted(per_market):
            deltas = per_market[market]
            currency = _currency_of(programs, market)
            gains = [d for d in deltas if d > 0]
            losses = [d for d in deltas if d < 0]
            rows.append(
                [
                    _e(label),
                    _e(market),
                    format_count(len(gains)),
                    format_count(len(losses)),
                    format_count(len(deltas) - len(gains) - len(losses)),
                    _e(format_signed_minor(sum(gains), currency)),
                    _e(format_signed_minor(sum(losses), currency)),
                ]
            )
            if gains or losses:
                panels.append((label, market, currency, gains + losses))
    table = _table(
        ["candidate", "market", "gain", "lose", "same amount", "sum of gains", "sum of losses"],
        rows,
        numeric=range(2, 7),
    )
    if not panels:
        return table + '<p class="note">No creator\'s amount changes under any candidate.</p>'

    def draw(figure: "Figure") -> None:
        for index, (axes, (label, market, currency, deltas)) in enumerate(
            zip(_grid(figure, len(panels)), panels, strict=True)
        ):
            # Drawing coordinates only: the exact sums are in the table above.
            values = [_coordinate(major_from_minor(d, currency)) for d in deltas]
            _histogram(axes, values, PALETTE[(index + 1) % len(PALETTE)])
            axes.axvline(0, color=INK, linewidth=1)
            axes.set_title(f"{label}: {market}")
            axes.set_xlabel(f"change in amount ({currency})" if currency else "change in amount")
            _money_axis(axes, currency)
            axes.tick_params(axis="x", labelrotation=20)

    chart = _chart(
        "gains-losses",
        "For each candidate and market: how many creators gain or lose how much against "
        "the baseline (right of the line: a gain).",
        draw,
        height=_height(len(panels)),
    )
    return table + chart


def _newly_qualifying(
    by_candidate: Mapping[str, Sequence[Mapping[str, Any]]],
    programs: Sequence[Mapping[str, Any]],
    labels: Sequence[str],
) -> str:
    if len(labels) < 2:
        return '<p class="note">No candidate rules: nothing to compare.</p>'
    parts = []
    for label, changes in by_candidate.items():
        newly = sorted(
            (c for c in changes if not c.get("eligible_before") and c.get("eligible_after")),
            key=lambda c: str(c.get("creator_id")),
        )
        lost = sum(1 for c in changes if c.get("eligible_before") and not c.get("eligible_after"))
        summary = (
            f"<p>{format_count(len(newly))} creator(s) qualify under {_e(label)} and not "
            f"under the baseline; {format_count(lost)} qualify under the baseline and no "
            "longer do.</p>"
        )
        if not newly:
            parts.append(f"<h3>{_e(label)}</h3>{summary}")
            continue
        rows = [
            [
                f"<code>{_e(c.get('creator_id'))}</code>",
                _e(c.get("market") or NO_MARKET),
                _e(
                    format_money_minor(
                        int(c.get("amount_minor_after", 0)),
                        _currency_of(programs, c.get("market")),
                    )
                ),
            ]
            for c in newly[:NEWLY_QUALIFYING_ROWS]
        ]
        more = len(newly) - NEWLY_QUALIFYING_ROWS
        tail = f'<p class="note">… and {format_count(more)} more.</p>' if more > 0 else ""
        table = _table(["creator", "market", "amount after"], rows, numeric=[2])
        parts.append(f"<h3>{_e(label)}</h3>{summary}{table}{tail}")
    return "\n".join(parts)
