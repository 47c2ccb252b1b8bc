"""The pool's fit check as pure functions: will a model fit, and what must go to make room?

Kept apart from ``pool.py`` so that the real load path and ``plan()`` (the "what would
happen" preview) run literally the same arithmetic, and so it can be tested without
threads. Everything is integers and names; nothing here loads, frees or locks anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from workbench.core.budget import Budget, format_bytes
from workbench.core.protocol import LoadPlan

EVICTABLE = "evictable"
PINNED = "pinned"
IN_USE = "in use"
LOADING = "loading"


@dataclass(frozen=True)
class Slot:
    """One model the pool holds, as the fit check sees it."""

    model_id: str
    name: str
    bytes: int
    status: str  # EVICTABLE | PINNED | IN_USE | LOADING


@dataclass(frozen=True)
class Fit:
    """The answer: ``evict`` these (LRU first) and it fits, or it cannot fit (``reason``)."""

    fits: bool
    evict: tuple[str, ...]
    need_bytes: int
    available_bytes: int
    reason: str | None = None


def _kept(slots: Sequence[Slot]) -> str:
    """ "pinned: A (90 MB); in use: B (120 MB)" — the models that cannot be evicted."""
    groups = []
    for status in (PINNED, IN_USE, LOADING):
        names = [f"{s.name} ({format_bytes(s.bytes)})" for s in slots if s.status == status]
        if names:
            groups.append(f"{status}: {', '.join(names)}")
    return "; ".join(groups) if groups else "nothing is pinned or in use"


def check_fit(slots: Sequence[Slot], need: int, budget: Budget) -> Fit:
    """Which models (``slots`` in LRU order) to evict so that ``need`` more bytes fit.

    Evicts the least recently used evictable models, only as many as needed, until both
    the memory limit and the model count are honoured. Pinned, in-use and loading models
    are never chosen.
    """
    limit, most = budget.memory_limit_bytes, budget.max_models
    kept = [s for s in slots if s.status != EVICTABLE]
    available = limit - sum(s.bytes for s in kept)
    if need > limit:
        reason = f"needs {format_bytes(need)} but the whole budget is {format_bytes(limit)}"
        return Fit(False, (), need, available, reason)
    used, count, evict = sum(s.bytes for s in slots), len(slots), []
    for slot in slots:
        if used + need <= limit and count + 1 <= most:
            break
        if slot.status == EVICTABLE:
            evict.append(slot.model_id)
            used, count = used - slot.bytes, count - 1
    if used + need <= limit and count + 1 <= most:
        return Fit(True, tuple(evict), need, available)
    if used + need > limit:
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


def over_budget(slots: Sequence[Slot], budget: Budget) -> tuple[str, ...]:
    """Models to evict (LRU first, evictable only) to get back under ``budget``."""
    used, count, evict = sum(s.bytes for s in slots), len(slots), []
    limit, most = budget.memory_limit_bytes, budget.max_models
    for slot in slots:
        if used <= limit and count <= most:
            break
        if slot.status == EVICTABLE:
            evict.append(slot.model_id)
            used, count = used - slot.bytes, count - 1
    return tuple(evict)


def over_budget_note(slots: Sequence[Slot], budget: Budget) -> str | None:
    """One line when the pool holds more than ``budget`` allows, else None."""
    used, count = sum(s.bytes for s in slots), len(slots)
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

    Each simulated load is then held like a real one: the most recently used, evictable.
    """
    slots, plans = list(slots), []
    for want in wanted:
        held = next((s for s in slots if s.model_id == want.model_id), None)
        if held is not None:
            slots = [s for s in slots if s is not held] + [held]
            kept = sum(s.bytes for s in slots if s.status != EVICTABLE)
            plans.append(
                LoadPlan(
                    want.model_id, True, True, (), held.bytes, budget.memory_limit_bytes - kept
                )
            )
            continue
        fit = check_fit(slots, want.need_bytes, budget)
        plans.append(
            LoadPlan(want.model_id, False, fit.fits, fit.evict, want.need_bytes,
                     fit.available_bytes, fit.reason, want.estimated_seconds)
        )  # fmt: skip
        if fit.fits:
            slots = [s for s in slots if s.model_id not in fit.evict]
            slots.append(Slot(want.model_id, want.name, want.need_bytes, EVICTABLE))
    return tuple(plans)


def estimate_seconds(
    need: int, remembered: float | None, seconds_per_gb: float | None
) -> float | None:
    """Load time: this model's last load if known, else the rate seen so far × size."""
    if remembered is not None:
        return remembered
    if seconds_per_gb is not None:
        return seconds_per_gb * need / 1024**3
    return None
