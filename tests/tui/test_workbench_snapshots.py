"""Screenshots at 80×24, 120×40 and 200×60: the chat with two attachments, the explorer
computed with and without the models pane, and the sessions screen.

The sizes a new user tried: each picture must show a usable screen (the heatmap's numbers,
the transcript above the editor, the session list). Everything comes from fixed fake data;
update with ``pytest --snapshot-update`` on this file after a deliberate change, and look
at the SVGs before committing them.
"""

from __future__ import annotations

import base64
import io
import time
from pathlib import Path

import pytest
from fake_runner import build_app, ready, wait_for
from PIL import Image
from textual import events
from textual.widgets import TextArea

from workbench.core.sessions.store import SessionMessage
from workbench.core.types import TurnStats
from workbench.tui.chat.attachments import AttachmentCard
from workbench.tui.embeddings.heatmap import Heatmap
from workbench.tui.pool.loaded_models import LoadedModels
from workbench.tui.pool.model_list import ModelList

SIZES = [(80, 24), (120, 40), (200, 60)]
LLAVA = "demo/llava-tiny"
SMOL = "demo/SmolLM2-135M-Instruct"
TEXTS = (
    "The cat sat on the mat.",
    "A kitten sleeps on a warm rug by the fire.",
    "Stock markets fell sharply today.",
    "Investors sold shares as prices dropped.",
    "I love pizza with extra cheese.",
)


@pytest.fixture(autouse=True)
def stable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def data_uri(size: tuple[int, int], colour: tuple[int, int, int]) -> str:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


async def settle(pilot) -> None:
    pilot.app.clear_notifications()
    pilot.app.main_screen.chat.input.cursor_blink = False
    for area in pilot.app.main_screen.query(TextArea):
        area.cursor_blink = False
    await pilot.pause()


async def use(pilot, model_id: str) -> None:
    models = pilot.app.main_screen.query_one(ModelList)
    models.focus()
    models.move_cursor(row=[m.id for m in models.models].index(model_id))
    await pilot.press("enter")
    await wait_for(pilot, lambda: pilot.app.focused is pilot.app.main_screen.chat.input, "input")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_chat_with_two_attachments(tmp_path: Path, snap_compare, size) -> None:
    app, _ = build_app(tmp_path)

    async def run_before(pilot) -> None:
        await ready(pilot)
        await use(pilot, LLAVA)
        chat = app.main_screen.chat
        chat.input.insert("What differs between these two pictures?")
        for picture in (data_uri((64, 32), (200, 40, 40)), data_uri((32, 48), (40, 160, 90))):
            app.post_message(events.Paste(picture))
            await pilot.pause()
        cards = lambda: list(chat.attachments.query_children(AttachmentCard))  # noqa: E731
        await wait_for(pilot, lambda: len(cards()) == 2 and not chat.attachments.preparing, "2")
        loaded = app.main_screen.query_one(LoadedModels)
        await wait_for(pilot, lambda: loaded.row_count == 1, "loaded")
        if app.main_screen.panes.pool_visible:  # the chat alone: its own layout is pictured
            await pilot.press("ctrl+b")
        cards()[0].focus()  # a card, not the editor: no text cursor to catch mid-blink
        await settle(pilot)
        await pilot.pause(0.5)  # the loaded-models table sizes its columns to the new row

    assert snap_compare(app, terminal_size=size, run_before=run_before)


async def computed(pilot, *, models_pane: bool) -> None:
    app = pilot.app
    await ready(pilot)
    if not models_pane:
        await pilot.press("ctrl+b")
    await pilot.press("f5")
    await pilot.pause()
    await pilot.press("tab")
    app.focused.insert("\n".join(TEXTS))
    await pilot.press("ctrl+r")
    heatmap = app.main_screen.query_one(Heatmap)
    await wait_for(pilot, lambda: len(heatmap.labels) == len(TEXTS), "the matrix")
    await pilot.press("down", "right")
    inputs = app.main_screen.query_one("#embed-inputs")
    inputs.scroll_home(animate=False)  # where typing left it scrolled depends on timing
    app.main_screen.query_one("#embed-texts", TextArea).scroll_home(animate=False)
    await settle(pilot)
    await pilot.pause(0.2)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_explorer_computed_with_the_models_pane(tmp_path: Path, snap_compare, size) -> None:
    app, _ = build_app(tmp_path)

    async def run_before(pilot) -> None:
        await computed(pilot, models_pane=True)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_explorer_computed_without_the_models_pane(tmp_path: Path, snap_compare, size) -> None:
    app, _ = build_app(tmp_path)

    async def run_before(pilot) -> None:
        await computed(pilot, models_pane=False)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_sessions_screen_with_a_search(tmp_path: Path, snap_compare, size) -> None:
    app, _ = build_app(tmp_path)
    store = app.controller.store
    stats = TurnStats(21, 9, 0.42, 50.0, 12.5, 180 * 1024**2, "stop")
    for question, answer in (
        ("What is the capital of France?", "Paris, on the Seine, is the capital of France."),
        ("Write a haiku about memory budgets", "Bytes fill the pool; the oldest model leaves."),
        ("Explain LRU eviction in one sentence", "The least recently used model goes first."),
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
        await pilot.press("slash", *"model")
        await pilot.press("down")
        await pilot.pause()

    assert snap_compare(app, terminal_size=size, run_before=run_before)
