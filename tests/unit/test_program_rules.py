"""Program rules (SPEC section 3): one YAML file per program, validated on load, with
errors that name the file, the field and why."""

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest

from bonus_engine.program_rules import (
    MilestonesPayout,
    PoolPayout,
    ProgramRulesError,
    RatePayout,
    load_program_rules,
    load_programs,
    parse_program_rules,
)

REPOSITORY = Path(__file__).resolve().parents[2]
SHIPPED_RULES = REPOSITORY / "layers" / "program_rules" / "programs" / "spring-bonus.yaml"
SOURCE = "spring.yaml"

# The example of SPEC section 3, verbatim.
# The example of the contract (docs/CONTRACT.md section 3), line for line.
SPEC_EXAMPLE = (Path(__file__).parent / "data" / "spec-example.yaml").read_text()


def edited(old: str, new: str, text: str = SPEC_EXAMPLE) -> bytes:
    """The example with one edit; fails loudly if the text to replace is not there."""
    assert text.count(old) == 1, f"the example does not hold {old!r} exactly once"
    return text.replace(old, new).encode()


def write(directory: Path, name: str, text: str | bytes) -> Path:
    path = directory / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


# -- the example loads ------------------------------------------------------------------


def test_the_spec_example_loads_with_its_values() -> None:
    # Given the SPEC's example rules
    # When they are parsed
    rules = parse_program_rules(SPEC_EXAMPLE.encode(), SOURCE).rules
    # Then every value is there, as written
    assert rules.program_id == "spring-bonus"
    assert rules.period == "month"
    assert rules.grace_hours == 48
    assert rules.eligibility.account_type == "professional"
    assert rules.eligibility.invitation_required is True
    assert rules.eligibility.adult_required is True
    assert rules.eligibility.max_active_strikes == 0
    assert rules.eligibility.min_followers == 0
    assert rules.scoring.counted_quality == ["organic"]
    assert rules.scoring.weights["carousel"]["share"] == Decimal(20)
    assert rules.scoring.post_points_cap is None
    assert list(rules.markets) == ["US", "JP", "KR"]


def test_the_spec_example_markets_have_their_payouts_and_the_documented_defaults() -> None:
    # Given the SPEC's example rules
    # When they are parsed
    markets = parse_program_rules(SPEC_EXAMPLE.encode(), SOURCE).rules.markets
    # Then the US pays by rate tiers, with its cap, minimum and budget
    us = markets["US"]
    assert isinstance(us.payout, RatePayout)
    assert [(t.up_to, t.per_1000_points) for t in us.payout.tiers] == [
        (Decimal(1000000), Decimal("0.40")),
        (None, Decimal("0.20")),
    ]
    assert (us.currency, us.creator_cap, us.minimum_payout, us.budget) == (
        "USD",
        Decimal("2000.00"),
        Decimal("10.00"),
        Decimal("500000.00"),
    )
    # And Japan by milestones, with the defaults (no cap, no minimum, no budget, 1 post)
    jp = markets["JP"]
    assert isinstance(jp.payout, MilestonesPayout)
    assert [(m.points, m.amount) for m in jp.payout.milestones] == [
        (Decimal(100000), Decimal(5000)),
        (Decimal(1000000), Decimal(60000)),
    ]
    assert (jp.creator_cap, jp.minimum_payout, jp.budget, jp.min_qualifying_posts) == (
        None,
        None,
        None,
        1,
    )
    # And Korea shares a pool
    kr = markets["KR"]
    assert isinstance(kr.payout, PoolPayout)
    assert (kr.currency, kr.payout.pool) == ("KRW", Decimal(100000000))


def test_the_shipped_spring_bonus_file_loads_as_the_spec_example() -> None:
    # Given the rules file deployed with the layer
    # When it is loaded from disk
    shipped = load_program_rules(SHIPPED_RULES)
    # Then it holds the same rules as the SPEC's example
    assert shipped.rules == parse_program_rules(SPEC_EXAMPLE.encode(), SOURCE).rules
    assert shipped.source == str(SHIPPED_RULES)


def test_the_content_hash_is_sha256_of_the_file_bytes() -> None:
    # Given the SPEC's example as bytes
    text = SPEC_EXAMPLE.encode()
    # When it is parsed
    loaded = parse_program_rules(text, SOURCE)
    # Then its hash is "sha256:" and the hex digest of exactly those bytes
    assert loaded.content_hash == "sha256:" + hashlib.sha256(text).hexdigest()
    assert len(loaded.content_hash) == len("sha256:") + 64


def test_the_content_hash_of_a_loaded_file_is_that_of_its_bytes_on_disk() -> None:
    # Given the shipped rules file
    # When it is loaded
    loaded = load_program_rules(SHIPPED_RULES)
    # Then the hash is that of the file's bytes
    assert loaded.content_hash == "sha256:" + hashlib.sha256(SHIPPED_RULES.read_bytes()).hexdigest()


def test_changing_one_byte_changes_the_content_hash_even_in_a_comment() -> None:
    # Given the example, and a copy with one byte of a comment changed
    original = SPEC_EXAMPLE.encode()
    changed = edited("# calendar months", "# Calendar months")
    assert len(changed) == len(original)
    # When both are parsed
    first = parse_program_rules(original, SOURCE)
    second = parse_program_rules(changed, SOURCE)
    # Then the rules are equal but the hashes differ
    assert first.rules == second.rules
    assert first.content_hash != second.content_hash


@pytest.mark.parametrize(
    ("old", "new", "path", "expected"),
    [
        pytest.param(
            "reel:     {view: 1,",
            "reel:     {view: 0.1,",
            ("scoring", "weights", "reel", "view"),
            Decimal("0.1"),
            id="weight-0.1",
        ),
        pytest.param(
            "reel:     {view: 1,",
            "reel:     {view: 0.5,",
            ("scoring", "weights", "reel", "view"),
            Decimal("0.5"),
            id="weight-0.5",
        ),
        pytest.param(
            "like: 5, comment: 10, share: 20}\n    standard",
            "like: 5, comment: 10, share: 2.30}\n    standard",
            ("scoring", "weights", "carousel", "share"),
            Decimal("2.30"),
            id="weight-2.30",
        ),
        pytest.param(
            "like: 5, comment: 10, share: 20}\n  post",
            "like: 5, comment: 10, share: 1_000.5}\n  post",
            ("scoring", "weights", "standard", "share"),
            Decimal("1000.5"),
            id="underscores",
        ),
    ],
)
def test_unquoted_decimals_in_the_yaml_load_as_exact_decimals(
    old: str, new: str, path: tuple[str, ...], expected: Decimal
) -> None:
    # Given a weight written as an unquoted YAML decimal
    # When the rules are parsed
    rules = parse_program_rules(edited(old, new), SOURCE).rules
    value: object = rules.scoring.weights[path[2]][path[3]]
    # Then it is that exact Decimal, never a binary float
    assert isinstance(value, Decimal)
    assert value == expected
    assert str(value) == str(expected)


def test_an_unquoted_usd_amount_keeps_its_exact_cents() -> None:
    # Given a USD creator cap written unquoted, 2000.10
    text = edited('creator_cap: "2000.00"', "creator_cap: 2000.10")
    # When the rules are parsed
    market = parse_program_rules(text, SOURCE).rules.markets["US"]
    # Then the cap is exactly 2000.10
    assert isinstance(market.creator_cap, Decimal)
    assert market.creator_cap == Decimal("2000.10")


# -- every problem names the file, the field and why ------------------------------------


@pytest.mark.parametrize(
    ("old", "new", "fragments"),
    [
        pytest.param(
            'amount: "5000"}',
            'amount: "5000.5"}',
            ["markets.JP", "payout.milestones[0].amount", "JPY has no minor unit", "5000.5"],
            id="jpy-amount-with-decimals",
        ),
        pytest.param(
            'pool: "100000000"',
            'pool: "100000000.5"',
            ["markets.KR", "payout.pool", "KRW has no minor unit"],
            id="krw-pool-with-decimals",
        ),
        pytest.param(
            'creator_cap: "2000.00"',
            'creator_cap: "2000.001"',
            ["markets.US", "creator_cap", "USD has 2 decimals", "2000.001"],
            id="usd-amount-with-3-decimals",
        ),
        pytest.param(
            'budget: "500000.00"',
            'budget: "500000.125"',
            ["markets.US", "budget", "USD has 2 decimals"],
            id="usd-budget-with-3-decimals",
        ),
        pytest.param(
            "model: pool",
            "model: lottery",
            ["markets.KR.payout", "unknown payout model"],
            id="unknown-payout-model",
        ),
        pytest.param(
            '{up_to: null, per_1000_points: "0.20"}',
            '{up_to: 500000, per_1000_points: "0.20"}',
            ["markets.US.payout.tiers", "out of order"],
            id="tiers-out-of-order",
        ),
        pytest.param(
            '[{up_to: 1000000, per_1000_points: "0.40"}, {up_to: null, per_1000_points: "0.20"}]',
            '[{up_to: null, per_1000_points: "0.40"}, {up_to: 2000000, per_1000_points: "0.20"}]',
            ["markets.US.payout.tiers", "up_to: null", "not the last"],
            id="null-up_to-not-last",
        ),
        pytest.param(
            '{points: 1000000, amount: "60000"}',
            '{points: 100000, amount: "60000"}',
            ["markets.JP.payout.milestones", "out of order"],
            id="milestones-out-of-order",
        ),
        pytest.param(
            "reel:     {view: 1,",
            "reel:     {view: -1,",
            ["scoring.weights.reel.view", "negative"],
            id="negative-weight",
        ),
        pytest.param(
            "carousel: {view: 1, like: 5, comment: 10, share: 20}",
            "carousel: {view: 1, like: 5, comment: 10}",
            ["scoring.weights", "carousel", "missing the weight of share"],
            id="missing-weight-of-a-metric",
        ),
        pytest.param(
            "    standard: {view: 1, like: 5, comment: 10, share: 20}\n",
            "",
            ["scoring.weights", "missing the weights of standard"],
            id="missing-weights-of-a-format",
        ),
        pytest.param(
            "program_id: spring-bonus\n",
            "program_id: spring-bonus\ncolour: blue\n",
            ["colour", "unknown field"],
            id="unknown-top-level-field",
        ),
        pytest.param(
            "  min_followers: 0\n",
            "  min_followers: 0\n  min_age: 18\n",
            ["eligibility.min_age", "unknown field"],
            id="unknown-nested-field",
        ),
        pytest.param(
            "grace_hours: 48          # the scheduled run computes a month once its end + grace "
            "has passed\n",
            "",
            ["grace_hours", "required field is missing"],
            id="missing-required-field",
        ),
        pytest.param(
            "currency: JPY",
            "currency: EUR",
            ["markets.JP.currency"],
            id="unsupported-currency",
        ),
        pytest.param(
            'payout: {model: pool, pool: "100000000"}',
            'payout: {model: pool, pool: "100000000"}\n    budget: "1000"',
            ["markets.KR", "budget", "pool"],
            id="budget-on-a-pool-market",
        ),
        pytest.param(
            "max_active_strikes: 0",
            "max_active_strikes: -1",
            ["eligibility.max_active_strikes"],
            id="negative-max_active_strikes",
        ),
        pytest.param(
            "period: month ",
            "period: week  ",
            ["period"],
            id="unsupported-period",
        ),
    ],
)
def test_a_broken_rules_file_is_refused_naming_the_file_the_field_and_why(
    old: str, new: str, fragments: list[str]
) -> None:
    # Given the SPEC's example with one mistake
    text = edited(old, new)
    # When it is parsed
    with pytest.raises(ProgramRulesError) as raised:
        parse_program_rules(text, SOURCE)
    # Then the one-line message starts with the file and names the field and the problem
    message = str(raised.value)
    assert message.startswith(f"{SOURCE}: ")
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


def test_an_unsupported_currency_lists_the_supported_ones() -> None:
    # Given a market paying in EUR
    text = edited("currency: JPY", "currency: EUR")
    # When it is parsed
    with pytest.raises(ProgramRulesError) as raised:
        parse_program_rules(text, SOURCE)
    # Then the message says which currencies are supported
    for currency in ("USD", "JPY", "KRW"):
        assert currency in str(raised.value)


def test_an_invalid_yaml_file_is_refused_with_its_line_and_column() -> None:
    # Given YAML whose second line starts with a tab
    text = b"program_id: spring-bonus\n\tperiod: month\n"
    # When it is parsed
    with pytest.raises(ProgramRulesError) as raised:
        parse_program_rules(text, SOURCE)
    # Then the message names the file, line 2 column 1, and says it is not valid YAML
    message = str(raised.value)
    assert message.startswith(f"{SOURCE}: line 2, column 1: ")
    assert "not valid YAML" in message


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(b"- program_id: spring-bonus\n", id="a-list"),
        pytest.param(b"spring-bonus\n", id="a-string"),
        pytest.param(b"", id="empty"),
        pytest.param(b"# only a comment\n", id="only-a-comment"),
    ],
)
def test_a_file_that_is_not_a_mapping_is_refused(text: bytes) -> None:
    # Given a YAML document that is not a mapping
    # When it is parsed
    with pytest.raises(ProgramRulesError) as raised:
        parse_program_rules(text, SOURCE)
    # Then the message names the file and says it must be a mapping
    assert str(raised.value).startswith(f"{SOURCE}: ")
    assert "mapping" in str(raised.value)


def test_a_number_yaml_cannot_read_as_a_decimal_is_refused() -> None:
    # Given a weight written as YAML's infinity
    text = edited("reel:     {view: 1,", "reel:     {view: .inf,")
    # When it is parsed
    # Then it is refused with the file's name
    with pytest.raises(ProgramRulesError, match=rf"^{SOURCE}: "):
        parse_program_rules(text, SOURCE)


def test_an_unreadable_path_is_refused_naming_the_path(tmp_path: Path) -> None:
    # Given a path where no file exists
    missing = tmp_path / "nowhere.yaml"
    # When it is loaded
    with pytest.raises(ProgramRulesError) as raised:
        load_program_rules(missing)
    # Then the message names the path and says it cannot be read
    assert str(raised.value).startswith(f"{missing}: ")
    assert "cannot be read" in str(raised.value)


def test_a_directory_given_as_a_rules_file_is_refused(tmp_path: Path) -> None:
    # Given a directory where a file is expected
    # When it is loaded as a rules file
    with pytest.raises(ProgramRulesError) as raised:
        load_program_rules(tmp_path)
    # Then the message names it and says it cannot be read
    assert str(raised.value).startswith(f"{tmp_path}: cannot be read")


def test_a_broken_file_on_disk_is_named_by_its_path(tmp_path: Path) -> None:
    # Given a rules file on disk with a negative weight
    path = write(tmp_path, "spring.yaml", edited("reel:     {view: 1,", "reel:     {view: -2,"))
    # When it is loaded
    with pytest.raises(ProgramRulesError) as raised:
        load_program_rules(path)
    # Then the message starts with the file's path and names the field
    assert str(raised.value).startswith(f"{path}: scoring.weights.reel.view: ")


# -- a directory of programs ------------------------------------------------------------


def test_a_directory_loads_every_program_by_its_id(tmp_path: Path) -> None:
    # Given two programs, one .yaml and one .yml, and a file that is not rules
    write(tmp_path, "spring.yaml", SPEC_EXAMPLE)
    write(tmp_path, "autumn.yml", edited("program_id: spring-bonus", "program_id: autumn-bonus"))
    write(tmp_path, "README.md", "not rules")
    # When the directory is loaded
    programs = load_programs(tmp_path)
    # Then both programs are there, by program_id, each from its own file
    assert sorted(programs) == ["autumn-bonus", "spring-bonus"]
    assert programs["spring-bonus"].source == str(tmp_path / "spring.yaml")
    assert programs["autumn-bonus"].source == str(tmp_path / "autumn.yml")


def test_two_files_with_the_same_program_id_are_an_error_naming_both(tmp_path: Path) -> None:
    # Given two files defining spring-bonus
    first = write(tmp_path, "a-spring.yaml", SPEC_EXAMPLE)
    second = write(tmp_path, "b-spring.yaml", edited("grace_hours: 48", "grace_hours: 24"))
    # When the directory is loaded
    with pytest.raises(ProgramRulesError) as raised:
        load_programs(tmp_path)
    # Then the error names the program id and both files
    message = str(raised.value)
    assert "spring-bonus" in message
    assert str(first) in message
    assert str(second) in message


def test_an_empty_directory_is_an_error(tmp_path: Path) -> None:
    # Given a directory without any rules file
    # When it is loaded
    with pytest.raises(ProgramRulesError) as raised:
        load_programs(tmp_path)
    # Then the error names the directory
    assert str(raised.value).startswith(f"{tmp_path}: ")


def test_a_directory_with_only_other_files_is_an_error(tmp_path: Path) -> None:
    # Given a directory holding no *.yaml or *.yml file
    write(tmp_path, "spring.json", "{}")
    # When it is loaded
    # Then it is refused as holding no rules
    with pytest.raises(ProgramRulesError, match="no program rules"):
        load_programs(tmp_path)


def test_one_broken_file_in_a_directory_is_an_error_naming_that_file(tmp_path: Path) -> None:
    # Given a good file and a broken one
    write(tmp_path, "good.yaml", SPEC_EXAMPLE)
    broken = write(tmp_path, "broken.yaml", b"- not a mapping\n")
    # When the directory is loaded
    with pytest.raises(ProgramRulesError) as raised:
        load_programs(tmp_path)
    # Then the error names the broken file
    assert str(raised.value).startswith(f"{broken}: ")
