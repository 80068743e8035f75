"""The engine's slot bookkeeping, without a model: prefix matching and which slot is taken."""

from __future__ import annotations

import pytest

from llm_gateway.backends.llama.kv_slots import KvSlotPool, common_prefix


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([], [1, 2], 0),
        ([1, 2, 3], [1, 2, 3], 3),
        ([1, 2, 3], [1, 2], 2),
        ([1, 2, 3, 4, 5], [1, 2, 9, 4, 5], 2),
        ([7], [8], 0),
        (list(range(1000)), [*range(777), -1], 777),
    ],
)
def test_common_prefix(a: list[int], b: list[int], expected: int) -> None:
    assert common_prefix(a, b) == expected
    assert common_prefix(b, a) == expected


def test_the_free_slot_with_the_longest_shared_prefix_is_taken() -> None:
    pool = KvSlotPool(3)
    a, b, c = pool.slots
    a.tokens, b.tokens, c.tokens = [1, 2, 3], [1, 2, 3, 4, 5, 6], [9, 9]
    slot, cached = pool.take_best([1, 2, 3, 4, 7])
    assert slot is b and cached == 4
    assert pool.free == 2


def test_the_last_prompt_token_is_never_taken_from_the_cache() -> None:
    """Its logits are needed, so it is evaluated again even when all of it is cached."""
    pool = KvSlotPool(1)
    pool.slots[0].tokens = [1, 2, 3, 4]
    _, cached = pool.take_best([1, 2, 3])
    assert cached == 2


def test_ties_go_to_the_lowest_sequence_id() -> None:
    """Busy ids stay together: llama.cpp evaluates a run of consecutive ids as one graph."""
    pool = KvSlotPool(3)
    a, b, c = (pool.take_spare() for _ in range(3))
    assert [a.seq_id, b.seq_id, c.seq_id] == [0, 1, 2]
    for slot in (c, a, b):
        pool.give_back(slot)
    slot, cached = pool.take_best([4, 5])
    assert slot is a and cached == 0
    assert pool.take_spare() is b
    assert pool.take_spare() is c
    assert pool.free == 0


def test_reset_empties_every_slot() -> None:
    pool = KvSlotPool(2)
    first = pool.take_spare()
    first.tokens = [1, 2]
    pool.reset()
    assert pool.free == 2 and all(s.tokens == [] for s in pool.slots)
