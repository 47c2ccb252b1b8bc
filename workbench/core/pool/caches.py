"""The pool's bookkeeping of prompt caches, split from ``pool.py`` to keep that module about
loading and eviction.

Engines keep prompt caches that grow with each conversation. Whoever runs the model reports
their size (``set_cache_bytes``, while holding the lease), and before a turn
``make_cache_room`` makes room for what the cache may grow to, dropping other models' idle
caches before it evicts anything. A mixin of ``ModelPool``: it uses the pool's lock, entries
and reclaim machinery.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING

from workbench.core.errors import InsufficientMemoryError
from workbench.core.pool.budget import Budget
from workbench.core.pool.fit import Slot, check_growth

if TYPE_CHECKING:
    from workbench.core.pool.entry import Entry, Reclaim


class PoolCaches(ABC):
    """Prompt-cache bookkeeping for ``ModelPool`` (see the module docstring)."""

    _lock: threading.RLock
    _mlx_lock: threading.RLock
    _entries: OrderedDict[str, Entry]
    _budget: Budget

    # the pool's own machinery, which ModelPool provides
    @abstractmethod
    def _slots(self) -> list[Slot]: ...
    @abstractmethod
    def _take(self, drop: Sequence[str], evict: Sequence[str]) -> Reclaim: ...
    @abstractmethod
    def _reclaim(self, reclaim: Reclaim, reason: str) -> None: ...
    @abstractmethod
    def _changed(self) -> None: ...

    def set_cache_bytes(self, model_id: str, cache_bytes: int) -> None:
        """Record how much memory the model's prompt caches hold now (bookkeeping only).

        Call it while holding the model's lease, after the work that grew the cache; a
        model that is no longer loaded is ignored. Never drops or unloads anything:
        ``rebalance`` does, on the thread that owns MLX.
        """
        with self._lock:
            entry = self._entries.get(model_id)
            if entry is None or entry.state != "ready" or entry.cache_bytes == cache_bytes:
                return
            entry.cache_bytes = max(int(cache_bytes), 0)
        self._changed()

    def make_cache_room(self, model_id: str, growth: int) -> None:
        """Before a turn that may grow ``model_id``'s cache by ``growth`` bytes (call it
        holding the lease): drop other models' idle caches, then evict, as a load would.

        Raises ``InsufficientMemoryError`` — nothing dropped or evicted — if it cannot fit.
        """
        with self._lock:
            fit = check_growth(self._slots(), model_id, growth, self._budget)
            if not fit.fits:
                raise InsufficientMemoryError(fit.reason)
            reclaim = self._take(fit.drop, fit.evict)
        if reclaim:
            with self._mlx_lock:
                self._reclaim(reclaim, "budget")
            self._changed()
