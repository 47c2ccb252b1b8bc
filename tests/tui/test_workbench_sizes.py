"""The workbench at 80×24, 120×40 and 200×60: what shows, what folds, what sticks.

The explorer must show its numbers whenever it is on screen (with or without the models
pane), its labels use the width there is, its texts wrap; its results say when they are
stale; the models pane is a setting that survives tab switches and restarts, and on a
narrow screen it takes the width instead of squeezing the tabs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fake_runner import build_app, ready, wait_for
from textual.widgets import Input, TabbedContent, TextArea

from workbench.core import app_state
from workbench.tui.chat.log import ChatLog
from workbench.tui.embeddings.explorer import EmbeddingsPane
from workbench.tui.embeddings.heatmap import Heatmap
from workbench.tui.embeddings.neighbours import RankedList
from workbench.tui.pool.model_list import ModelList

pytestmark = pytest.mark.anyio

SMOL = "demo/SmolLM2-135M-Instruct"
TEXTS = (
    "The cat sat on the mat.",
    "A kitten sleeps on a warm rug.",
    "Stock markets fell sharply today.",
    "Investors sold shares as prices dropped.",
)
NUMBER = re.compile(r"-?\d\.\d\d")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))


def heatmap(app) -> Heatmap:
    return app.main_screen.query_one(Heatmap)


def explorer(app) -> EmbeddingsPane:
    return app.main_screen.embeddings


def numbers_on_row(app, row: int) -> list[str]:
    """The similarity figures drawn on heatmap line ``row`` (0 is the header)."""
    return NUMBER.findall(heatmap(app).render_line(row).text)


async def compute_as_a_user(pilot, texts: tuple[str, ...] = TEXTS) -> None:
    """F5, Tab to the texts, type them, Ctrl+R — and wait for the matrix."""
    await ready(pilot)
    await pilot.press("f5")
    await pilot.pause()
    await pilot.press("tab")
    assert pilot.app.focused is pilot.app.main_screen.query_one("#embed-texts", TextArea)
    pilot.app.focused.insert("\n".join(texts))
    await pilot.press("ctrl+r")
    await wait_for(pilot, lambda: len(heatmap(pilot.app).labels) == len(texts), "the matrix")
    await pilot.pause()


async def test_at_80x24_the_explorer_shows_every_number(tmp_path: Path) -> None:
    app, _ = build_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await compute_as_a_user(pilot)
        assert heatmap(app).size.height >= len(TEXTS) + 1  # header and every row
        for row in range(1, len(TEXTS) + 1):
            assert len(numbers_on_row(app, row)) == len(TEXTS)
        assert explorer(app).query_one("#embed-texts", TextArea).soft_wrap


async def test_at_120x40_with_the_models_pane_numbers_and_scores_show(tmp_path: Path) -> None:
    app, _ = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await compute_as_a_user(pilot)
        assert app.main_screen.pool.display  # the pane is still beside the explorer
        for row in range(1, len(TEXTS) + 1):
            assert len(numbers_on_row(app, row)) == len(TEXTS)
        await pilot.press("enter")  # neighbours of row 1
        neighbours = explorer(app).query_one("#embed-neighbours", RankedList)
        await wait_for(pilot, lambda: neighbours.entries, "neighbours")
        await pilot.pause()
        table = neighbours.table
        rank, index, score = (c.get_render_width(table) for c in list(table.columns.values())[:3])
        assert rank + index + score <= table.scrollable_content_region.width  # scores visible


async def test_at_200x60_labels_use_the_width(tmp_path: Path) -> None:
    long_texts = tuple(f"{t} It was reported in the evening news." for t in TEXTS)
    app, _ = build_app(tmp_path)
    async with app.run_test(size=(200, 60)) as pilot:
        await compute_as_a_user(pilot, long_texts)
        line = heatmap(app).render_line(1).text
        assert long_texts[0] in line  # the whole text, not cut at ~20 characters
        assert len(NUMBER.findall(line)) == len(TEXTS)


async def test_results_are_marked_stale_when_texts_query_or_file_change(tmp_path: Path) -> None:
    texts_file = tmp_path / "other.txt"
    texts_file.write_text("Completely different\nTexts now\n")
    app, _ = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await compute_as_a_user(pilot)
        pane = explorer(app)
        results = pane.query_one("#embed-results")
        assert not pane.stale and "stale" not in heatmap(app).border_title
        query = pane.query_one("#embed-query", Input)
        query.value = "cats"
        await pilot.pause()
        assert pane.stale and results.has_class("-stale")
        query.value = ""  # back to what was computed
        await pilot.pause()
        assert not pane.stale and not results.has_class("-stale")

        pane.query_one("#embed-file", Input).value = str(texts_file)
        await pilot.click("#embed-load")
        await wait_for(pilot, lambda: pane.stale, "stale after loading a file")
        assert "stale" in heatmap(app).border_title
        assert heatmap(app).labels == TEXTS  # the old matrix stays, marked, not mixed up
        await pilot.press("ctrl+r")
        await wait_for(
            pilot,
            lambda: heatmap(app).labels == ("Completely different", "Texts now"),
            "recomputed",
        )
        await pilot.pause()
        assert not pane.stale and "stale" not in heatmap(app).border_title


async def test_the_models_pane_setting_sticks_across_tabs_and_restarts(tmp_path: Path) -> None:
    app, _ = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert not app.main_screen.pool.display
        for _ in range(2):
            await pilot.press("f5")
            await pilot.pause()
            assert not app.main_screen.pool.display
    assert app_state.setting(app_state.MODELS_PANE, True) is False
    again, _ = build_app(tmp_path)
    async with again.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.pause()
        assert not again.main_screen.pool.display
        assert again.focused is again.main_screen.chat.input
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert again.main_screen.pool.display
    assert app_state.setting(app_state.MODELS_PANE, False) is True


async def test_at_80x24_the_models_pane_takes_the_width_then_folds(tmp_path: Path) -> None:
    app, _ = build_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.pause()
        screen = app.main_screen
        tabs = screen.query_one(TabbedContent)
        models = screen.query_one(ModelList)
        assert screen.pool.display and not tabs.display
        widths = sum(c.get_render_width(models) for c in models.columns.values())
        assert widths <= models.scrollable_content_region.width  # Size and Status show
        models.focus()
        models.move_cursor(row=0)
        await pilot.press("enter")  # use SmolLM2: the pane folds away for the chat
        await wait_for(pilot, lambda: app.focused is screen.chat.input, "the chat input")
        assert not screen.pool.display and tabs.display
        assert app_state.setting(app_state.MODELS_PANE, True) is True  # setting unchanged
        await pilot.press("f2")
        await pilot.pause()
        assert screen.pool.display and app.focused is models


async def test_at_80x24_the_chat_keeps_rows_for_the_transcript(tmp_path: Path) -> None:
    app, _ = build_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+b")  # models pane away: the chat has the screen
        await pilot.pause()
        chat = app.main_screen.chat
        assert chat.has_class("-short")
        assert chat.query_one(ChatLog).size.height >= 8
