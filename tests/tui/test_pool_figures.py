"""The pool pane's words for memory: prompt caches counted, drops and over-budget explained."""

from __future__ import annotations

from workbench.core.protocol import LoadPlan, PoolSnapshot
from workbench.tui.widgets.memory_bar import memory_text
from workbench.tui.widgets.plan_view import describe_plan

MB = 1024 * 1024
NAMES = {"a": "SmolLM2", "b": "MiniLM"}


def snapshot(**changes) -> PoolSnapshot:
    base = {
        "entries": (),
        "budget_bytes": 1024 * MB,
        "max_models": 4,
        "used_bytes": 110 * MB,
        "pinned_bytes": 0,
    }
    return PoolSnapshot(**(base | changes))


def test_memory_line_shows_the_prompt_cache_share_only_when_there_is_one() -> None:
    assert "cache" not in memory_text(snapshot())
    assert " · cache 12 MB · " in memory_text(snapshot(cache_bytes=12 * MB))


def test_memory_line_explains_an_over_budget_pool_on_its_own_line() -> None:
    why = "over budget: pinned SmolLM2 (94 MB) exceeds the 50 MB budget"
    lines = memory_text(snapshot(over_budget=why)).splitlines()
    assert lines[1] == why


def test_plan_names_the_prompt_caches_it_would_drop() -> None:
    plan = LoadPlan("b", False, True, (), 87 * MB, 90 * MB, drop_caches=("a",))
    assert describe_plan(plan, NAMES) == (
        "fits (needs 87 MB, 90 MB free) · drops the prompt cache of SmolLM2"
    )
    plan = LoadPlan("b", False, True, ("a",), 87 * MB, 90 * MB)
    assert describe_plan(plan, NAMES) == "will evict SmolLM2 (needs 87 MB, 90 MB free)"
