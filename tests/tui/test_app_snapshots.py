"""Screenshots of the workbench at 120×40: pool pane, chat with a streamed reply, sessions.

Everything on screen comes from fixed fake data (sizes, stats, timestamps from a stepping
clock); notifications are cleared and the editor's cursor does not blink, so the pictures
only change when the UI does. Update with ``pytest --snapshot-update`` after a deliberate
change, and look at the result.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from fake_runner import Script, build_app, ready, wait_for

from workbench.core.sessions.store import SessionMessage
from workbench.core.types import TurnStats
from workbench.tui.pool.model_list import ModelList
from workbench.tui.pool.plan_view import PlanView

SIZE = (120, 40)
SMOL, QWEN, LLAVA = "demo/SmolLM2-135M-Instruct", "demo/Qwen2.5-1.5B-Instruct", "demo/llava-tiny"
REPLY = (
    "The capital of France is **Paris**.\n\n- population: about 2.1 million\n- river: the `Seine`"
)


@pytest.fixture(autouse=True)
def stable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def settle(pilot) -> None:
    pilot.app.clear_notifications()
    pilot.app.main_screen.chat.input.cursor_blink = False
    await pilot.pause()


async def highlight(pilot, model_id: str) -> None:
    table = pilot.app.main_screen.query_one(ModelList)
    table.focus()
    table.move_cursor(row=[m.id for m in table.models].index(model_id))
    await pilot.pause()


def test_pool_pane(tmp_path: Path, snap_compare) -> None:
    app, _factory = build_app(tmp_path)

    async def run_before(pilot) -> None:
        await ready(pilot)
        await highlight(pilot, LLAVA)
        await pilot.press("l")
        await highlight(pilot, SMOL)
        await pilot.press("p")
        pool = app.main_screen.pool
        await wait_for(pilot, lambda: pool.is_loaded(LLAVA) and pool.is_pinned(SMOL), "loads")
        await highlight(pilot, QWEN)
        plan = app.main_screen.query_one(PlanView)
        await wait_for(pilot, lambda: "after evicting" in str(plan.content), "the plan")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_chat_pane_with_a_streamed_reply(tmp_path: Path, snap_compare) -> None:
    app, _factory = build_app(tmp_path, Script(reply=REPLY))

    async def run_before(pilot) -> None:
        await ready(pilot)
        await highlight(pilot, SMOL)
        await pilot.press("enter")
        await pilot.pause()
        app.main_screen.chat.input.insert("What is the capital of France?")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.controller.session.messages, "question saved")
        await wait_for(pilot, lambda: app.controller.pending is None, "the reply")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_sessions_screen(tmp_path: Path, snap_compare) -> None:
    app, _factory = build_app(tmp_path)
    store = app.controller.store
    stats = TurnStats(21, 9, 0.42, 50.0, 12.5, 180 * 1024**2, "stop")
    for question, answer in (
        ("What is the capital of France?", "Paris."),
        ("Write a haiku about memory budgets", "Bytes fill the pool..."),
        ("Explain LRU eviction in one sentence", "Least recently used goes first."),
    ):
        session = store.new_session(model_id=SMOL)
        session = session.with_message(SessionMessage("user", question))
        reply = SessionMessage("assistant", answer, model_id=SMOL, stats=stats)
        store.save(session.with_message(reply))

    async def run_before(pilot) -> None:
        await ready(pilot)
        await settle(pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: getattr(pilot.app.screen, "summaries", None), "the list")
        await pilot.pause()

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
