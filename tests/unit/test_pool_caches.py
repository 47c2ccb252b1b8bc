"""Prompt caches count against the pool's budget, and go before any model does.

Fake engines hold cache bytes in the same fake memory counter as their weights, so
``memory()`` is what a real ``mx.get_active_memory()`` would say and every check below
compares the pool's bookkeeping with it.
"""

from __future__ import annotations

import threading

import pytest
from pool_fakes import MB, FakeLoader, FakeMemory, fake_info, unload

from workbench.core.errors import InsufficientMemoryError
from workbench.core.pool.budget import Budget
from workbench.core.pool.fit import cache_growth
from workbench.core.pool.model_pool import ModelPool
from workbench.core.types import SamplingSettings

SIZES = {"a": 100 * MB, "b": 200 * MB, "c": 300 * MB, "d": 50 * MB}


def make_pool(limit: int, max_models: int = 4):  # type: ignore[no-untyped-def]
    memory = FakeMemory()
    loader = FakeLoader(SIZES, memory)
    evicted: list[tuple[str, str]] = []
    pool = ModelPool(
        [fake_info(k, v) for k, v in SIZES.items()],
        Budget(limit, max_models),
        loader=loader,
        unloader=unload,
        measure=memory,
        on_evicted=lambda model_id, reason: evicted.append((model_id, reason)),
    )
    return pool, loader, memory, evicted


def chat_turn(pool: ModelPool, model_id: str, grows_by: int) -> None:
    """What the runner does for one chat: lease, the cache grows, report it, rebalance."""
    with pool.acquire(model_id) as engine:
        engine.grow_cache(grows_by)
        pool.set_cache_bytes(model_id, engine.prompt_cache_bytes())
    pool.rebalance(protect=model_id)


def caches(pool: ModelPool) -> dict[str, int]:
    return {e.model_id: e.cache_bytes for e in pool.snapshot().entries}


def test_used_bytes_counts_weights_and_caches_and_matches_memory() -> None:
    pool, _, memory, _ = make_pool(limit=1000 * MB)
    pool.ensure_loaded("a")
    pool.ensure_loaded("b")
    chat_turn(pool, "a", 30 * MB)
    chat_turn(pool, "b", 70 * MB)
    snap = pool.snapshot()
    assert caches(pool) == {"a": 30 * MB, "b": 70 * MB}
    assert snap.cache_bytes == 100 * MB
    assert snap.used_bytes == 400 * MB == memory()
    by_id = {e.model_id: e for e in snap.entries}
    assert by_id["b"].bytes == 200 * MB and by_id["b"].total_bytes == 270 * MB


def test_a_load_that_fits_only_without_a_cache_drops_it_and_evicts_nothing() -> None:
    pool, loader, memory, evicted = make_pool(limit=400 * MB)
    pool.ensure_loaded("a")
    pool.ensure_loaded("b")
    chat_turn(pool, "a", 20 * MB)  # LRU, and its cache alone is not enough room
    chat_turn(pool, "b", 80 * MB)
    assert memory() == 400 * MB
    pool.ensure_loaded("d")  # 100 + 200 + 50 = 350 fits once 50 MB of caches go
    assert evicted == []
    assert [e.model_id for e in pool.snapshot().entries] == ["a", "b", "d"]
    assert caches(pool) == {"a": 0, "b": 0, "d": 0}
    assert loader.engines["a"].cache_drops == loader.engines["b"].cache_drops == 1
    assert pool.snapshot().used_bytes == memory() == 350 * MB


def test_only_the_caches_needed_go_least_recently_used_first() -> None:
    pool, loader, memory, evicted = make_pool(limit=420 * MB)
    pool.ensure_loaded("a")
    pool.ensure_loaded("b")
    chat_turn(pool, "a", 60 * MB)
    chat_turn(pool, "b", 60 * MB)  # 420 MB: exactly the budget
    pool.ensure_loaded("d")  # needs 50 MB: a's cache (least recently used) is enough
    assert evicted == [] and caches(pool) == {"a": 0, "b": 60 * MB, "d": 0}
    assert loader.engines["b"].cache_drops == 0
    assert memory() == 410 * MB


def test_when_a_model_must_go_anyway_no_cache_is_dropped_needlessly() -> None:
    pool, loader, memory, evicted = make_pool(limit=500 * MB)
    pool.ensure_loaded("a")
    pool.ensure_loaded("b")
    chat_turn(pool, "a", 90 * MB)
    chat_turn(pool, "b", 0)
    (plan,) = pool.plan(["c"])  # 300 MB: even with a's cache gone, a must go
    assert (plan.evict, plan.drop_caches) == (("a",), ())
    pool.ensure_loaded("c")
    assert evicted == [("a", "lru")] and loader.engines["b"].cache_drops == 0
    assert memory() == 500 * MB


def test_a_leased_models_cache_is_never_dropped() -> None:
    pool, _loader, memory, evicted = make_pool(limit=400 * MB)
    pool.ensure_loaded("a")
    with pool.acquire("b") as engine:  # generating: its cache grows under the lease
        engine.grow_cache(80 * MB)
        pool.set_cache_bytes("b", engine.prompt_cache_bytes())
        (plan,) = pool.plan(["d"])
        assert (plan.evict, plan.drop_caches) == (("a",), ())
        pool.ensure_loaded("d")  # a goes; b's cache stays
        assert evicted == [("a", "lru")] and engine.cache_drops == 0
        with pytest.raises(InsufficientMemoryError) as info:
            pool.ensure_loaded("c")
        assert "in use: B (280.0 MB)" in str(info.value)
        assert engine.cache_drops == 0 and caches(pool)["b"] == 80 * MB
    assert memory() == 330 * MB == pool.snapshot().used_bytes


def test_a_generating_fake_refuses_a_drop_so_the_check_above_can_fail() -> None:
    pool, loader, _, _ = make_pool(limit=400 * MB)
    pool.ensure_loaded("b")
    engine = loader.engines["b"]
    stream = engine.stream_chat([], SamplingSettings(), threading.Event())
    next(stream)
    with pytest.raises(AssertionError, match="mid-generation"):
        engine.drop_prompt_caches()
    stream.close()


def test_plan_reports_drops_and_changes_nothing() -> None:
    pool, loader, memory, _ = make_pool(limit=400 * MB)
    pool.ensure_loaded("a")
    pool.ensure_loaded("b")
    chat_turn(pool, "b", 80 * MB)
    before = pool.snapshot()
    plan_d, plan_a = pool.plan(["d", "a"])
    assert (plan_d.fits, plan_d.evict, plan_d.drop_caches) == (True, (), ("b",))
    assert plan_a.already_loaded and plan_a.drop_caches == ()
    assert pool.snapshot() == before and loader.engines["b"].cache_drops == 0
    assert memory() == 380 * MB
    # the simulation goes on without the dropped cache: c then needs evictions only
    _, plan_c = pool.plan(["d", "c"])
    assert plan_c.fits and plan_c.drop_caches == () and plan_c.evict == ("a", "b")


def three_models_near_the_budget():  # type: ignore[no-untyped-def]
    """a, d, b loaded (350 MB of weights) with 240 MB of caches: 590 of 600 MB."""
    pool, loader, memory, evicted = make_pool(limit=600 * MB)
    for model_id in ("a", "d", "b"):
        pool.ensure_loaded(model_id)
    chat_turn(pool, "d", 40 * MB)
    chat_turn(pool, "b", 100 * MB)
    chat_turn(pool, "b", 100 * MB)
    assert evicted == [] and memory() == 590 * MB
    return pool, loader, memory, evicted


def test_a_grown_cache_drops_other_caches_before_evicting_any_model() -> None:
    pool, loader, memory, evicted = three_models_near_the_budget()
    chat_turn(pool, "b", 20 * MB)  # 610 MB: d's cache is enough
    assert evicted == [] and loader.engines["d"].cache_drops == 1
    assert caches(pool) == {"a": 0, "d": 0, "b": 220 * MB}
    assert memory() == pool.snapshot().used_bytes == 570 * MB


def test_when_caches_are_not_enough_lru_models_go_too() -> None:
    pool, loader, memory, evicted = three_models_near_the_budget()
    chat_turn(pool, "b", 130 * MB)  # 720 MB: a (LRU) and d's cache go; b keeps its own
    assert evicted == [("a", "budget")] and loader.engines["d"].cache_drops == 1
    assert caches(pool) == {"d": 0, "b": 330 * MB}
    assert memory() == pool.snapshot().used_bytes == 580 * MB
    assert pool.snapshot().over_budget is None


def test_the_chatted_models_own_cache_goes_last_and_pins_are_explained() -> None:
    pool, loader, memory, evicted = make_pool(limit=400 * MB)
    pool.ensure_loaded("c", pin=True)
    pool.ensure_loaded("a")
    chat_turn(pool, "c", 50 * MB)  # others go before the conversation's own cache
    assert evicted == [("a", "budget")] and caches(pool) == {"c": 50 * MB}
    chat_turn(pool, "c", 100 * MB)  # nothing else left: now its own cache goes
    assert loader.engines["c"].cache_drops == 1 and caches(pool) == {"c": 0}
    assert memory() == 300 * MB and pool.snapshot().over_budget is None
    pool.set_budget(Budget(250 * MB, 4))
    note = pool.snapshot().over_budget
    assert note is not None and "pinned: C (300.0 MB)" in note


def test_reporting_a_cache_is_bookkeeping_only() -> None:
    pool, loader, memory, evicted = make_pool(limit=300 * MB)
    pool.ensure_loaded("a")
    pool.ensure_loaded("b")
    loader.engines["b"].grow_cache(100 * MB)
    pool.set_cache_bytes("b", 100 * MB)  # over budget now, but nothing is unloaded here
    snap = pool.snapshot()
    assert evicted == [] and loader.engines["b"].cache_drops == 0
    assert snap.used_bytes == 400 * MB and snap.over_budget is not None
    pool.set_cache_bytes("c", 5 * MB)  # not loaded: ignored
    assert "c" not in caches(pool)
    assert pool.rebalance() == ()  # b's cache is enough
    assert loader.engines["b"].cache_drops == 1 and memory() == 300 * MB


def test_an_evicted_model_takes_its_cache_with_it() -> None:
    pool, _, memory, _ = make_pool(limit=1000 * MB)
    pool.ensure_loaded("a")
    chat_turn(pool, "a", 70 * MB)
    pool.evict("a")
    assert memory() == 0 and pool.snapshot().used_bytes == 0


def test_a_cache_leased_after_the_decision_to_drop_it_is_kept_and_still_counted() -> None:
    pool, loader, memory, evicted = make_pool(limit=700 * MB)
    pool.ensure_loaded("b")
    chat_turn(pool, "b", 160 * MB)  # 360 MB
    loader.gate.clear()
    first = threading.Thread(target=pool.ensure_loaded, args=("c",))  # holds the MLX lock
    first.start()
    while "c" not in caches(pool):
        pass
    second = threading.Thread(target=pool.ensure_loaded, args=("d",))  # needs b's cache
    second.start()
    while "d" not in caches(pool):
        pass
    assert caches(pool)["b"] == 0  # decided: off the books, waiting for the MLX lock
    with pool.acquire("b", load=False) as engine:  # a generation starts first
        loader.gate.set()
        first.join(5)
        second.join(5)
        assert engine.cache_drops == 0 and caches(pool)["b"] == 160 * MB  # kept, counted
        # 710 MB with c and d loaded: the budget is kept by evicting c, not b's cache
        assert evicted == [("c", "budget")]
        assert memory() == pool.snapshot().used_bytes == 410 * MB
        assert pool.snapshot().over_budget is None


# ---------------------------------------------------------------- room before a turn


def test_cache_growth_counts_prompt_and_reply_in_256_token_blocks_minus_what_is_held() -> None:
    per_token = 46080  # SmolLM2-135M
    assert cache_growth(10, 100, per_token, 0) == 256 * per_token
    assert cache_growth(200, 57, per_token, 0) == 512 * per_token  # 257 tokens
    assert cache_growth(300, 100, per_token, 256 * per_token) == 256 * per_token
    assert cache_growth(10, 10, per_token, 512 * per_token) == 0  # already holds enough


def test_room_for_a_turn_is_made_by_dropping_another_models_idle_cache() -> None:
    pool, _, memory, evicted = make_pool(limit=500 * MB)
    pool.ensure_loaded("b")
    chat_turn(pool, "b", 100 * MB)
    pool.ensure_loaded("a")  # 400 of 500 MB: a's turn may need 150 MB more
    with pool.acquire("a"):
        pool.make_cache_room("a", 150 * MB)
        assert caches(pool) == {"b": 0, "a": 0}
        assert memory() == 300 * MB
    assert evicted == []
    assert pool.loaded_ids() == ("b", "a")


def test_room_for_a_turn_evicts_lru_models_when_dropping_caches_is_not_enough() -> None:
    pool, _, memory, evicted = make_pool(limit=700 * MB)
    for model_id in ("a", "b", "c"):
        pool.ensure_loaded(model_id)
    chat_turn(pool, "b", 50 * MB)  # 650 of 700 MB
    with pool.acquire("c"):
        pool.make_cache_room("c", 160 * MB)
    assert evicted == [("a", "budget")]  # 100 MB alone was not enough: b's cache went too
    assert caches(pool) == {"b": 0, "c": 0}
    assert memory() == 500 * MB


def test_a_turn_that_cannot_fit_is_refused_clearly_and_nothing_changes() -> None:
    pool, loader, memory, evicted = make_pool(limit=600 * MB)
    pool.ensure_loaded("c", pin=True)
    chat_turn(pool, "c", 50 * MB)
    pool.ensure_loaded("b")  # 550 of 600 MB; c is pinned, its cache could go (50 MB)
    before = pool.snapshot()
    with pool.acquire("b"), pytest.raises(InsufficientMemoryError) as info:
        pool.make_cache_room("b", 150 * MB)
    assert str(info.value) == (
        "this reply could need 150.0 MB of prompt cache but only 100.0 MB of the budget "
        "can be freed (pinned: C (300.0 MB); in use: B (200.0 MB)); "
        "lower max tokens or free memory"
    )
    assert evicted == [] and loader.engines["c"].cache_drops == 0
    assert caches(pool) == {"c": 50 * MB, "b": 0}
    assert pool.snapshot().used_bytes == before.used_bytes == memory() == 550 * MB


def test_a_turn_with_room_to_spare_changes_nothing() -> None:
    pool, loader, memory, evicted = make_pool(limit=1000 * MB)
    pool.ensure_loaded("a")
    chat_turn(pool, "a", 40 * MB)
    pool.ensure_loaded("b")
    with pool.acquire("b"):
        pool.make_cache_room("b", 300 * MB)
    assert evicted == [] and loader.engines["a"].cache_drops == 0
    assert caches(pool) == {"a": 40 * MB, "b": 0} and memory() == 340 * MB
