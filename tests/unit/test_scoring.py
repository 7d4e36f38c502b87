"""Points (SPEC section 4, step 2): count x weight summed per post, floored at 0 per post,
capped by post_points_cap; restricted posts and uncounted qualities earn nothing."""

import textwrap
from decimal import Decimal

from bonus_engine.program_rules import ScoringRules, parse_program_rules
from bonus_engine.scoring import score_creator

# --- builders --------------------------------------------------------------------------

WEIGHTS = """\
reel:     {view: 0.5, like: 5, comment: 10, share: 20}
carousel: {view: 1, like: 5, comment: 10, share: 20}
standard: {view: 0, like: 0, comment: 0, share: 0}
"""


def scoring_rules(
    counted_quality: str = "[organic]", post_points_cap: str = "null", weights: str = WEIGHTS
) -> ScoringRules:
    """The SPEC section 3 example with the weights and the scoring options given."""
    text = (
        "program_id: spring-bonus\n"
        "period: month\n"
        "grace_hours: 48\n"
        "scoring:\n"
        f"  counted_quality: {counted_quality}\n"
        "  weights:\n"
        + textwrap.indent(weights, "    ")
        + f"  post_points_cap: {post_points_cap}\n"
        "markets:\n"
        "  US:\n"
        "    currency: USD\n"
        '    payout: {model: rate, tiers: [{up_to: null, per_1000_points: "0.40"}]}\n'
    )
    return parse_program_rules(text.encode(), "test.yaml").rules.scoring


RULES = scoring_rules()
NOTHING_RESTRICTED: frozenset[str] = frozenset()


# --- points from a tally ---------------------------------------------------------------


def test_each_metric_adds_its_count_times_its_weight() -> None:
    # Given a carousel post with 100 views, 10 likes, 2 comments and 1 share
    tally = {
        ("p1", "carousel", "view", "organic"): 100,
        ("p1", "carousel", "like", "organic"): 10,
        ("p1", "carousel", "comment", "organic"): 2,
        ("p1", "carousel", "share", "organic"): 1,
    }
    # When scored
    points = score_creator(RULES, tally, NOTHING_RESTRICTED)
    # Then 100x1 + 10x5 + 2x10 + 1x20 = 100 + 50 + 20 + 20 = 190 points
    assert points.points == Decimal(190)
    assert points.qualifying_posts == 1


def test_a_decimal_weight_gives_decimal_points() -> None:
    # Given a reel with 3 views, a reel view weighing 0.5
    tally = {("p1", "reel", "view", "organic"): 3}
    # When scored
    points = score_creator(RULES, tally, NOTHING_RESTRICTED)
    # Then 3 x 0.5 = 1.5 points
    assert points.points == Decimal("1.5")


def test_decimal_weights_are_summed_exactly_not_in_binary_floating_point() -> None:
    # Given views weighing 0.1 on three posts of one view each
    rules = scoring_rules(
        weights=(
            "reel:     {view: 0.1, like: 0, comment: 0, share: 0}\n"
            "carousel: {view: 0.2, like: 0, comment: 0, share: 0}\n"
            "standard: {view: 0, like: 0, comment: 0, share: 0}\n"
        )
    )
    tally = {
        ("p1", "reel", "view", "organic"): 1,
        ("p2", "reel", "view", "organic"): 1,
        ("p3", "carousel", "view", "organic"): 1,
    }
    # When scored
    points = score_creator(rules, tally, NOTHING_RESTRICTED)
    # Then 0.1 + 0.1 + 0.2 = 0.4 exactly (binary floats give 0.4000000000000001)
    assert points.points == Decimal("0.4")


def test_a_creators_points_are_the_sum_over_posts() -> None:
    # Given a reel (4 views: 4 x 0.5 = 2) and a carousel (3 comments: 3 x 10 = 30)
    tally = {
        ("p1", "reel", "view", "organic"): 4,
        ("p2", "carousel", "comment", "organic"): 3,
    }
    # When scored
    points = score_creator(RULES, tally, NOTHING_RESTRICTED)
    # Then 2 + 30 = 32 points from 2 qualifying posts
    assert points.points == Decimal(32)
    assert points.qualifying_posts == 2
    assert [(post.post_id, post.points) for post in points.posts] == [
        ("p1", Decimal(2)),
        ("p2", Decimal(30)),
    ]


def test_an_empty_tally_scores_nothing() -> None:
    # Given no engagement / When scored / Then 0 points and no posts
    points = score_creator(RULES, {}, NOTHING_RESTRICTED)
    assert points.points == Decimal(0)
    assert points.qualifying_posts == 0
    assert points.posts == ()


def test_a_format_weighted_zero_earns_nothing_and_does_not_qualify() -> None:
    # Given a standard post (all weights 0) with 1000 views and 50 likes
    tally = {
        ("p1", "standard", "view", "organic"): 1000,
        ("p1", "standard", "like", "organic"): 50,
    }
    # When scored / Then 1000x0 + 50x0 = 0 points, not a qualifying post
    points = score_creator(RULES, tally, NOTHING_RESTRICTED)
    assert points.points == Decimal(0)
    assert points.qualifying_posts == 0


# --- retractions and the floor at 0 ----------------------------------------------------


def test_retractions_reduce_a_posts_points() -> None:
    # Given a carousel with 20 likes and a net retraction of 5 comments
    tally = {
        ("p1", "carousel", "like", "organic"): 20,
        ("p1", "carousel", "comment", "organic"): -5,
    }
    # When scored / Then 20x5 - 5x10 = 100 - 50 = 50 points
    points = score_creator(RULES, tally, NOTHING_RESTRICTED)
    assert points.points == Decimal(50)


def test_a_post_below_zero_is_floored_at_zero_and_does_not_qualify() -> None:
    # Given a carousel with 10 views and a net retraction of 4 likes: 10 - 20 = -10
    tally = {
        ("p1", "carousel", "view", "organic"): 10,
        ("p1", "carousel", "like", "organic"): -4,
    }
    # When scored
    points = score_creator(RULES, tally, NOTHING_RESTRICTED)
    # Then the post earns 0 (flagged as floored), and keeps its weighted -10 for the record
    (post,) = points.posts
    assert post.points == Decimal(0)
    assert post.weighted == Decimal(-10)
    assert post.floored is True
    assert points.points == Decimal(0)
    assert points.qualifying_posts == 0


def test_the_floor_applies_per_post_not_across_posts() -> None:
    # Given p1 at 10x1 - 4x5 = -10 and p2 at 30 views = 30
    tally = {
        ("p1", "carousel", "view", "organic"): 10,
        ("p1", "carousel", "like", "organic"): -4,
        ("p2", "carousel", "view", "organic"): 30,
    }
    # When scored
    points = score_creator(RULES, tally, NOTHING_RESTRICTED)
    # Then max(-10, 0) + 30 = 30 points, not -10 + 30 = 20
    assert points.points == Decimal(30)
    assert points.qualifying_posts == 1


def test_a_post_whose_counts_cancel_out_does_not_qualify() -> None:
    # Given a post whose likes were all retracted: a net count of 0
    tally = {("p1", "carousel", "like", "organic"): 0}
    # When scored / Then 0 points, no metric line, not a qualifying post
    points = score_creator(RULES, tally, NOTHING_RESTRICTED)
    assert points.points == Decimal(0)
    assert points.qualifying_posts == 0
    assert points.posts[0].lines == ()


# --- post_points_cap -------------------------------------------------------------------


def test_a_post_above_the_post_points_cap_earns_the_cap() -> None:
    # Given a cap of 1000 points per post; p1 at 150 comments x 10 = 1500, p2 at 400 views
    rules = scoring_rules(post_points_cap='"1000"')
    tally = {
        ("p1", "carousel", "comment", "organic"): 150,
        ("p2", "carousel", "view", "organic"): 400,
    }
    # When scored
    points = score_creator(rules, tally, NOTHING_RESTRICTED)
    # Then min(1500, 1000) + min(400, 1000) = 1000 + 400 = 1400 points
    assert points.points == Decimal(1400)
    assert [post.capped for post in points.posts] == [True, False]


def test_a_post_exactly_at_the_post_points_cap_is_not_capped() -> None:
    # Given a cap of 1000 and a post of 100 comments x 10 = 1000 points
    rules = scoring_rules(post_points_cap='"1000"')
    tally = {("p1", "carousel", "comment", "organic"): 100}
    # When scored / Then it earns its 1000 points, not flagged as capped
    points = score_creator(rules, tally, NOTHING_RESTRICTED)
    assert points.points == Decimal(1000)
    assert points.posts[0].capped is False


def test_a_decimal_post_points_cap_holds_a_post_at_that_decimal() -> None:
    # Given a cap of 100.5 and a reel of 300 views x 0.5 = 150 points
    rules = scoring_rules(post_points_cap='"100.5"')
    tally = {("p1", "reel", "view", "organic"): 300}
    # When scored / Then min(150, 100.5) = 100.5 points
    assert score_creator(rules, tally, NOTHING_RESTRICTED).points == Decimal("100.5")


# --- restricted posts -------------------------------------------------------------------


def test_a_restricted_post_earns_nothing() -> None:
    # Given p1 (restricted) with 50 comments = 500 and p2 with 40 views = 40
    tally = {
        ("p1", "carousel", "comment", "organic"): 50,
        ("p2", "carousel", "view", "organic"): 40,
    }
    # When scored with p1 restricted
    points = score_creator(RULES, tally, frozenset({"p1"}))
    # Then 0 + 40 = 40 points from 1 qualifying post; p1 is marked restricted
    assert points.points == Decimal(40)
    assert points.qualifying_posts == 1
    assert [(post.post_id, post.restricted) for post in points.posts] == [
        ("p1", True),
        ("p2", False),
    ]


def test_a_restricted_post_is_neither_floored_nor_capped() -> None:
    # Given a cap of 100; p1 restricted at 500 points and p2 restricted at 10 - 20 = -10
    rules = scoring_rules(post_points_cap='"100"')
    tally = {
        ("p1", "carousel", "comment", "organic"): 50,
        ("p2", "carousel", "view", "organic"): 10,
        ("p2", "carousel", "like", "organic"): -4,
    }
    # When scored with both restricted
    points = score_creator(rules, tally, frozenset({"p1", "p2"}))
    # Then both earn 0 because they are restricted, not because of the cap or the floor
    assert [(post.points, post.capped, post.floored) for post in points.posts] == [
        (Decimal(0), False, False),
        (Decimal(0), False, False),
    ]


def test_restricting_a_post_without_engagement_changes_nothing() -> None:
    # Given 40 views on p2 and a restriction on p9, which had no engagement
    tally = {("p2", "carousel", "view", "organic"): 40}
    # When scored / Then 40 points
    assert score_creator(RULES, tally, frozenset({"p9"})).points == Decimal(40)


# --- counted qualities -----------------------------------------------------------------


def test_paid_self_and_invalid_engagement_do_not_count() -> None:
    # Given 10 organic views, and 1000 paid, 200 self and 300 invalid views on one post
    tally = {
        ("p1", "carousel", "view", "organic"): 10,
        ("p1", "carousel", "view", "paid"): 1000,
        ("p1", "carousel", "view", "self"): 200,
        ("p1", "carousel", "view", "invalid"): 300,
    }
    # When scored with counted_quality [organic]
    points = score_creator(RULES, tally, NOTHING_RESTRICTED)
    # Then 10 x 1 = 10 points; the rest is listed as uncounted
    assert points.points == Decimal(10)
    assert dict(points.posts[0].uncounted) == {"invalid": 300, "paid": 1000, "self": 200}


def test_a_post_with_only_uncounted_engagement_does_not_qualify() -> None:
    # Given a post with only 5000 paid views
    tally = {("p1", "carousel", "view", "paid"): 5000}
    # When scored / Then 0 points, no qualifying post
    points = score_creator(RULES, tally, NOTHING_RESTRICTED)
    assert points.points == Decimal(0)
    assert points.qualifying_posts == 0


def test_a_quality_listed_in_counted_quality_counts() -> None:
    # Given counted_quality [organic, paid]; 10 organic and 1000 paid views, 7 self views
    rules = scoring_rules(counted_quality="[organic, paid]")
    tally = {
        ("p1", "carousel", "view", "organic"): 10,
        ("p1", "carousel", "view", "paid"): 1000,
        ("p1", "carousel", "view", "self"): 7,
    }
    # When scored / Then (10 + 1000) x 1 = 1010 points; self stays uncounted
    points = score_creator(rules, tally, NOTHING_RESTRICTED)
    assert points.points == Decimal(1010)
    assert dict(points.posts[0].uncounted) == {"self": 7}


# --- the breakdown ---------------------------------------------------------------------


def test_points_are_broken_down_by_format_and_metric() -> None:
    # Given a reel (6 views x 0.5 = 3; 2 shares x 20 = 40) and a carousel (4 likes x 5 = 20)
    tally = {
        ("p1", "reel", "view", "organic"): 6,
        ("p1", "reel", "share", "organic"): 2,
        ("p2", "carousel", "like", "organic"): 4,
    }
    # When scored
    points = score_creator(RULES, tally, NOTHING_RESTRICTED)
    # Then by format: reel 3 + 40 = 43, carousel 20; by metric: view 3, like 20, share 40
    assert points.points == Decimal(63)
    assert dict(points.by_format) == {
        "reel": Decimal(43),
        "carousel": Decimal(20),
        "standard": Decimal(0),
    }
    assert dict(points.by_metric) == {
        "view": Decimal(3),
        "like": Decimal(20),
        "comment": Decimal(0),
        "share": Decimal(40),
    }
    assert points.adjustment == Decimal(0)


def test_each_metric_line_shows_its_count_and_points() -> None:
    # Given a reel with 6 views and 2 shares
    tally = {
        ("p1", "reel", "view", "organic"): 6,
        ("p1", "reel", "share", "organic"): 2,
    }
    # When scored
    (post,) = score_creator(RULES, tally, NOTHING_RESTRICTED).posts
    # Then one line per metric: 2 x 20 = 40 and 6 x 0.5 = 3
    assert sorted((line.metric, line.count, line.points) for line in post.lines) == [
        ("share", 2, Decimal(40)),
        ("view", 6, Decimal(3)),
    ]


def test_the_adjustment_explains_what_the_floor_added() -> None:
    # Given p1 at 10 views - 4 likes = 10 - 20 = -10 (floored to 0) and p2 at 3 comments = 30
    tally = {
        ("p1", "carousel", "view", "organic"): 10,
        ("p1", "carousel", "like", "organic"): -4,
        ("p2", "carousel", "comment", "organic"): 3,
    }
    # When scored
    points = score_creator(RULES, tally, NOTHING_RESTRICTED)
    # Then by format holds the weighted sum -10 + 30 = 20; points are 30; adjustment +10
    assert points.by_format["carousel"] == Decimal(20)
    assert points.by_metric["like"] == Decimal(-20)
    assert points.points == Decimal(30)
    assert points.adjustment == Decimal(10)


def test_the_adjustment_explains_what_the_post_cap_took() -> None:
    # Given a cap of 1000 and a post of 150 comments x 10 = 1500
    rules = scoring_rules(post_points_cap='"1000"')
    tally = {("p1", "carousel", "comment", "organic"): 150}
    # When scored
    points = score_creator(rules, tally, NOTHING_RESTRICTED)
    # Then 1500 by format, 1000 points, an adjustment of 1000 - 1500 = -500
    assert points.by_format["carousel"] == Decimal(1500)
    assert points.adjustment == Decimal(-500)


def test_restricted_posts_are_left_out_of_the_breakdown_by_format() -> None:
    # Given p1 (restricted) with 50 comments and p2 with 40 views
    tally = {
        ("p1", "carousel", "comment", "organic"): 50,
        ("p2", "carousel", "view", "organic"): 40,
    }
    # When scored with p1 restricted
    points = score_creator(RULES, tally, frozenset({"p1"}))
    # Then only p2's 40 view points appear by format and by metric
    assert points.by_format["carousel"] == Decimal(40)
    assert points.by_metric["comment"] == Decimal(0)
    assert points.adjustment == Decimal(0)


def test_uncounted_engagement_is_left_out_of_the_breakdown() -> None:
    # Given 10 organic views and 1000 paid views
    tally = {
        ("p1", "carousel", "view", "organic"): 10,
        ("p1", "carousel", "view", "paid"): 1000,
    }
    # When scored / Then only the 10 organic view points appear by metric
    points = score_creator(RULES, tally, NOTHING_RESTRICTED)
    assert points.by_metric["view"] == Decimal(10)
