"""The whole app on the real SmolLM2: pick it, ask, get "Paris", find the turn on disk.

Built exactly as ``mlxbench`` builds it (``workbench.commands.app.build_app``: real catalog,
real runner on the app's worker thread), with ``MLXBENCH_HOME`` in a temp folder and a
small budget. The demo GGUF is imported on first use, inside that folder.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.cli import build_parser
from workbench.commands.app import build_app
from workbench.core.models.demo import installed_demo_models
from workbench.tui.chat.log import ChatLog
from workbench.tui.pool.model_list import ModelList

pytestmark = [pytest.mark.real, pytest.mark.anyio]

QUESTION = "What is the capital of France?"


async def wait_until(pilot, condition, what: str, limit_s: float = 900) -> None:
    """Poll while the app runs; fail naming ``what`` past a generous bound."""
    steps = int(limit_s / 0.1)
    for _ in range(steps):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"gave up waiting for {what}")


async def test_real_smollm2_answers_in_the_app_and_the_turn_is_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "SmolLM2-135M-Instruct" not in installed_demo_models():
        pytest.fail("demo model SmolLM2 is not installed: run `mlxbench demo install`")
    home = tmp_path / "home"
    monkeypatch.setenv("MLXBENCH_HOME", str(home))
    args = build_parser().parse_args(["--memory-limit", "2GB", "--max-models", "2"])
    app = build_app(args)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.main_screen
        await wait_until(pilot, lambda: screen.snapshot is not None, "the engine", 300)
        catalog = screen.query_one(ModelList)
        row = next(i for i, m in enumerate(catalog.models) if m.name == "SmolLM2-135M-Instruct")
        catalog.focus()
        catalog.move_cursor(row=row)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.focused is screen.chat.input, "the chat input")
        screen.chat.input.insert(QUESTION)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.controller.session.messages, "the question")
        await wait_until(pilot, lambda: app.controller.pending is None, "the reply")
        await pilot.pause()

        views = screen.query_one(ChatLog).messages
        assert [v.label for v in views] == ["You", "SmolLM2-135M-Instruct"], [
            str(n.message) for n in app._notifications
        ]
        reply = views[1].text
        assert "Paris" in reply
        stats = app.controller.session.messages[-1].stats
        assert stats is not None and stats.generation_tokens > 0

    files = list((home / "data" / "sessions").glob("*.json"))
    assert len(files) == 1
    saved = json.loads(files[0].read_text())
    assert [(m["role"], m["content"]) for m in saved["messages"]] == [
        ("user", QUESTION),
        ("assistant", reply),
    ]
    assert "Paris" in saved["messages"][1]["content"]
