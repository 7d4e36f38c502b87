"""Shards: a bucket split into ranges of slots without moving any stored item. Every sort
key of a creator's items falls in exactly one shard's range, whatever the split."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bonus_engine.bonus_run import plan_splits
from bonus_engine.periods import Period
from bonus_engine.storage import keys
from bonus_engine.storage.keys import CREATOR_BUCKETS, SLOTS, Shard

MARCH = Period.parse("2026-03")
creator_ids = st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True)
splits = st.sampled_from([1, 2, 4, 64, 1024, SLOTS])


def sort_keys(creator_id: str) -> list[tuple[str, str]]:
    """(partition, sort key) of each kind of item a shard reads of the creator."""
    return [
        tuple(key.values())  # type: ignore[misc]
        for key in (
            keys.engagement_index_key(MARCH, creator_id, "zz-evt.last"),
            keys.engagement_index_key(MARCH, creator_id, "0"),
            keys.fact_key(creator_id, "2026-03-01T00:00:00.000000Z", "f" * 64),
            keys.decision_key(creator_id, "zz-program"),
            keys.statement_key("p", MARCH, creator_id, 999999, "zz-run"),
        )
    ]


def within(shard: Shard, sort_key: str) -> bool:
    first, last = shard.sort_key_range()
    return first <= sort_key <= last


@given(creator_ids, splits)
def test_every_item_of_a_creator_is_in_its_shard_and_in_no_other(creator: str, n: int) -> None:
    home = Shard.of_creator(creator, n)
    bucket = keys.creator_bucket(creator)
    assert home.bucket == bucket
    first, last = bucket * n, bucket * n + n - 1  # the bucket's shards
    candidates = {first, last, home.index - 1, home.index + 1}
    neighbours = [Shard(i, n) for i in candidates if first <= i <= last and i != home.index]
    for partition, sort_key in sort_keys(creator):
        assert partition.endswith(f"#{bucket:02d}")
        assert within(home, sort_key)
        assert not any(within(other, sort_key) for other in neighbours)


@given(creator_ids, st.sampled_from([1, 2, 8, 512]))
def test_a_finer_split_refines_a_coarser_one(creator: str, n: int) -> None:
    coarse, fine = Shard.of_creator(creator, n), Shard.of_creator(creator, n * 2)
    assert fine.index // 2 == coarse.index
    assert set(fine.slots) <= set(coarse.slots)


def test_the_shards_of_a_split_cover_every_slot_of_every_bucket_once() -> None:
    for n in (1, 4, 256):
        shards = [Shard(index, n) for index in range(CREATOR_BUCKETS * n)]
        covered = [(shard.bucket, slot) for shard in shards for slot in shard.slots]
        assert len(covered) == len(set(covered)) == CREATOR_BUCKETS * SLOTS


@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=1, max_value=10**6))
def test_a_run_splits_just_enough_to_keep_its_shards_under_the_size(
    expected: int, per_task: int
) -> None:
    n = plan_splits(expected, per_task)
    assert n & (n - 1) == 0
    assert 1 <= n <= SLOTS
    assert expected <= CREATOR_BUCKETS * n * per_task or n == SLOTS
    assert n == 1 or expected > CREATOR_BUCKETS * (n // 2) * per_task


def test_ten_million_creators_at_forty_thousand_a_shard_make_256_shards() -> None:
    assert CREATOR_BUCKETS * plan_splits(10_000_000, 40_000) == 256


def test_a_split_that_is_not_a_power_of_two_is_refused() -> None:
    for bad in (0, 3, SLOTS * 2):
        with pytest.raises(ValueError, match="power of two"):
            Shard(0, bad)
