"""The model pool with fake models: budget, LRU, pins, leases, dedupe, plans, measured sizes."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pool_fakes import MB, FakeEngine, FakeLoader, FakeMemory, fake_info, unload

from workbench.core.errors import InputError, InsufficientMemoryError, WorkbenchError
from workbench.core.pool.budget import Budget
from workbench.core.pool.model_pool import ModelPool
from workbench.core.pool.sizes import SizesStore
from workbench.core.types import ModelInfo

SIZES = {"a": 100 * MB, "b": 200 * MB, "c": 300 * MB, "d": 50 * MB}


def make_pool(
    limit: int = 500 * MB, max_models: int = 4, sizes: dict[str, int] | None = None, **kwargs
) -> tuple[ModelPool, FakeLoader, FakeMemory, list[tuple[str, str]]]:
    sizes = sizes or SIZES
    memory = FakeMemory()
    loader = kwargs.pop("loader", None) or FakeLoader(sizes, memory)
    evicted: list[tuple[str, str]] = []
    pool = ModelPool(
        [fake_info(k, v) for k, v in sizes.items()],
        Budget(limit, max_models),
        loader=loader,
        unloader=unload,
        measure=memory,
        on_evicted=lambda model_id, reason: evicted.append((model_id, reason)),
        **kwargs,
    )
    return pool, loader, memory, evicted


def ids(pool: ModelPool) -> list[str]:
    return [e.model_id for e in pool.snapshot().entries]


def test_models_that_fit_load_together_in_lru_order() -> None:
    pool, _loader, memory, _ = make_pool()
    pool.ensure_loaded("a")
    pool.ensure_loaded("b")
    snap = pool.snapshot()
    assert ids(pool) == ["a", "b"]
    assert snap.used_bytes == memory() == 300 * MB
    assert all(e.state == "ready" and e.measured_bytes == SIZES[e.model_id] for e in snap.entries)


def test_lru_model_is_evicted_to_make_room_and_memory_returns() -> None:
    pool, loader, memory, evicted = make_pool()
    pool.ensure_loaded("a")
    pool.ensure_loaded("b")
    pool.ensure_loaded("a")  # touch: b is now least recently used
    pool.ensure_loaded("c")  # 100 + 200 + 300 > 500: evict b only
    assert evicted == [("b", "lru")]
    assert ids(pool) == ["a", "c"]
    assert loader.engines["b"].closed
    assert memory() == 400 * MB


def test_max_models_is_enforced_too() -> None:
    pool, _, _, evicted = make_pool(limit=10_000 * MB, max_models=2)
    for model_id in ("a", "b", "c"):
        pool.ensure_loaded(model_id)
    assert ids(pool) == ["b", "c"]
    assert evicted == [("a", "lru")]


def test_pinned_model_blocks_load_with_clear_message_and_no_allocation() -> None:
    sizes = {"big": 400 * MB, "other": 300 * MB}
    pool, loader, memory, evicted = make_pool(sizes=sizes)
    pool.ensure_loaded("big", pin=True)
    before_snapshot, before_memory = pool.snapshot(), memory()
    with pytest.raises(InsufficientMemoryError) as info:
        pool.ensure_loaded("other")
    message = str(info.value)
    assert message.startswith("cannot load OTHER: needs 300.0 MB")
    assert "only 100.0 MB" in message and "500.0 MB budget" in message
    assert "pinned: BIG (400.0 MB)" in message
    assert "\n" not in message
    assert pool.snapshot() == before_snapshot
    assert memory() == before_memory
    assert loader.loads["other"] == 0 and evicted == []


def test_unpinning_lets_the_model_be_evicted() -> None:
    sizes = {"big": 400 * MB, "other": 300 * MB}
    pool, _, _, evicted = make_pool(sizes=sizes)
    pool.ensure_loaded("big", pin=True)
    pool.unpin("big")
    pool.ensure_loaded("other")
    assert evicted == [("big", "lru")]


def test_model_bigger_than_the_whole_budget_is_refused() -> None:
    pool, loader, _, _ = make_pool(limit=250 * MB)
    with pytest.raises(
        InsufficientMemoryError, match=r"cannot load C: needs 300\.0 MB but the whole budget is"
    ):
        pool.ensure_loaded("c")
    assert loader.loads["c"] == 0


def test_full_count_with_pins_is_refused_naming_the_pins() -> None:
    pool, _, _, _ = make_pool(limit=10_000 * MB, max_models=1)
    pool.ensure_loaded("a", pin=True)
    with pytest.raises(InsufficientMemoryError, match=r"maximum of 1 model .*pinned: A"):
        pool.ensure_loaded("b")


def test_leased_model_is_never_evicted_and_load_fails_naming_it() -> None:
    sizes = {"chat": 300 * MB, "other": 300 * MB}
    pool, loader, _, _ = make_pool(sizes=sizes)
    with pool.acquire("chat") as engine:
        with pytest.raises(InsufficientMemoryError, match=r"in use: CHAT \(300.0 MB\)"):
            pool.ensure_loaded("other")
        assert not engine.closed
        with pytest.raises(WorkbenchError, match="in use"):
            pool.evict("chat")
    pool.ensure_loaded("other")  # lease returned: now chat can go
    assert loader.engines["chat"].closed


def test_generation_holding_a_lease_finishes_intact_while_a_load_is_refused() -> None:
    """Design choice: the pool never waits for memory; a load that would need a leased
    model's memory fails at once with the reason, and the generation is untouched."""
    sizes = {"chat": 300 * MB, "other": 300 * MB}
    pool, loader, _, _ = make_pool(sizes=sizes)
    pool.ensure_loaded("chat")
    engine = loader.engines["chat"]
    engine.reply = "one two three four five"
    engine.step.clear()
    produced: list[str] = []

    def generate() -> None:
        with pool.acquire("chat") as held:
            cancel = threading.Event()
            from workbench.core.types import SamplingSettings

            for chunk in held.stream_chat([], SamplingSettings(), cancel):
                produced.append(chunk.text)

    worker = threading.Thread(target=generate)
    worker.start()
    assert engine.started.wait(5)
    with pytest.raises(InsufficientMemoryError, match="in use: CHAT"):
        pool.ensure_loaded("other")
    engine.step.set()
    worker.join(5)
    assert "".join(produced) == "one two three four five"
    assert not engine.closed


def test_concurrent_loads_of_one_model_share_one_load() -> None:
    memory = FakeMemory()
    loader = FakeLoader(SIZES, memory, delay=0.05)
    pool, _, _, _ = make_pool(loader=loader)
    barrier = threading.Barrier(16)
    engines: list[object] = []

    def ask() -> None:
        barrier.wait()
        with pool.acquire("b") as engine:
            engines.append(engine)

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert loader.loads["b"] == 1
    assert len(engines) == 16 and len({id(e) for e in engines}) == 1
    assert memory() == 200 * MB
    assert pool.snapshot().entries[0].leases == 0


def test_a_failed_load_is_shared_by_waiters_and_leaves_no_entry() -> None:
    pool, loader, memory, _ = make_pool()
    loader.fail.add("a")
    loader.gate.clear()
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            pool.ensure_loaded("a")
        except InputError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for thread in threads:
        thread.start()
    while not pool.snapshot().entries:
        pass
    assert pool.snapshot().entries[0].state == "loading"
    loader.gate.set()
    for thread in threads:
        thread.join(5)
    assert len(errors) == 4 and all("A is broken" in str(e) for e in errors)
    assert loader.loads["a"] == 1
    assert pool.snapshot().entries == () and memory() == 0


def test_loading_model_counts_against_the_budget_and_cannot_be_evicted() -> None:
    pool, loader, _, _ = make_pool(limit=400 * MB)
    loader.gate.clear()
    worker = threading.Thread(target=pool.ensure_loaded, args=("c",))
    worker.start()
    while not pool.snapshot().entries:
        pass
    with pytest.raises(InsufficientMemoryError, match=r"loading: C \(300.0 MB\)"):
        pool.ensure_loaded("b")
    loader.gate.set()
    worker.join(5)
    assert ids(pool) == ["c"]


def test_set_budget_evicts_lru_but_never_pinned_and_reports_over_budget() -> None:
    pool, _, _, evicted = make_pool(limit=1000 * MB)
    pool.ensure_loaded("c", pin=True)
    pool.ensure_loaded("a")
    pool.ensure_loaded("b")
    assert pool.set_budget(Budget(350 * MB, 4)) == ("a", "b")
    assert evicted == [("a", "budget"), ("b", "budget")]
    assert pool.snapshot().over_budget is None
    pool.set_budget(Budget(200 * MB, 4))
    snap = pool.snapshot()
    assert ids(pool) == ["c"]
    assert snap.used_bytes > snap.budget_bytes
    assert snap.over_budget is not None and "pinned: C" in snap.over_budget
    pool.unpin("c")
    assert pool.rebalance() == ("c",)
    assert pool.snapshot().over_budget is None


def test_unpin_and_lease_release_never_unload() -> None:
    pool, _, _, evicted = make_pool(limit=1000 * MB)
    pool.ensure_loaded("c", pin=True)
    pool.set_budget(Budget(100 * MB, 4))
    pool.unpin("c")
    assert evicted == [] and ids(pool) == ["c"]


def test_measured_size_larger_than_estimate_evicts_others_but_keeps_the_new_model() -> None:
    memory = FakeMemory()
    loader = FakeLoader({"a": 100 * MB, "b": 400 * MB}, memory)
    pool = ModelPool(
        [fake_info("a", 100 * MB), fake_info("b", 200 * MB)],  # b's estimate is too small
        Budget(450 * MB, 4),
        loader=loader,
        unloader=unload,
        measure=memory,
    )
    pool.ensure_loaded("a")
    pool.ensure_loaded("b")
    assert pool.loaded_ids() == ("b",)
    assert pool.size_of("b").measured_bytes == 400 * MB
    assert pool.size_of("b").estimated_bytes == 200 * MB


class OlderGarbage:
    """Memory held by earlier work's garbage, which any collection frees (Python's own may
    run in the middle of a load) unless the pool measures inside ``isolate``."""

    def __init__(self, memory: FakeMemory, amount: int) -> None:
        self.memory, self.amount, self.isolated = memory, amount, False
        memory.add(amount)

    def collect(self) -> None:
        if not self.isolated:
            self.memory.add(-self.amount)
            self.amount = 0

    @contextlib.contextmanager
    def isolate(self) -> Iterator[None]:
        self.isolated = True
        try:
            yield
        finally:
            self.isolated = False


def test_garbage_freed_during_a_load_is_not_taken_off_its_size() -> None:
    memory = FakeMemory()
    garbage = OlderGarbage(memory, 8 * MB)
    fake = FakeLoader(SIZES, memory)

    def loader(info: ModelInfo) -> FakeEngine:
        garbage.collect()  # the collector runs mid-load
        return fake(info)

    pool = ModelPool([fake_info("a", SIZES["a"])], Budget(500 * MB, 4), loader=loader,
                     unloader=unload, measure=memory, release=garbage.collect,
                     isolate=garbage.isolate)  # fmt: skip
    assert pool.ensure_loaded("a").measured_bytes == SIZES["a"]
    assert memory() == SIZES["a"] + 8 * MB  # still there: nothing could free it meanwhile
    pool.evict("a")
    assert memory() == 0  # an eviction releases everything


def test_plan_simulates_in_order_without_changing_anything() -> None:
    pool, loader, _, _ = make_pool()
    pool.ensure_loaded("a", pin=True)
    pool.ensure_loaded("d")
    before = pool.snapshot()
    a, b, c, c_again = pool.plan(["a", "b", "c", "c"])
    assert pool.snapshot() == before and sum(loader.loads.values()) == 2
    assert a.already_loaded and a.fits
    assert b.fits and b.evict == () and b.need_bytes == 200 * MB
    assert c.fits and c.evict == ("d", "b")  # LRU first; b counts as loaded by then
    assert c.available_bytes == 400 * MB  # everything but the pinned A
    assert c_again.already_loaded


def test_plan_says_why_a_model_cannot_fit() -> None:
    pool, _, _, _ = make_pool(limit=420 * MB)
    pool.ensure_loaded("a", pin=True)
    with pool.acquire("d"):
        (plan,) = pool.plan(["c"])
    assert not plan.fits and plan.evict == ()
    assert plan.need_bytes == 300 * MB and plan.available_bytes == 270 * MB
    assert "pinned: A (100.0 MB)" in (plan.reason or "")
    assert "in use: D (50.0 MB)" in (plan.reason or "")
    (plan,) = pool.plan(["c"])  # the lease is back: D may go
    assert plan.fits and plan.evict == ("d",)


def test_plan_after_a_load_estimates_seconds_from_measured_rate() -> None:
    pool, _, _, _ = make_pool()
    assert pool.plan(["b"])[0].estimated_seconds is None
    pool.ensure_loaded("a")
    eta = pool.plan(["b"])[0].estimated_seconds
    assert eta is not None and eta >= 0


def test_evict_and_pin_errors_are_one_line() -> None:
    pool, _, _, evicted = make_pool()
    with pytest.raises(WorkbenchError, match="A is not loaded"):
        pool.pin("a")
    with pytest.raises(WorkbenchError, match="A is not loaded"):
        pool.evict("a")
    pool.ensure_loaded("a", pin=True)
    pool.evict("a")  # an explicit unload may drop a pinned model
    assert evicted == [("a", "unload")]


def test_measured_sizes_are_remembered_across_pools(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"x" * 10)
    info = fake_info("m", 100 * MB, path=folder)  # estimate 100 MB, truly 300 MB
    store = SizesStore(tmp_path / "sizes.json")
    memory = FakeMemory()
    loader = FakeLoader({"m": 300 * MB}, memory)
    first = ModelPool([info], Budget(1000 * MB, 2), loader=loader, unloader=unload,
                      measure=memory, sizes=store)  # fmt: skip
    first.ensure_loaded("m")
    first.close()
    assert memory() == 0
    second = ModelPool([info], Budget(250 * MB, 2), loader=loader, unloader=unload,
                       sizes=SizesStore(tmp_path / "sizes.json"))  # fmt: skip
    assert second.size_of("m").measured_bytes == 300 * MB
    with pytest.raises(InsufficientMemoryError, match=r"needs 300\.0 MB"):
        second.ensure_loaded("m")
    assert second.plan(["m"])[0].estimated_seconds is not None
    data = json.loads((tmp_path / "sizes.json").read_text())
    assert next(iter(data["models"].values()))["bytes"] == 300 * MB


def test_sizes_store_forgets_a_model_whose_weights_changed(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    weights = folder / "model.safetensors"
    weights.write_bytes(b"x" * 10)
    info = fake_info("m", 1, path=folder)
    store = SizesStore(tmp_path / "sizes.json")
    store.remember(info, 123, 1.5)
    assert SizesStore(tmp_path / "sizes.json").lookup(info).measured_bytes == 123  # type: ignore[union-attr]
    weights.write_bytes(b"x" * 11)
    assert SizesStore(tmp_path / "sizes.json").lookup(info) is None


def test_corrupt_sizes_file_is_set_aside_not_fatal(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"x")
    info = fake_info("m", 1, path=folder)
    path = tmp_path / "sizes.json"
    path.write_text("{not json")
    store = SizesStore(path)
    assert store.lookup(info) is None
    assert [p.name.startswith("sizes.json.corrupt-") for p in tmp_path.iterdir()].count(True) == 1
    store.remember(info, 77, None)
    assert SizesStore(path).lookup(info).measured_bytes == 77  # type: ignore[union-attr]
    assert not list(tmp_path.glob(".sizes-*"))  # no temporary file left behind


def test_plans_look_a_model_up_in_the_sizes_store_once_per_run(tmp_path: Path) -> None:
    store = SizesStore(tmp_path / "sizes.json")
    lookups: list[str] = []
    real_lookup = store.lookup

    def counted(info):
        lookups.append(info.id)
        return real_lookup(info)

    store.lookup = counted  # type: ignore[method-assign]
    memory = FakeMemory()
    catalog = [fake_info(k, v) for k, v in SIZES.items()]
    pool = ModelPool(catalog, Budget(500 * MB, 4), loader=FakeLoader(SIZES, memory), sizes=store)
    for _ in range(5):
        pool.plan(["a", "b"])
    assert sorted(lookups) == ["a", "b"]
