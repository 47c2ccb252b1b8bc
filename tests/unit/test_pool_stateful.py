"""Random operation sequences against the pool, checked step by step against a reference.

A hypothesis state machine drives thousands of loads, leases, pins, evictions, budget
changes, growing prompt caches and concurrent loads through a pool of fake models of known
sizes, and after every step checks what users rely on: the budget (memory, caches included,
and count) is honoured unless pinned or leased memory forces it over (or a bookkeeping
change awaits the rebalance the runner always follows it with), pinned and leased models
are never evicted, a leased model's cache is never dropped, the LRU order is right, no
model is loaded twice, and a refused load leaves the pool exactly as it was. The reference
below is written independently of ``pool_fit`` so that the two have to agree.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from contextlib import AbstractContextManager, suppress
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from pool_fakes import MB, FakeLoader, FakeMemory, fake_info

from workbench.core.errors import InsufficientMemoryError, WorkbenchError
from workbench.core.pool.budget import Budget
from workbench.core.pool.model_pool import ModelPool

SIZES = {"a": 100 * MB, "b": 200 * MB, "c": 300 * MB, "d": 50 * MB, "e": 400 * MB, "f": 150 * MB}
MODELS = st.sampled_from(sorted(SIZES))
LIMITS = st.sampled_from([150, 300, 450, 600, 800, 1200])
COUNTS = st.integers(min_value=1, max_value=5)
GROWTH = st.sampled_from([10 * MB, 60 * MB, 150 * MB, 500 * MB])


class Reference:
    """The pool's rules, restated plainly: LRU list, pins, lease counts, caches, budget.

    Making room: evict the fewest least-recently-used evictable models needed if every
    cache that may go were gone (a leased model's never may; a protected one's only last),
    then drop caches, least recently used first, until it fits.
    """

    def __init__(self, limit: int, most: int) -> None:
        self.order: list[str] = []
        self.pinned: set[str] = set()
        self.leases: Counter[str] = Counter()
        self.cache: Counter[str] = Counter()
        self.limit, self.most = limit, most
        self.pending = False  # a bookkeeping change the runner follows with a rebalance

    def used(self) -> int:
        return sum(SIZES[m] + self.cache[m] for m in self.order)

    def evictable(self, model: str) -> bool:
        return model not in self.pinned and self.leases[model] == 0

    def touch(self, model: str) -> None:
        self.order.remove(model)
        self.order.append(model)

    def room(self, need: int, extra: int, protect: str | None = None) -> tuple[list, list, bool]:
        """(caches to drop, models to evict, whether that is enough)."""

        def may_drop(m: str) -> bool:
            return self.leases[m] == 0 and self.cache[m] > 0

        fixed = sum(self.cache[m] for m in self.order if not may_drop(m) or m == protect)
        floor = sum(SIZES[m] for m in self.order) + fixed
        count, victims = len(self.order), []
        for other in self.order:
            if floor + need <= self.limit and count + extra <= self.most:
                break
            if self.evictable(other) and other != protect:
                victims.append(other)
                floor, count = floor - SIZES[other], count - 1
        used = self.used() - sum(SIZES[v] + self.cache[v] for v in victims)
        drops = []
        rest = [m for m in self.order if m not in victims and m != protect]
        for other in rest + ([protect] if protect in self.order else []):
            if used + need <= self.limit:
                break
            if may_drop(other):
                drops.append(other)
                used -= self.cache[other]
        return drops, victims, used + need <= self.limit and count + extra <= self.most

    def load(self, model: str) -> tuple[list, list] | None:
        """(drops, victims) if ``model`` can be loaded (already loaded: nothing), None if
        refused."""
        if model in self.order:
            return [], []
        drops, victims, ok = self.room(SIZES[model], 1)
        return (drops, victims) if ok else None

    def apply_load(self, model: str, drops: list[str], victims: list[str]) -> None:
        if model in self.order:
            self.touch(model)
            return
        for dropped in drops:
            self.cache[dropped] = 0
        for victim in victims:
            self.drop(victim)
        self.order.append(model)
        self.pending = False  # a load makes the whole pool fit

    def drop(self, model: str) -> None:
        self.order.remove(model)
        self.pinned.discard(model)
        self.cache[model] = 0

    def shrink(self, protect: str | None = None) -> list[str]:
        """What rebalance does: drop caches, evict LRU evictable models, while over budget."""
        drops, victims, _ok = self.room(0, 0, protect)
        for dropped in drops:
            self.cache[dropped] = 0
        for victim in victims:
            self.drop(victim)
        self.pending = protect is not None and self.over()
        return victims

    def over(self) -> bool:
        return self.used() > self.limit or len(self.order) > self.most

    def forced_over(self) -> bool:
        """Pinned and leased models alone (a leased one's cache too) exceed the budget."""
        held = [m for m in self.order if m in self.pinned or self.leases[m]]
        memory = sum(SIZES[m] + (self.cache[m] if self.leases[m] else 0) for m in held)
        return memory > self.limit or len(held) > self.most


class PoolMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.memory = FakeMemory()
        self.loader = FakeLoader(SIZES, self.memory, delay=0.0005)
        self.created: list[Any] = []
        self.violations: list[str] = []
        self.ref = Reference(600 * MB, 3)
        ticks = itertools.count()
        self.pool = ModelPool(
            [fake_info(m, s) for m, s in SIZES.items()],
            Budget(self.ref.limit, self.ref.most),
            loader=self._load,
            unloader=lambda engine: engine.close(),
            measure=self.memory,
            on_evicted=self._evicted,
            clock=lambda: float(next(ticks)),
        )
        self.held: list[tuple[str, AbstractContextManager[Any]]] = []
        self.expected_loads: Counter[str] = Counter()

    def _load(self, info: Any) -> Any:
        engine = self.loader(info)
        self.created.append(engine)
        return engine

    @property
    def engines(self) -> dict[str, Any]:
        return {e.info.id: e for e in self.created if not e.closed}

    def _evicted(self, model: str, reason: str) -> None:
        if reason != "unload" and model in self.ref.pinned:
            self.violations.append(f"pinned {model} was evicted")
        if self.ref.leases[model]:
            self.violations.append(f"leased {model} was evicted")

    # ------------------------------------------------------------------ rules

    def _expect_load(self, model: str, call: Any) -> bool:
        expected = self.ref.load(model)
        before, memory, loads = self.pool.snapshot(), self.memory(), sum(self.loader.loads.values())
        if expected is None:
            try:
                call()
            except InsufficientMemoryError as exc:
                assert "\n" not in str(exc)
            else:
                raise AssertionError(f"loading {model} should have been refused")
            assert self.pool.snapshot() == before, "a refused load changed the pool"
            assert self.memory() == memory and sum(self.loader.loads.values()) == loads
            return False
        if model not in self.ref.order:
            self.expected_loads[model] += 1
        call()
        self.ref.apply_load(model, *expected)
        return True

    @rule(model=MODELS, pin=st.booleans())
    def load(self, model: str, pin: bool) -> None:
        if self._expect_load(model, lambda: self.pool.ensure_loaded(model, pin=pin)) and pin:
            self.ref.pinned.add(model)

    @rule(model=MODELS)
    def acquire(self, model: str) -> None:
        manager = self.pool.acquire(model)
        holder: list[Any] = []

        def enter() -> None:
            holder.append(manager.__enter__())

        if self._expect_load(model, enter):
            self.ref.leases[model] += 1
            self.ref.touch(model)
            assert not holder[0].closed and holder[0].info.id == model
            self.held.append((model, manager))

    # Rules check their own preconditions (an early return) instead of using @precondition:
    # after concurrent loads the state depends on thread timing, and hypothesis requires
    # that which rules are enabled never changes between a run and its replay.

    @rule(index=st.integers(min_value=0, max_value=10))
    def release(self, index: int) -> None:
        if not self.held:
            return
        model, manager = self.held.pop(index % len(self.held))
        manager.__exit__(None, None, None)
        self.ref.leases[model] -= 1
        self.ref.touch(model)
        self.ref.pending = self.ref.pending or self.ref.over()  # never unloads by itself

    @rule(index=st.integers(min_value=0, max_value=10), amount=GROWTH)
    def cache_grows_mid_turn(self, index: int, amount: int) -> None:
        """A generation grows its model's cache and reports it, still under the lease."""
        if not self.held:
            return
        model, _manager = self.held[index % len(self.held)]
        engine = self.engines[model]
        engine.grow_cache(amount)
        self.pool.set_cache_bytes(model, engine.prompt_cache_bytes())
        self.ref.cache[model] += amount
        self.ref.pending = self.ref.pending or self.ref.over()  # the turn's end rebalances

    @rule(model=MODELS, amount=GROWTH)
    def chat_turn(self, model: str, amount: int) -> None:
        """What the runner does for a chat with a loaded model: lease, grow, report,
        return the lease, rebalance keeping that model."""
        if model not in self.ref.order:
            return
        with self.pool.acquire(model, load=False) as engine:
            engine.grow_cache(amount)
            self.pool.set_cache_bytes(model, engine.prompt_cache_bytes())
        self.ref.cache[model] += amount
        self.ref.touch(model)
        expected = self.ref.shrink(protect=model)
        assert list(self.pool.rebalance(protect=model)) == expected

    @rule(model=MODELS, pinned=st.booleans())
    def set_pinned(self, model: str, pinned: bool) -> None:
        if model not in self.ref.order:
            try:
                self.pool.set_pinned(model, pinned)
            except WorkbenchError:
                return
            raise AssertionError("pinning an unloaded model should fail")
        self.pool.set_pinned(model, pinned)
        (self.ref.pinned.add if pinned else self.ref.pinned.discard)(model)
        self.ref.pending = self.ref.pending or self.ref.over()  # unpinning never unloads

    @rule(model=MODELS)
    def evict(self, model: str) -> None:
        allowed = model in self.ref.order and self.ref.leases[model] == 0
        try:
            self.pool.evict(model)
        except WorkbenchError:
            assert not allowed
            return
        assert allowed
        self.ref.drop(model)

    @rule(limit=LIMITS, most=COUNTS)
    def set_budget(self, limit: int, most: int) -> None:
        self.ref.limit, self.ref.most = limit * MB, most
        expected = self.ref.shrink()
        assert list(self.pool.set_budget(Budget(limit * MB, most))) == expected

    @rule()
    def rebalance(self) -> None:
        expected = self.ref.shrink()
        assert list(self.pool.rebalance()) == expected

    @rule(model=MODELS, threads=st.integers(min_value=2, max_value=6))
    def concurrent_same_model(self, model: str, threads: int) -> None:
        barrier = threading.Barrier(threads)
        outcomes: list[str] = []

        def ask() -> None:
            barrier.wait()
            try:
                view = self.pool.ensure_loaded(model)
                outcomes.append("ok" if view.state == "ready" else "returned before ready")
            except InsufficientMemoryError:
                outcomes.append("refused")

        def call() -> None:
            workers = [threading.Thread(target=ask) for _ in range(threads)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            if outcomes.count("refused"):
                raise InsufficientMemoryError("refused")

        self._expect_load(model, call)
        assert len(set(outcomes)) == 1, f"threads disagreed: {outcomes}"

    @rule(models=st.lists(MODELS, min_size=2, max_size=4, unique=True))
    def concurrent_different_models(self, models: list[str]) -> None:
        if self.held:
            return
        barrier = threading.Barrier(len(models))
        loads_before = Counter(self.loader.loads)

        def ask(model: str) -> None:
            barrier.wait()
            with suppress(InsufficientMemoryError):
                self.pool.ensure_loaded(model)

        workers = [threading.Thread(target=ask, args=(m,)) for m in models]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        for model in models:
            self.expected_loads[model] += self.loader.loads[model] - loads_before[model]
            assert self.loader.loads[model] - loads_before[model] <= 1
        # the order of racing threads is not ours to predict: take the pool's word for it
        snapshot = self.pool.snapshot()
        self.ref.order = [e.model_id for e in snapshot.entries]
        self.ref.pinned = {e.model_id for e in snapshot.entries if e.pinned}
        self.ref.cache = Counter({e.model_id: e.cache_bytes for e in snapshot.entries})
        self.ref.pending = self.ref.pending and self.ref.over()

    # ------------------------------------------------------------------ invariants

    @invariant()
    def nothing_pinned_or_leased_was_evicted(self) -> None:
        assert self.violations == []

    @invariant()
    def matches_reference(self) -> None:
        snapshot = self.pool.snapshot()
        assert [e.model_id for e in snapshot.entries] == self.ref.order, "LRU order differs"
        assert {e.model_id for e in snapshot.entries if e.pinned} == self.ref.pinned
        for entry in snapshot.entries:
            assert entry.state == "ready"
            assert entry.leases == self.ref.leases[entry.model_id]

    @invariant()
    def budget_is_honoured(self) -> None:
        snapshot = self.pool.snapshot()
        within = snapshot.used_bytes <= snapshot.budget_bytes and len(snapshot.entries) <= (
            snapshot.max_models
        )
        assert within or self.ref.forced_over() or self.ref.pending, "over budget"
        assert (snapshot.over_budget is None) == within

    @invariant()
    def memory_and_loads_add_up(self) -> None:
        live = [e for e in self.created if not e.closed]
        assert sorted(e.info.id for e in live) == sorted(self.ref.order), "engine leaked"
        snapshot = self.pool.snapshot()
        caches = {e.model_id: e.cache_bytes for e in snapshot.entries}
        assert caches == {m: self.ref.cache[m] for m in self.ref.order}, "caches differ"
        assert all(e.cache == caches[e.info.id] for e in live), "cache not what was reported"
        assert self.memory() == self.ref.used() == snapshot.used_bytes
        assert snapshot.cache_bytes == sum(caches.values())
        assert self.loader.loads == self.expected_loads, "a model was loaded twice"

    def teardown(self) -> None:
        for model, manager in self.held:
            manager.__exit__(None, None, None)
            self.ref.leases[model] -= 1
        self.pool.close()
        assert self.memory() == 0


PoolMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_pool_state_machine = PoolMachine.TestCase
