"""The model pool: which models are in memory, and the rules that keep memory honest.

MLX does not raise on out-of-memory — on CPU it segfaults, on Metal it aborts — so the pool
decides from numbers *before* anything is allocated: a model loads only if it fits the
budget after evicting least-recently-used models that are neither pinned, in use (leased)
nor loading. If it cannot fit, ``InsufficientMemoryError`` names what it needs, what is
available and what holds the rest, and the pool is left exactly as it was.

The pool is bookkeeping only. Loading, unloading and measuring are injected functions (the
runner passes the real MLX ones, tests pass fakes), so this module never imports MLX and
never calls UI code; observers get plain callbacks, always outside the lock.

Evicting = the injected ``unloader(engine)`` (closes it), every reference dropped, then the
injected ``release()`` (the runner's: ``gc.collect()`` and ``mx.clear_cache()``). A load's
size is the ``measure()`` delta around it, taken inside the injected ``isolate()`` context
(the runner's finishes MLX work in flight and hides older objects from the garbage
collector meanwhile: see ``mlx_hooks.isolate``).

Caches: engines keep prompt caches that grow with each conversation. Whoever runs the model
reports their size (``set_cache_bytes``, while still holding the lease) and the budget
counts weights plus caches. Making room drops caches of models not in use (the engine's
``drop_prompt_caches()``) before it evicts any model; see ``pool_fit``. Before a turn,
``make_cache_room`` makes room for what the cache may grow to, so it never outgrows the
budget mid-generation.

Threads: every method is thread-safe. Concurrent ``ensure_loaded`` calls for the same model
share one load. Loads and unloads themselves are serialised (one at a time), which keeps
the memory measured around a load free of other threads' allocations.

Over budget: pin/unpin and lease release are pure bookkeeping and never unload anything
(the caller may be any thread). Loads, ``evict``, ``set_budget`` and ``rebalance`` may
unload; whoever owns MLX calls ``rebalance()`` after bookkeeping changes.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from workbench.core.errors import InsufficientMemoryError, ModelNotFoundError, WorkbenchError
from workbench.core.pool.budget import Budget
from workbench.core.pool.caches import PoolCaches
from workbench.core.pool.entry import (
    Entry,
    ModelSize,
    Reclaim,
    Releaser,
    SizeMemory,
    copy_error,
    notify,
    snapshot_of,
)
from workbench.core.pool.fit import (
    Slot,
    check_fit,
    measured_refusal,
    over_budget,
    simulate,
)
from workbench.core.pool.sizes import SizesStore
from workbench.core.protocol import LoadPlan, PoolEntryView, PoolSnapshot
from workbench.core.types import ModelInfo

log = logging.getLogger(__name__)

Loader = Callable[[ModelInfo], Any]
Unloader = Callable[[Any], None]
Measure = Callable[[], int]


class ModelPool(PoolCaches):
    """Budgeted, LRU-ordered model pool with pins, leases and de-duplicated loads."""

    def __init__(
        self,
        catalog: Iterable[ModelInfo],
        budget: Budget,
        *,
        loader: Loader,
        unloader: Unloader | None = None,
        release: Callable[[], None] | None = None,
        measure: Measure | None = None,
        isolate: Callable[[], contextlib.AbstractContextManager[None]] | None = None,
        sizes: SizesStore | None = None,
        on_evicted: Callable[[str, str], None] | None = None,
        on_changed: Callable[[], None] | None = None,
        on_loaded: Callable[[PoolEntryView], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._catalog = {info.id: info for info in catalog}
        self._budget = budget
        self._loader, self._measure = loader, measure
        self._memory = Releaser(unloader, release, on_evicted, isolate)
        self._sizes = SizeMemory(sizes)
        self._on_changed, self._on_loaded = on_changed, on_loaded
        self._clock = clock
        self._lock = threading.RLock()
        self._mlx_lock = threading.RLock()  # one load/unload at a time
        self._entries: OrderedDict[str, Entry] = OrderedDict()  # LRU first

    # ------------------------------------------------------------------ catalog & sizes

    @property
    def budget(self) -> Budget:
        return self._budget

    def register(self, infos: Iterable[ModelInfo]) -> None:
        """Add (or refresh) models the pool may load."""
        with self._lock:
            for info in infos:
                self._catalog[info.id] = info

    def info(self, model_id: str) -> ModelInfo:
        with self._lock:
            info = self._catalog.get(model_id)
        if info is None:
            raise ModelNotFoundError(f"no model with id {model_id!r} is known to the pool")
        return info

    def size_of(self, model_id: str) -> ModelSize:
        """The model's estimated size and its last measured size (this run or remembered)."""
        info = self.info(model_id)
        measured, _seconds = self._sizes.recall(info)
        return ModelSize(info.estimated_bytes, measured)

    # ------------------------------------------------------------------ loading

    def ensure_loaded(self, model_id: str, *, pin: bool = False) -> PoolEntryView:
        """Load the model unless it is loaded (or loading: then wait for that load).

        Raises ``InsufficientMemoryError`` — with the pool unchanged — when it cannot fit.
        """
        entry = self._ensure(model_id, pin=pin, lease=False)
        with self._lock:
            return entry.view()

    @contextlib.contextmanager
    def acquire(self, model_id: str, *, load: bool = True) -> Iterator[Any]:
        """Lease the model (loading it first unless ``load=False``); yields the engine.

        A leased model is never evicted; the lease is returned when the block exits.
        """
        if load:
            entry = self._ensure(model_id, pin=False, lease=True)
        else:
            entry = self._lease_loaded(model_id)
        try:
            yield entry.handle
        finally:
            with self._lock:
                entry.leases -= 1
                if self._entries.get(model_id) is entry:
                    self._touch(entry)
            self._changed()

    def _lease_loaded(self, model_id: str) -> Entry:
        with self._lock:
            entry = self._entries.get(model_id)
            if entry is None or entry.state != "ready":
                raise WorkbenchError(f"{self.info(model_id).name} is not loaded")
            entry.leases += 1
            self._touch(entry)
        self._changed()
        return entry

    def _ensure(self, model_id: str, *, pin: bool, lease: bool) -> Entry:
        info = self.info(model_id)
        remembered, _ = self._sizes.recall(info)
        while True:
            reclaim = Reclaim()
            with self._lock:
                entry = self._entries.get(model_id)
                if entry is None:
                    reclaim = self._reserve(info, remembered, pin=pin, lease=lease)
                    entry, role = self._entries[model_id], "load"
                elif entry.state == "ready":
                    entry.leases += int(lease)
                    self._touch(entry)
                    role = "ready"
                else:
                    role = "wait"  # another thread is loading it: share that load
                entry.pinned = entry.pinned or pin
            if role == "wait":
                entry.done.wait()
                if entry.error is not None:
                    raise copy_error(entry.error)
                continue  # ready now (or evicted meanwhile: then load it again)
            self._changed()
            return self._load(entry, reclaim) if role == "load" else entry

    def _reserve(
        self, info: ModelInfo, remembered: int | None, *, pin: bool, lease: bool
    ) -> Reclaim:
        """Under the lock: check the fit, take out what must go, add a loading entry."""
        need = remembered if remembered is not None else info.estimated_bytes
        fit = check_fit(self._slots(), need, self._budget)
        if not fit.fits:
            raise InsufficientMemoryError(f"cannot load {info.name}: {fit.reason}")
        reclaim = self._take(fit.drop, fit.evict)
        entry = Entry(info, remembered, pinned=pin, leases=int(lease))
        self._entries[info.id] = entry
        self._touch(entry)
        return reclaim

    def _load(self, entry: Entry, reclaim: Reclaim) -> Entry:
        info = entry.info
        try:
            handle, seconds, delta = self._run_loader(info, reclaim)
        except BaseException as exc:
            self._fail(entry, exc)
            raise
        reported = getattr(handle, "measured_bytes", None)  # weights held by other processes
        delta = reported if isinstance(reported, int) else delta
        measured = delta if delta > 0 else entry.measured_bytes
        self._sizes.note(info, measured, seconds, fresh=delta > 0)  # refused or not
        with self._lock:
            refusal = measured_refusal(self._others(entry), info.name, measured, self._budget)
        if refusal is not None:  # larger than its estimate, and too large for the budget
            entry.handle = handle
            self._fail(entry, InsufficientMemoryError(refusal))
            with self._mlx_lock:
                self._memory.unload(entry, "budget")
            raise InsufficientMemoryError(refusal)
        with self._lock:
            entry.handle, entry.state, entry.load_seconds = handle, "ready", seconds
            entry.measured_bytes = measured
            self._touch(entry)
            entry.done.set()
            view = entry.view()
        if self._on_loaded is not None:
            notify(self._on_loaded, view)
        self._changed()
        self.rebalance(protect=info.id)  # the measurement may be larger than the estimate
        return entry

    def _run_loader(self, info: ModelInfo, reclaim: Reclaim) -> tuple[Any, float, int]:
        """Make room, then load; returns the engine, seconds and measured bytes.

        Making room releases memory for real (outside the measurement); the load is then
        measured by ``Releaser.measured``, inside ``isolate``, so that nothing earlier (a
        finished reply's last step, garbage in reference cycles) frees memory *during* the
        load and makes the model look smaller than it is.
        """
        with self._mlx_lock:
            self._reclaim(reclaim, "lru")
            started = time.perf_counter()
            handle, delta = self._memory.measured(lambda: self._loader(info), self._measure)
            seconds = time.perf_counter() - started
        return handle, seconds, delta

    def _fail(self, entry: Entry, exc: BaseException) -> None:
        with self._lock:
            if self._entries.get(entry.info.id) is entry:
                del self._entries[entry.info.id]
            entry.error = exc
            entry.done.set()
        self._changed()

    # ------------------------------------------------------------------ pins & eviction

    def set_pinned(self, model_id: str, pinned: bool) -> None:
        """Pin or unpin a loaded (or loading) model. Never unloads anything."""
        with self._lock:
            entry = self._entries.get(model_id)
            if entry is None:
                name = self.info(model_id).name
                raise WorkbenchError(f"{name} is not loaded; load it with a pin to preload it")
            entry.pinned = pinned
        self._changed()

    def pin(self, model_id: str) -> None:
        self.set_pinned(model_id, True)

    def unpin(self, model_id: str) -> None:
        self.set_pinned(model_id, False)

    def evict(self, model_id: str, reason: str = "unload") -> None:
        """Unload a model now (even a pinned one); refused while it is loading or in use."""
        with self._lock:
            entry = self._entries.get(model_id)
            name = self.info(model_id).name
            if entry is None:
                raise WorkbenchError(f"{name} is not loaded")
            if entry.state != "ready":
                raise WorkbenchError(f"{name} is still loading; unload it when it is ready")
            if entry.leases:
                raise WorkbenchError(f"{name} is in use; wait for it to finish or cancel it")
            del self._entries[model_id]
        with self._mlx_lock:
            self._memory.unload(entry, reason)
        self._changed()

    def set_budget(self, budget: Budget) -> tuple[str, ...]:
        """Change the budget and evict (LRU first, never pinned or in use) to honour it."""
        with self._lock:
            self._budget = budget
        evicted = self.rebalance()
        if not evicted:
            self._changed()
        return evicted

    def rebalance(self, protect: str | None = None) -> tuple[str, ...]:
        """Back under budget: drop caches of models not in use, then evict evictable models
        (LRU first); returns the evicted ids.

        ``protect`` names a model to keep regardless (just loaded, or just chatted with):
        it is not evicted, and its own cache is dropped only if nothing else is left to go.
        """
        with self._lock:
            slots = [replace(s, protected=s.model_id == protect) for s in self._slots()]
            room = over_budget(slots, self._budget)
            reclaim = self._take(room.drop, room.evict)
        if not reclaim:
            return ()
        with self._mlx_lock:
            self._reclaim(reclaim, "budget")
        self._changed()
        return room.evict

    def _take(self, drop: Sequence[str], evict: Sequence[str]) -> Reclaim:
        """Under the lock: evicted models out, dropped caches off the books."""
        reclaim = Reclaim([self._entries.pop(model_id) for model_id in evict])
        for model_id in drop:
            entry = self._entries[model_id]
            reclaim.drops.append((entry, entry.cache_bytes))
            entry.cache_bytes = 0
        return reclaim

    def _reclaim(self, reclaim: Reclaim, reason: str) -> None:
        """Under the MLX lock: drop the caches (never while leased), unload the victims."""
        for entry, counted in reclaim.drops:
            with self._lock:  # no lease can start while the engine forgets its caches
                idle = not entry.leases and self._entries.get(entry.info.id) is entry
                if not (idle and entry.drop_caches()):
                    entry.cache_bytes = max(entry.cache_bytes, counted)  # still held
                    continue
            log.info("dropped the prompt caches of %s to stay within budget", entry.info.name)
        for victim in reclaim.victims:
            self._memory.unload(victim, reason)
        if reclaim.drops and not reclaim.victims:
            self._memory.release()

    def close(self) -> None:
        """Unload everything that is not loading, pins and leases notwithstanding."""
        with self._lock:
            ready = [e for e in self._entries.values() if e.state == "ready"]
            for entry in ready:
                del self._entries[entry.info.id]
        with self._mlx_lock:
            for entry in ready:
                self._memory.unload(entry, "unload")
        if ready:
            self._changed()

    # ------------------------------------------------------------------ views

    def plan(self, model_ids: Sequence[str]) -> tuple[LoadPlan, ...]:
        """What loading these models, in this order, would do — nothing is changed."""
        wanted = [self._sizes.wanted(self.info(model_id)) for model_id in model_ids]
        with self._lock:
            slots, budget = self._slots(), self._budget
        return simulate(slots, wanted, budget)

    def estimated_seconds(self, model_id: str) -> float | None:
        """How long loading this model should take, from past loads (None if no data)."""
        return self._sizes.wanted(self.info(model_id)).estimated_seconds

    def snapshot(self) -> PoolSnapshot:
        """An immutable picture of the pool, least recently used first."""
        with self._lock:
            return snapshot_of(list(self._entries.values()), self._budget)

    def loaded_ids(self) -> tuple[str, ...]:
        """Ids of ready models, least recently used first."""
        with self._lock:
            return tuple(k for k, e in self._entries.items() if e.state == "ready")

    def _slots(self) -> list[Slot]:
        return [entry.slot() for entry in self._entries.values()]

    def _others(self, entry: Entry) -> list[Slot]:
        return [e.slot() for e in self._entries.values() if e is not entry]

    def _touch(self, entry: Entry) -> None:
        entry.last_used = self._clock()
        self._entries.move_to_end(entry.info.id)

    def _changed(self) -> None:
        if self._on_changed is not None:
            notify(self._on_changed)


__all__ = ["ModelPool", "ModelSize"]
