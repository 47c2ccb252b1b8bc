"""One model's record inside the pool, and the sizes the pool knows for models.

Split from ``pool.py`` so the pool module is about rules and locking only. ``Entry`` is
mutable and lives under the pool's lock; the UI only ever sees its frozen
``PoolEntryView``. ``SizeMemory`` answers "how big is this model, really?" from this run's
loads first, then the sizes remembered on disk. ``notify`` and ``copy_error`` are the small
rules for telling observers and waiting threads what happened.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any

from workbench.core.engines.base import ChatEngine, LoadedModel
from workbench.core.errors import WorkbenchError
from workbench.core.pool.budget import Budget
from workbench.core.pool.fit import (
    EVICTABLE,
    IN_USE,
    LOADING,
    PINNED,
    Slot,
    Wanted,
    estimate_seconds,
    over_budget_note,
)
from workbench.core.pool.sizes import SizesStore
from workbench.core.protocol import PoolEntryView, PoolSnapshot
from workbench.core.types import ModelInfo

log = logging.getLogger("workbench.core.pool.model_pool")


@dataclass(frozen=True)
class ModelSize:
    """Both sizes of a model: from its files, and as last measured (None if never)."""

    estimated_bytes: int
    measured_bytes: int | None

    @property
    def bytes(self) -> int:
        return self.measured_bytes if self.measured_bytes is not None else self.estimated_bytes


@dataclass(eq=False)
class Entry:
    """A loading or loaded model. ``done`` is set when its load ends (``error`` if failed)."""

    info: ModelInfo
    measured_bytes: int | None  # remembered while loading, then this load's measurement
    state: str = "loading"
    pinned: bool = False
    leases: int = 0
    last_used: float = 0.0
    load_seconds: float | None = None
    cache_bytes: int = 0  # the engine's prompt caches, as last reported
    handle: LoadedModel | None = None  # the engine, once loaded
    error: BaseException | None = None
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def bytes(self) -> int:
        return self.measured_bytes if self.measured_bytes is not None else self.info.estimated_bytes

    def slot(self) -> Slot:
        """How the fit check sees this entry."""
        if self.state != "ready":
            status = LOADING
        elif self.leases:
            status = IN_USE
        else:
            status = PINNED if self.pinned else EVICTABLE
        return Slot(self.info.id, self.info.name, self.bytes, status, self.cache_bytes)

    def view(self) -> PoolEntryView:
        """A frozen copy for the UI."""
        info = self.info
        return PoolEntryView(
            model_id=info.id,
            name=info.name,
            kind=info.kind,
            family=info.family,
            state=self.state,
            pinned=self.pinned,
            leases=self.leases,
            estimated_bytes=info.estimated_bytes,
            measured_bytes=self.measured_bytes,
            last_used=self.last_used,
            load_seconds=self.load_seconds,
            cache_bytes=self.cache_bytes,
            cluster=info.cluster,
        )

    def drop_caches(self) -> bool:
        """Ask a chat engine to forget its prompt caches (the model stays loaded; other
        engines keep none)."""
        engine = self.handle
        try:
            if isinstance(engine, ChatEngine):
                engine.drop_prompt_caches()
        except Exception:  # a cache that fails to go must not wedge the pool
            log.exception("dropping the caches of %s failed", self.info.name)
            return False
        return True


@dataclass
class Reclaim:
    """Memory that making room takes back: decided under the pool's lock, done under its
    MLX lock (like every unload, so no load's measurement sees memory come and go).

    ``victims`` are out of the pool already; ``drops`` pairs each engine whose caches go
    with the cache bytes it was counted for (already zero in the pool's books).
    """

    victims: list[Entry] = field(default_factory=list)
    drops: list[tuple[Entry, int]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.victims or self.drops)


class SizeMemory:
    """Measured sizes and load times: this run's first, then the store's (thread-safe).

    A store lookup fingerprints the model's weight files (a stat of each); plans are asked
    for on every highlight in the UI, so each model's answer is looked up once per run.
    """

    def __init__(self, store: SizesStore | None) -> None:
        self._store = store
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[int | None, float | None]] = {}
        self._stored: dict[str, tuple[int | None, float | None]] = {}

    def recall(self, info: ModelInfo) -> tuple[int | None, float | None]:
        """``(measured bytes, load seconds)``, each None when unknown."""
        with self._lock:
            known = self._seen.get(info.id) or self._stored.get(info.id)
        if known is not None:
            return known
        record = self._store.lookup(info) if self._store is not None else None
        found = (record.measured_bytes, record.load_seconds) if record else (None, None)
        with self._lock:
            self._stored[info.id] = found
        return found

    def wanted(self, info: ModelInfo) -> Wanted:
        """The model as a load would count it: remembered size (else the estimate), and
        how long its load should take."""
        measured, seconds = self.recall(info)
        need = measured if measured is not None else info.estimated_bytes
        rate = self.seconds_per_gb()
        return Wanted(info.id, info.name, need, estimate_seconds(need, seconds, rate))

    def note(self, info: ModelInfo, measured: int | None, seconds: float, fresh: bool) -> None:
        """Remember a load; ``fresh`` measurements are also written to the store."""
        with self._lock:
            self._seen[info.id] = (measured, seconds)
        if fresh and measured and self._store is not None:
            self._store.remember(info, measured, seconds)

    def seconds_per_gb(self) -> float | None:
        """Load speed seen in this run, else over every remembered load."""
        with self._lock:
            pairs = [(b, s) for b, s in self._seen.values() if b and s]
        if pairs:
            return sum(s for _, s in pairs) / (sum(b for b, _ in pairs) / 1024**3)
        return self._store.seconds_per_gb() if self._store is not None else None


class Releaser:
    """Unloading, giving memory back and measuring it, with the injected functions (see
    ``pool.py``).

    Failures are logged, never raised: a model that fails to close must not wedge the pool.
    """

    def __init__(
        self,
        unloader: Callable[[Any], None] | None,
        release: Callable[[], None] | None,
        on_evicted: Callable[[str, str], None] | None,
        isolate: Callable[[], AbstractContextManager[None]] | None = None,
    ) -> None:
        self._unloader, self._release, self._on_evicted = unloader, release, on_evicted
        self._isolate = isolate or contextlib.nullcontext

    def unload(self, entry: Entry, reason: str) -> None:
        """Close the engine, drop every reference to it, then let memory go back."""
        handle, entry.handle = entry.handle, None
        try:
            if self._unloader is not None:
                self._unloader(handle)
        except Exception:
            log.exception("closing %s failed", entry.info.name)
        del handle
        self.release()
        if self._on_evicted is not None:
            notify(self._on_evicted, entry.info.id, reason)

    def release(self) -> None:
        try:
            if self._release is not None:
                self._release()
        except Exception:
            log.exception("releasing memory failed")

    def settled(self, measure: Callable[[], int] | None) -> int:
        """Memory in use once freed arrays are given back (0 without a measure)."""
        if measure is None:
            return 0
        self.release()
        return measure()

    def measured(
        self, load: Callable[[], Any], measure: Callable[[], int] | None
    ) -> tuple[Any, int]:
        """``load()``'s result and the memory it added (0 without a measure).

        Inside ``isolate`` nothing earlier can free memory during the load (the runner's
        finishes MLX work in flight and hides older objects from the garbage collector), so
        settling both readings stays cheap: it collects only what is new, and empties MLX's
        buffer cache, whose reused buffers would otherwise be counted at their old size.
        """
        with self._isolate():
            before = self.settled(measure)
            result = load()
            return result, self.settled(measure) - before


def snapshot_of(entries: list[Entry], budget: Budget) -> PoolSnapshot:
    """The frozen picture of these entries (LRU first) against ``budget``."""
    views = tuple(entry.view() for entry in entries)
    return PoolSnapshot(
        entries=views,
        budget_bytes=budget.memory_limit_bytes,
        max_models=budget.max_models,
        used_bytes=sum(v.total_bytes for v in views),
        pinned_bytes=sum(v.bytes for v in views if v.pinned),
        over_budget=over_budget_note([entry.slot() for entry in entries], budget),
        cache_bytes=sum(v.cache_bytes for v in views),
    )


def notify(callback: Callable[..., None], *args: object) -> None:
    """Tell an observer; an observer that fails must not leave the pool half-changed."""
    try:
        callback(*args)
    except Exception:
        log.exception("pool observer failed")


def copy_error(error: BaseException) -> BaseException:
    """The error a shared load failed with, fresh for each waiting thread."""
    if isinstance(error, WorkbenchError):
        copy = type(error)(*error.args)
        copy.__cause__ = error
        return copy
    return error
