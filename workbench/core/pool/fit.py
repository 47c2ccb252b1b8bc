"""The pool's fit check as pure functions: will a model fit, and what must go to make room?

Kept apart from ``pool.py`` so that the real load path and ``plan()`` (the "what would
happen" preview) run literally the same arithmetic, and so it can be tested without
threads. Everything is integers and names; nothing here loads, frees or locks anything.

A model holds two kinds of memory: its weights, and the prompt caches its engine keeps for
recent conversations (which grow with every turn). Both count against the budget. Caches
are cheaper to give up than a model (the next turn recomputes its prompt; a model must be
read from disk again), so making room drops caches before it evicts: evictions are kept to
the fewest the budget needs with every droppable cache gone, then caches are dropped, least
recently used first, only as many as needed. A cache is droppable unless its model is in use
or loading — a generation's cache is never taken away mid-turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from workbench.core.pool.budget import Budget
from workbench.core.protocol import LoadPlan
from workbench.core.units import format_bytes

EVICTABLE = "evictable"
PINNED = "pinned"
IN_USE = "in use"
LOADING = "loading"
KV_STEP = 256  # mlx-lm grows a key/value cache in blocks of this many tokens


@dataclass(frozen=True)
class Slot:
    """One model the pool holds, as the fit check sees it."""

    model_id: str
    name: str
    bytes: int  # weights
    status: str  # EVICTABLE | PINNED | IN_USE | LOADING
    cache_bytes: int = 0  # prompt caches the engine keeps
    protected: bool = False  # just used: never evicted here, its cache dropped last

    @property
    def total(self) -> int:
        """What the budget counts for this model: weights and caches."""
        return self.bytes + self.cache_bytes

    @property
    def droppable(self) -> int:
        """Cache bytes that may be dropped now (never a model's in use or loading)."""
        return self.cache_bytes if self.status in (EVICTABLE, PINNED) else 0

    @property
    def fixed(self) -> int:
        """Bytes no eviction or cache drop can free."""
        return self.total if self.status in (IN_USE, LOADING) else self.bytes


@dataclass(frozen=True)
class Fit:
    """The answer: drop the caches of ``drop`` and ``evict`` these (LRU first) and it fits,
    or it cannot fit (``reason``)."""

    fits: bool
    evict: tuple[str, ...]
    need_bytes: int
    available_bytes: int
    reason: str | None = None
    drop: tuple[str, ...] = ()


@dataclass(frozen=True)
class Room:
    """How to get ``need`` more bytes under a budget: which caches to drop, which models
    to evict, and whether that is enough (``memory_ok`` and ``count_ok``)."""

    drop: tuple[str, ...]
    evict: tuple[str, ...]
    memory_ok: bool
    count_ok: bool

    @property
    def ok(self) -> bool:
        return self.memory_ok and self.count_ok


def make_room(
    slots: Sequence[Slot], need: int, budget: Budget, *, adds_model: bool | None = None
) -> Room:
    """The fewest evictions (LRU first), then the fewest cache drops, to fit ``need`` more.

    ``need`` 0 with the model count unchanged asks "get back under budget" (rebalancing);
    a load asks for its size and one more model (``adds_model`` overrides: a growing
    cache needs bytes but no extra model). A ``protected`` model is not evicted
    and its cache goes last of all.
    """
    limit, most = budget.memory_limit_bytes, budget.max_models
    extra = int(bool(need) if adds_model is None else adds_model)
    floor = sum(s.total - (0 if s.protected else s.droppable) for s in slots)
    count, evict = len(slots), []
    for slot in slots:  # evictions, as if every droppable cache were gone
        if floor + need <= limit and count + extra <= most:
            break
        if slot.status == EVICTABLE and not slot.protected:
            evict.append(slot.model_id)
            floor, count = floor - slot.bytes, count - 1
    kept = [s for s in slots if s.model_id not in evict]
    used, drop = sum(s.total for s in kept), []
    order = [s for s in kept if not s.protected] + [s for s in kept if s.protected]
    for slot in order:  # then caches, least recently used first
        if used + need <= limit:
            break
        if slot.droppable:
            drop.append(slot.model_id)
            used -= slot.droppable
    return Room(tuple(drop), tuple(evict), used + need <= limit, count + extra <= most)


def _kept(slots: Sequence[Slot]) -> str:
    """ "pinned: A (90 MB); in use: B (120 MB)" — the models that cannot be evicted."""
    groups = []
    for status in (PINNED, IN_USE, LOADING):
        names = [f"{s.name} ({format_bytes(s.fixed)})" for s in slots if s.status == status]
        if names:
            groups.append(f"{status}: {', '.join(names)}")
    return "; ".join(groups) if groups else "nothing is pinned or in use"


def check_fit(slots: Sequence[Slot], need: int, budget: Budget) -> Fit:
    """Which caches to drop and models (``slots`` in LRU order) to evict so ``need`` fits.

    Evicts the least recently used evictable models, only as many as needed, until both
    the memory limit and the model count are honoured, and drops caches before evicting.
    Pinned, in-use and loading models are never chosen; in-use and loading models keep
    their caches.
    """
    limit, most = budget.memory_limit_bytes, budget.max_models
    kept = [s for s in slots if s.status != EVICTABLE]
    available = limit - sum(s.fixed for s in kept)
    if need > limit:
        reason = f"needs {format_bytes(need)} but the whole budget is {format_bytes(limit)}"
        return Fit(False, (), need, available, reason)
    room = make_room(slots, need, budget)
    if room.ok:
        return Fit(True, room.evict, need, available, drop=room.drop)
    if not room.memory_ok:
        reason = (
            f"needs {format_bytes(need)} but only {format_bytes(max(available, 0))} of "
            f"the {format_bytes(limit)} budget can be freed ({_kept(kept)})"
        )
    else:
        reason = (
            f"the pool already holds its maximum of {most} model{'s' if most != 1 else ''} "
            f"and none can be evicted ({_kept(kept)})"
        )
    return Fit(False, (), need, available, reason)


def measured_refusal(
    others: Sequence[Slot], name: str, measured: int | None, budget: Budget
) -> str | None:
    """After a load: why a model that measured ``measured`` bytes cannot stay (None if it
    can, evicting what ``rebalance`` may). The estimate let it in; the measurement rules."""
    if measured is None:
        return None
    fit = check_fit(others, measured, budget)
    if fit.fits:
        return None
    return f"{name} measured {format_bytes(measured)} once loaded: {fit.reason}; unloaded it"


def cache_growth(prompt_tokens: int, max_tokens: int, bytes_per_token: int, held_bytes: int) -> int:
    """Bytes a turn's prompt cache may still add: room for the prompt and every reply
    token, in the ``KV_STEP``-token blocks mlx-lm allocates, minus what the conversation's
    cache already holds."""
    tokens = -(-(prompt_tokens + max(max_tokens, 0)) // KV_STEP) * KV_STEP
    return max(tokens * bytes_per_token - held_bytes, 0)


def check_growth(slots: Sequence[Slot], model_id: str, growth: int, budget: Budget) -> Fit:
    """Which caches to drop and models to evict so ``model_id``'s cache can grow by
    ``growth`` bytes (the model itself is kept; no model is added)."""
    slots = [replace(s, protected=s.model_id == model_id) for s in slots]
    kept = [s for s in slots if s.status != EVICTABLE or s.protected]
    available = budget.memory_limit_bytes - sum(s.fixed for s in kept)
    room = make_room(slots, growth, budget, adds_model=False)
    if room.memory_ok:
        return Fit(True, room.evict, growth, available, drop=room.drop)
    reason = (
        f"this reply could need {format_bytes(growth)} of prompt cache but only "
        f"{format_bytes(max(available, 0))} of the budget can be freed ({_kept(kept)}); "
        "lower max tokens or free memory"
    )
    return Fit(False, (), growth, available, reason)


def over_budget(slots: Sequence[Slot], budget: Budget) -> Room:
    """Caches to drop and models to evict (LRU first, evictable only) to get back under
    ``budget``; ``ok`` is False when pinned or in-use memory keeps the pool over it."""
    return make_room(slots, 0, budget)


def over_budget_note(slots: Sequence[Slot], budget: Budget) -> str | None:
    """One line when the pool holds more than ``budget`` allows, else None."""
    used, count = sum(s.total for s in slots), len(slots)
    limit, most = budget.memory_limit_bytes, budget.max_models
    if used <= limit and count <= most:
        return None
    kept = [s for s in slots if s.status != EVICTABLE]
    return (
        f"over budget: the pool holds {count} model{'s' if count != 1 else ''} "
        f"({format_bytes(used)}) against a budget of {format_bytes(limit)} and {most} "
        f"model{'s' if most != 1 else ''}; {_kept(kept)}"
    )


@dataclass(frozen=True)
class Wanted:
    """A model a plan would load: its size as the pool counts it, and a load-time guess."""

    model_id: str
    name: str
    need_bytes: int
    estimated_seconds: float | None


def simulate(
    slots: Sequence[Slot], wanted: Sequence[Wanted], budget: Budget
) -> tuple[LoadPlan, ...]:
    """Plans for loading ``wanted`` in order into a pool holding ``slots`` (LRU first).

    Each simulated load is then held like a real one: the most recently used, evictable,
    with the caches it dropped gone.
    """
    slots, plans = list(slots), []
    for want in wanted:
        held = next((s for s in slots if s.model_id == want.model_id), None)
        if held is not None:
            slots = [s for s in slots if s is not held] + [held]
            kept = sum(s.fixed for s in slots if s.status != EVICTABLE)
            plans.append(
                LoadPlan(
                    want.model_id, True, True, (), held.total, budget.memory_limit_bytes - kept
                )
            )
            continue
        fit = check_fit(slots, want.need_bytes, budget)
        free_now = budget.memory_limit_bytes - sum(s.total for s in slots)
        freed = _freed_by(slots, fit)
        plans.append(
            LoadPlan(want.model_id, False, fit.fits, fit.evict, want.need_bytes,
                     fit.available_bytes, fit.reason, want.estimated_seconds, fit.drop,
                     free_now, free_now + freed)
        )  # fmt: skip
        if fit.fits:
            slots = [
                replace(s, cache_bytes=0) if s.model_id in fit.drop else s
                for s in slots
                if s.model_id not in fit.evict
            ]
            slots.append(Slot(want.model_id, want.name, want.need_bytes, EVICTABLE))
    return tuple(plans)


def _freed_by(slots: Sequence[Slot], fit: Fit) -> int:
    """Bytes a fit frees: evicted models whole, dropped caches of models that stay."""
    evicted = sum(s.total for s in slots if s.model_id in fit.evict)
    dropped = sum(
        s.droppable for s in slots if s.model_id in fit.drop and s.model_id not in fit.evict
    )
    return evicted + dropped


def estimate_seconds(
    need: int, remembered: float | None, seconds_per_gb: float | None
) -> float | None:
    """Load time: this model's last load if known, else the rate seen so far × size."""
    if remembered is not None:
        return remembered
    if seconds_per_gb is not None:
        return seconds_per_gb * need / 1024**3
    return None
