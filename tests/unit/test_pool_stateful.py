"""Random operation sequences against the pool, checked step by step against a reference.

A hypothesis state machine drives thousands of loads, leases, pins, evictions, budget
changes and concurrent loads through a pool of fake models of known sizes, and after every
step checks what users rely on: the budget (memory and count) is never exceeded, pinned and
leased models are never evicted, the LRU order is right, no model is loaded twice, and a
refused load leaves the pool exactly as it was. The reference below is written
independently of ``pool_fit`` so that the two have to agree.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from contextlib import AbstractContextManager, suppress
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from pool_fakes import MB, FakeLoader, FakeMemory, fake_info

from workbench.core.budget import Budget
from workbench.core.errors import InsufficientMemoryError, WorkbenchError
from workbench.core.pool import ModelPool

SIZES = {"a": 100 * MB, "b": 200 * MB, "c": 300 * MB, "d": 50 * MB, "e": 400 * MB, "f": 150 * MB}
MODELS = st.sampled_from(sorted(SIZES))
LIMITS = st.sampled_from([150, 300, 450, 600, 800, 1200])
COUNTS = st.integers(min_value=1, max_value=5)


class Reference:
    """The pool's rules, restated plainly: LRU list, pins, lease counts, budget."""

    def __init__(self, limit: int, most: int) -> None:
        self.order: list[str] = []
        self.pinned: set[str] = set()
        self.leases: Counter[str] = Counter()
        self.limit, self.most = limit, most

    def used(self) -> int:
        return sum(SIZES[m] for m in self.order)

    def evictable(self, model: str) -> bool:
        return model not in self.pinned and self.leases[model] == 0

    def touch(self, model: str) -> None:
        self.order.remove(model)
        self.order.append(model)

    def load(self, model: str) -> list[str] | None:
        """Victims if ``model`` can be loaded (already loaded: []), None if refused."""
        if model in self.order:
            return []
        need = SIZES[model]
        used, count, victims = self.used(), len(self.order), []
        for other in self.order:
            if used + need <= self.limit and count < self.most:
                break
            if self.evictable(other):
                victims.append(other)
                used, count = used - SIZES[other], count - 1
        if used + need > self.limit or count >= self.most:
            return None
        return victims

    def apply_load(self, model: str, victims: list[str]) -> None:
        if model in self.order:
            self.touch(model)
            return
        for victim in victims:
            self.drop(victim)
        self.order.append(model)

    def drop(self, model: str) -> None:
        self.order.remove(model)
        self.pinned.discard(model)

    def shrink(self) -> list[str]:
        """Evict LRU evictable models while over budget (what set_budget/rebalance do)."""
        used, count, victims = self.used(), len(self.order), []
        for other in list(self.order):
            if used <= self.limit and count <= self.most:
                break
            if self.evictable(other):
                victims.append(other)
                used, count = used - SIZES[other], count - 1
        for victim in victims:
            self.drop(victim)
        return victims

    def over(self) -> bool:
        return self.used() > self.limit or len(self.order) > self.most


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

    def _evicted(self, model: str, reason: str) -> None:
        if reason != "unload" and model in self.ref.pinned:
            self.violations.append(f"pinned {model} was evicted")
        if self.ref.leases[model]:
            self.violations.append(f"leased {model} was evicted")

    # ------------------------------------------------------------------ rules

    def _expect_load(self, model: str, call: Any) -> bool:
        victims = self.ref.load(model)
        before, memory, loads = self.pool.snapshot(), self.memory(), sum(self.loader.loads.values())
        if victims is None:
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
        self.ref.apply_load(model, victims)
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

    @precondition(lambda self: self.held)
    @rule(index=st.integers(min_value=0, max_value=10))
    def release(self, index: int) -> None:
        model, manager = self.held.pop(index % len(self.held))
        manager.__exit__(None, None, None)
        self.ref.leases[model] -= 1
        self.ref.touch(model)

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

    @precondition(lambda self: not self.held)
    @rule(models=st.lists(MODELS, min_size=2, max_size=4, unique=True))
    def concurrent_different_models(self, models: list[str]) -> None:
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
        assert within or self.ref.over(), "over budget"
        assert (snapshot.over_budget is None) == within

    @invariant()
    def memory_and_loads_add_up(self) -> None:
        live = [e for e in self.created if not e.closed]
        assert sorted(e.info.id for e in live) == sorted(self.ref.order), "engine leaked"
        assert self.memory() == sum(SIZES[m] for m in self.ref.order)
        assert self.memory() == self.pool.snapshot().used_bytes
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
