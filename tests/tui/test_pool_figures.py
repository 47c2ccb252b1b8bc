"""The pool pane's words for memory: prompt caches counted, drops and over-budget explained."""

from __future__ import annotations

from workbench.core.protocol import LoadPlan, PoolSnapshot
from workbench.tui.pool.memory_bar import memory_text
from workbench.tui.pool.plan_view import describe_plan

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
    assert " · cache 12.0 MB · " in memory_text(snapshot(cache_bytes=12 * MB))


def test_memory_line_explains_an_over_budget_pool_on_its_own_line() -> None:
    why = "over budget: pinned SmolLM2 (94 MB) exceeds the 50 MB budget"
    lines = memory_text(snapshot(over_budget=why)).splitlines()
    assert lines[1] == why


def test_plan_names_the_prompt_caches_it_would_drop() -> None:
    plan = LoadPlan(
        "b", False, True, (), 87 * MB, 90 * MB, drop_caches=("a",),
        free_now_bytes=60 * MB, free_after_bytes=90 * MB,
    )  # fmt: skip
    assert describe_plan(plan, NAMES) == (
        "fits (needs 87.0 MB; 60.0 MB free now; "
        "90.0 MB free after dropping the prompt cache of SmolLM2)"
    )


def test_plan_says_free_now_apart_from_free_after_evicting() -> None:
    """56 MB free now and 150 MB once SmolLM2 is gone: never "150 MB free" alone."""
    plan = LoadPlan(
        "b", False, True, ("a",), 87 * MB, 150 * MB,
        free_now_bytes=56 * MB, free_after_bytes=150 * MB,
    )  # fmt: skip
    assert describe_plan(plan, NAMES) == (
        "fits after evicting SmolLM2 (needs 87.0 MB; 56.0 MB free now; "
        "150.0 MB free after evicting SmolLM2)"
    )


def test_the_pool_pane_and_the_cli_write_sizes_the_same_way() -> None:
    from workbench.commands.pool import plan_line
    from workbench.core.units import format_bytes

    for count in (512, 10_000, 93.8 * MB, 150 * MB, 1.25 * 1024 * MB):
        assert memory_text(snapshot(used_bytes=count)).startswith(format_bytes(count) + " / ")
    plan = LoadPlan("b", False, True, ("a",), 87 * MB, 150 * MB, None, None, (), 56 * MB, 150 * MB)
    figures = describe_plan(plan, NAMES).split("(", 1)[1].rstrip(")")
    assert figures in plan_line(1, plan, NAMES)
