"""The host KV cache's bookkeeping, without a model: longest-prefix lookup, superseded
turns, least-recently-used eviction and the byte limit."""

from __future__ import annotations

import numpy as np

from llm_gateway.backends.llama.host_cache import HostCache


def state(size: int) -> np.ndarray:
    return np.zeros(size, dtype=np.uint8)


def test_the_entry_sharing_the_longest_prefix_is_found_never_the_whole_prompt() -> None:
    cache = HostCache(limit=1000)
    cache.add([1, 2, 3], state(10))
    cache.add([1, 2, 9, 9, 9], state(10))
    cache.add([5, 6, 7, 8], state(10))
    entry, common = cache.best([5, 6, 7, 8, 1])
    assert entry is not None and entry.tokens == [5, 6, 7, 8] and common == 4
    entry, common = cache.best([5, 6, 7, 8])  # the last prompt token is evaluated again
    assert entry is not None and common == 3
    entry, common = cache.best([1, 2, 9, 4])
    assert entry is not None and entry.tokens == [1, 2, 9, 9, 9] and common == 3
    assert cache.best([4, 4]) == (None, 0)


def test_a_later_turn_of_a_conversation_replaces_the_earlier_one() -> None:
    cache = HostCache(limit=1000)
    cache.add([1, 2, 3], state(30))
    cache.add([1, 2, 3, 4, 5], state(50))
    assert len(cache) == 1 and cache.bytes == 50
    assert cache.holds([1, 2, 3]) and cache.holds([1, 2, 3, 4, 5])
    assert not cache.holds([1, 2, 3, 4, 5, 6]) and not cache.holds([2])
    cache.add([1, 2], state(20))  # a prefix of what is held: kept on its own (a branch point)
    assert len(cache) == 2


def test_the_least_recently_used_entries_go_first_and_the_limit_holds() -> None:
    cache = HostCache(limit=100)
    for first in range(3):
        cache.add([first, 0, 0], state(30))
    entry, _ = cache.best([0, 0, 0, 1])  # conversation 0 came back: restored
    assert entry is not None
    cache.used(entry)  # now the most recently used
    cache.best([1, 0, 0, 1])  # looked at, not restored: its age stands
    cache.add([7, 7], state(30))  # 120 > 100: the oldest unused one (1) goes
    assert cache.bytes == 90 and cache.stats.evicted == 1
    assert not cache.holds([1, 0, 0]) and cache.holds([0, 0, 0]) and cache.holds([2, 0, 0])
    for n in range(50):
        cache.add([100 + n], state(1 + n % 40))
        assert cache.bytes <= cache.limit
    assert cache.bytes == sum(e.state.nbytes for e in cache._entries.values())


def test_a_state_larger_than_the_whole_cache_is_not_kept() -> None:
    cache = HostCache(limit=100)
    cache.add([1], state(60))
    assert not cache.add([2], state(101))
    assert cache.holds([1]) and not cache.holds([2]) and cache.stats.refused == 1
