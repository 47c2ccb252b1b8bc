"""A screenshot of the compare view at 120×40 after one comparison (fixed fake data).

Update with ``pytest --snapshot-update`` after a deliberate change, and look at the result.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fake_runner import Script, build_app, ready, wait_for
from textual.widgets import Select, Static

from workbench.tui.chat.input import ChatInput
from workbench.tui.compare import CompareScreen
from workbench.tui.compare.lane import CompareLane

SMOL, QWEN = "demo/SmolLM2-135M-Instruct", "demo/Qwen2.5-1.5B-Instruct"
REPLY = "The capital of France is **Paris**.\n\n- river: the `Seine`"


@pytest.fixture(autouse=True)
def stable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_compare_view_after_one_comparison(tmp_path: Path, snap_compare) -> None:
    app, _factory = build_app(tmp_path, Script(reply=REPLY))

    async def run_before(pilot) -> None:
        await ready(pilot)
        await pilot.press("f6")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), "compare view")
        screen = app.screen
        screen.query_one("#pick-A", Select).value = SMOL
        screen.query_one("#pick-B", Select).value = QWEN
        plan = screen.query_one("#compare-plan", Static)
        await wait_for(pilot, lambda: "both fit" in str(plan.content), "the plan")
        box = screen.query_one(ChatInput)
        box.insert("What is the capital of France?")
        await pilot.press("ctrl+s")
        lane_b = screen.query_one("#lane-B", CompareLane)
        stats = lane_b.query_one(".lane-stats", Static)
        await wait_for(pilot, lambda: "tok/s" in str(stats.content), "B's stats")
        app.clear_notifications()
        box.cursor_blink = False
        await pilot.pause()

    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
