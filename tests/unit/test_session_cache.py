"""Prompt-cache bookkeeping per conversation, with a fake cache that records trims."""

from __future__ import annotations

from workbench.core.engines.session_cache import SessionCaches, common_prefix_length


class FakeCache:
    def __init__(self, trimmable: bool = True) -> None:
        self.trimmable = trimmable
        self.trimmed = 0


def trim(cache: FakeCache, n: int) -> int:
    cache.trimmed += n
    return n


def caches(max_sessions: int = 4) -> SessionCaches:
    return SessionCaches(lambda c: c.trimmable, trim, max_sessions)


def test_common_prefix_length():
    assert common_prefix_length([1, 2, 3], [1, 2, 4, 5]) == 2
    assert common_prefix_length([], [1]) == 0
    assert common_prefix_length([1, 2], [1, 2]) == 2


def test_unknown_session_has_nothing_to_reuse():
    assert caches().take("s", [1, 2, 3]) == (None, 0)


def test_new_turn_extending_the_cached_tokens_reuses_all_of_them():
    store, cache = caches(), FakeCache()
    store.put("s", cache, [1, 2, 3, 4])
    assert store.take("s", [1, 2, 3, 4, 5, 6]) == (cache, 4)
    assert cache.trimmed == 0


def test_partly_matching_cache_is_trimmed_back_to_the_common_prefix():
    store, cache = caches(), FakeCache()
    store.put("s", cache, [1, 2, 3, 9, 9])  # the reply re-tokenized differently after 3
    assert store.take("s", [1, 2, 3, 4, 5]) == (cache, 3)
    assert cache.trimmed == 2


def test_one_prompt_token_is_always_left_to_process():
    store, cache = caches(), FakeCache()
    store.put("s", cache, [1, 2, 3])
    assert store.take("s", [1, 2, 3]) == (cache, 2)
    assert cache.trimmed == 1


def test_untrimmable_cache_that_would_need_trimming_is_dropped():
    store = caches()
    store.put("s", FakeCache(trimmable=False), [1, 2, 3, 9])
    assert store.take("s", [1, 2, 3, 4]) == (None, 0)


def test_nothing_in_common_means_no_reuse():
    store = caches()
    store.put("s", FakeCache(), [7, 8])
    assert store.take("s", [1, 2, 3]) == (None, 0)


def test_take_removes_the_entry_until_it_is_put_back():
    store = caches()
    store.put("s", FakeCache(), [1, 2])
    store.take("s", [1, 2, 3])
    assert store.take("s", [1, 2, 3]) == (None, 0)


def test_only_the_most_recent_sessions_are_kept():
    store = caches(max_sessions=2)
    for name in ("a", "b", "c"):
        store.put(name, FakeCache(), [1, 2])
    assert len(store) == 2
    assert store.take("a", [1, 2, 3]) == (None, 0)
    assert store.take("c", [1, 2, 3])[1] == 2


def test_caches_lists_what_is_kept():
    store, cache = caches(), FakeCache()
    store.put("s", cache, [1])
    assert store.caches() == [cache]
    store.clear()
    assert store.caches() == []


def test_putting_a_session_again_makes_it_most_recent():
    store = caches(max_sessions=2)
    store.put("a", FakeCache(), [1])
    store.put("b", FakeCache(), [1])
    store.put("a", FakeCache(), [1, 2])
    store.put("c", FakeCache(), [1])
    assert store.take("b", [1, 2]) == (None, 0)
    assert store.take("a", [1, 2, 3])[1] == 2
