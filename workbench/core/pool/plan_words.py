"""The one wording of a load plan, for the pool pane and ``mlxbench pool plan`` alike.

"(needs 87 MB, 150 MB free)" read as if 150 MB were free now when it was the figure after
eviction. Every plan now says the three numbers apart: "needs X; Y free now; Z free after
evicting A" (the last part only when something is dropped or evicted).
"""

from __future__ import annotations

from collections.abc import Mapping

from workbench.core.protocol import LoadPlan
from workbench.core.units import format_bytes


def plan_verdict(plan: LoadPlan, names: Mapping[str, str]) -> str:
    """ "fits", "fits after evicting A, B", "already loaded" or "cannot fit: why"."""
    if plan.already_loaded:
        return "already loaded"
    if not plan.fits:
        return f"cannot fit: {plan.reason or 'not enough memory'}"
    if plan.evict:
        return "fits after evicting " + _names(plan.evict, names)
    return "fits"


def plan_figures(plan: LoadPlan, names: Mapping[str, str]) -> str:
    """ "needs X; Y free now; Z free after evicting A" (or "… after dropping the prompt
    cache of B"); falls back to the pool-wide figure for plans made without ``free_now``."""
    need = f"needs {format_bytes(plan.need_bytes)}"
    if plan.free_now_bytes is None:
        return f"{need}; {format_bytes(max(plan.available_bytes, 0))} can be freed"
    parts = [need, f"{format_bytes(max(plan.free_now_bytes, 0))} free now"]
    after = _after(plan, names)
    if after and plan.free_after_bytes is not None:
        parts.append(f"{format_bytes(max(plan.free_after_bytes, 0))} free after {after}")
    return "; ".join(parts)


def describe_plan(plan: LoadPlan, names: Mapping[str, str]) -> str:
    """The verdict and the figures on one line: "fits after evicting A (needs X; …)"."""
    if plan.already_loaded:
        return "already loaded"
    if not plan.fits:
        return plan_verdict(plan, names)
    return f"{plan_verdict(plan, names)} ({plan_figures(plan, names)})"


def _after(plan: LoadPlan, names: Mapping[str, str]) -> str:
    steps = []
    if plan.evict:
        steps.append("evicting " + _names(plan.evict, names))
    dropped = [m for m in plan.drop_caches if m not in plan.evict]
    if dropped:
        steps.append("dropping the prompt cache of " + _names(dropped, names))
    return " and ".join(steps)


def _names(model_ids: tuple[str, ...] | list[str], names: Mapping[str, str]) -> str:
    return ", ".join(names.get(m, m) for m in model_ids)
