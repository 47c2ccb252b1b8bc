"""The first frame of a turn: what is drawn between Ctrl+S and the reply's first text.

The app holds its redraw from a send until the reply's first text (one layout for both),
but never longer than a tenth of a second, and writes the session file just after that
text is drawn. These tests read what was actually drawn (the screen as exported), not the
widgets' state.
"""

from __future__ import annotations

import html
import json
import threading
from pathlib import Path

import pytest
from fake_runner import Script, build_app, ready, wait_for
from textual.app import App

from workbench.tui.chat.first_frame import FirstFrame
from workbench.tui.chat.message import ChatMessageView
from workbench.tui.pool.model_list import ModelList

pytestmark = pytest.mark.anyio

SMOL = "demo/SmolLM2-135M-Instruct"
QUESTION = "What is the capital of France?"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))


def drawn(app, text: str) -> bool:
    """Whether ``text`` is on the screen as last drawn (not merely in a widget)."""
    screen = html.unescape(app.export_screenshot()).replace("\xa0", " ")
    return text in screen


def saved_messages(tmp_path: Path) -> list[tuple[str, str]]:
    files = sorted((tmp_path / "sessions").glob("*.json"))
    if not files:
        return []
    data = json.loads(files[0].read_text())
    return [(m["role"], m["content"]) for m in data["messages"]]


async def send_question(pilot) -> None:
    await ready(pilot)
    models = pilot.app.main_screen.query_one(ModelList)
    models.focus()
    models.move_cursor(row=[m.id for m in models.models].index(SMOL))
    await pilot.press("enter")
    chat_input = pilot.app.main_screen.chat.input
    await wait_for(pilot, lambda: pilot.app.focused is chat_input, "the chat input")
    chat_input.insert(QUESTION)
    await pilot.press("ctrl+s")


async def test_a_model_that_says_nothing_yet_does_not_keep_the_question_unseen(
    tmp_path: Path,
) -> None:
    gate = threading.Event()  # the model reads the prompt until the test lets it go
    app, _ = build_app(tmp_path, Script(prompt_steps=(0, 8), prompt_gate=gate))
    async with app.run_test(size=(120, 40)) as pilot:
        await send_question(pilot)
        await wait_for(pilot, lambda: drawn(app, QUESTION), "the question on screen")
        await wait_for(pilot, lambda: drawn(app, "reading the prompt: 8 / 21"), "progress")
        assert app.controller.pending is not None  # still no text from the model
        assert app.main_screen.chat.input.text == ""
        gate.set()
        await wait_for(pilot, lambda: app.controller.pending is None, "the reply")
        await wait_for(pilot, lambda: drawn(app, "The capital of France is"), "the reply drawn")


async def test_the_question_is_saved_once_the_first_text_is_drawn_before_the_reply_ends(
    tmp_path: Path,
) -> None:
    gate = threading.Event()  # the reply pauses after its first token
    app, _ = build_app(tmp_path, Script(token_gate=gate))
    async with app.run_test(size=(120, 40)) as pilot:
        await send_question(pilot)
        await wait_for(pilot, lambda: drawn(app, QUESTION) and drawn(app, "The"), "first text")
        await wait_for(pilot, lambda: saved_messages(tmp_path), "the session file")
        assert app.controller.pending is not None  # the reply is still streaming
        assert saved_messages(tmp_path) == [("user", QUESTION)]  # a crash now keeps it
        gate.set()
        await wait_for(pilot, lambda: app.controller.pending is None, "the reply")
        await pilot.pause()
        assert saved_messages(tmp_path) == [
            ("user", QUESTION),
            ("assistant", "The capital of France is **Paris**."),
        ]


async def test_turns_sent_in_a_row_show_in_order_and_the_waiting_pair_stays_hidden_last(
    tmp_path: Path,
) -> None:
    app, _ = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await send_question(pilot)
        chat = app.main_screen.chat
        for question in ("Second question?", "Third question?"):
            await wait_for(pilot, lambda: app.controller.pending is None, "the reply")
            await pilot.pause()
            chat.input.insert(question)
            await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.controller.pending is None, "the last reply")
        log = chat.log_view
        views = lambda: list(log.query_children(ChatMessageView))  # noqa: E731
        await wait_for(pilot, lambda: len(views()) == len(log.messages) + 2, "a spare pair")
        shown = [(v.label, v.text) for v in log.messages]
        assert [text for _label, text in shown[::2]] == [
            QUESTION,
            "Second question?",
            "Third question?",
        ]
        assert {label for label, _text in shown[1::2]} == {"SmolLM2-135M-Instruct"}
        assert all(view.display for view in log.messages)
        hidden = [view for view in views() if view not in log.messages]
        assert not any(view.display for view in hidden)
        assert len(hidden) == 2 and list(log.children)[-2:] == hidden  # last, unseen
        assert drawn(app, "Third question?") and not drawn(app, "· generating")


async def test_what_waits_for_the_first_frame_runs_once_it_is_drawn_the_latest_of_each_kind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("workbench.tui.chat.first_frame.HOLD_CAP_S", 30.0)  # no cap in the test
    app: App[None] = App()
    async with app.run_test() as pilot:
        frame, shown = FirstFrame(app), []
        frame.when_drawn("pool", lambda: shown.append("pool 1"))
        assert shown == ["pool 1"]  # nothing held: at once
        frame.hold()
        frame.when_drawn("pool", lambda: shown.append("pool 2"))
        frame.when_drawn("pool", lambda: shown.append("pool 3"))  # replaces pool 2
        frame.when_drawn("other", lambda: shown.append("other"))
        await pilot.pause()
        assert shown == ["pool 1"] and frame.held
        frame.release()
        await pilot.pause()
        assert sorted(shown) == ["other", "pool 1", "pool 3"]
