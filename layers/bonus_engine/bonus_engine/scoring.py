"""Points (SPEC section 4, step 2): pure, exact, explained post by post.

The input is a tally: the summed `count` of a creator's accepted events of the period by
(post, format, metric, quality). Summing counts first keeps the work proportional to a
creator's posts, not their events, and is exact because counts are integers.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from bonus_engine.engagement import FORMATS, METRICS, Format, Metric, Quality
from bonus_engine.money import EXACT
from bonus_engine.program_rules import ScoringRules

TallyKey = tuple[str, Format, Metric, Quality]  # (post_id, format, metric, quality)
Tally = Mapping[TallyKey, int]


@dataclass(frozen=True)
class MetricLine:
    format: Format
    metric: Metric
    count: int  # net count of counted-quality events (retractions included)
    points: Decimal  # count x weight


@dataclass(frozen=True)
class PostPoints:
    post_id: str
    lines: tuple[MetricLine, ...]
    uncounted: Mapping[Quality, int]  # net counts of events whose quality does not count
    weighted: Decimal  # the sum of the lines
    points: Decimal  # what the post earns: 0 if restricted, else floored at 0 and capped
    restricted: bool
    floored: bool
    capped: bool

    @property
    def qualifies(self) -> bool:
        return self.points > 0


@dataclass(frozen=True)
class CreatorPoints:
    points: Decimal
    qualifying_posts: int
    posts: tuple[PostPoints, ...]
    by_format: Mapping[Format, Decimal] = field(default_factory=dict)
    by_metric: Mapping[Metric, Decimal] = field(default_factory=dict)

    @property
    def adjustment(self) -> Decimal:
        """What the floor at 0 and the post cap changed: points = sum(by_format) + this."""
        with localcontext(EXACT):
            return self.points - sum(self.by_format.values(), Decimal(0))


def score_creator(scoring: ScoringRules, tally: Tally, restricted: frozenset[str]) -> CreatorPoints:
    counted: dict[str, dict[tuple[Format, Metric], int]] = defaultdict(lambda: defaultdict(int))
    uncounted: dict[str, dict[Quality, int]] = defaultdict(lambda: defaultdict(int))
    for (post_id, format_, metric, quality), count in tally.items():
        if quality in scoring.counted_quality:
            counted[post_id][(format_, metric)] += count
        else:
            uncounted[post_id][quality] += count

    posts = []
    with localcontext(EXACT):
        for post_id in sorted(set(counted) | set(uncounted)):
            posts.append(
                _score_post(
                    scoring, post_id, counted[post_id], uncounted[post_id], post_id in restricted
                )
            )
        by_format = {format_: Decimal(0) for format_ in FORMATS}
        by_metric = {metric: Decimal(0) for metric in METRICS}
        for post in posts:
            if post.restricted:
                continue
            for line in post.lines:
                by_format[line.format] += line.points
                by_metric[line.metric] += line.points
        total = sum((post.points for post in posts), Decimal(0))
    return CreatorPoints(
        points=total,
        qualifying_posts=sum(1 for post in posts if post.qualifies),
        posts=tuple(posts),
        by_format=by_format,
        by_metric=by_metric,
    )


def _score_post(
    scoring: ScoringRules,
    post_id: str,
    counted: Mapping[tuple[Format, Metric], int],
    uncounted: Mapping[Quality, int],
    restricted: bool,
) -> PostPoints:
    lines = tuple(
        MetricLine(format_, metric, count, count * scoring.weight(format_, metric))
        for (format_, metric), count in sorted(counted.items())
        if count != 0
    )
    weighted = sum((line.points for line in lines), Decimal(0))
    floored = weighted < 0
    points = max(weighted, Decimal(0))
    cap = scoring.post_points_cap
    capped = cap is not None and points > cap
    if capped:
        assert cap is not None
        points = cap
    return PostPoints(
        post_id=post_id,
        lines=lines,
        uncounted={quality: count for quality, count in sorted(uncounted.items()) if count},
        weighted=weighted,
        points=Decimal(0) if restricted else points,
        restricted=restricted,
        floored=floored and not restricted,
        capped=capped and not restricted,
    )
