"""A change on screen is laid out once: a sent question with its reply's first text, a
block appended to a streamed reply, a widget that grew. Each layout of the screen holds the
GIL the generating thread needs (see ``workbench.tui.layout_once`` and
``workbench.tui.chat.markdown_body``). Scrolling widgets must still get their scrollbars.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from fake_runner import Script, build_app, wait_for
from test_first_frame import QUESTION, drawn, send_question
from textual.app import App, ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from workbench.tui.chat.markdown_body import MessageMarkdown
from workbench.tui.layout_once import install

pytestmark = pytest.mark.anyio


class LayoutCount:
    """Counts the full layouts of one screen (Textual's ``_refresh_layout``)."""

    def __init__(self, screen: Screen) -> None:
        self.count = 0
        lay_out = screen._refresh_layout

        def counted(*args, **kwargs) -> None:
            self.count += 1
            lay_out(*args, **kwargs)

        screen._refresh_layout = counted  # type: ignore[method-assign]


async def settle(pilot, rounds: int = 10) -> None:
    for _ in range(rounds):
        await pilot.pause(0.02)


async def test_a_sent_question_and_its_replys_first_text_are_laid_out_once(
    tmp_path: Path,
) -> None:
    gate = threading.Event()  # the reply waits after its first token
    app, _ = build_app(tmp_path, Script(token_gate=gate))
    async with app.run_test(size=(120, 40)) as pilot:
        try:
            await send_question(pilot)  # the first turn loads the model
            await wait_for(pilot, lambda: drawn(app, "The"), "the first reply")
            gate.set()
            await wait_for(pilot, lambda: app.controller.pending is None, "the first reply")
            gate.clear()
            await settle(pilot)
            app.main_screen.chat.input.insert(QUESTION)
            await settle(pilot)
            layouts = LayoutCount(app.main_screen)
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: app.main_screen.chat.input.text == "", "the send")
            await settle(pilot)
            assert [v.text for v in app.main_screen.chat.log_view.messages][2:] == [QUESTION, "The"]
            assert layouts.count == 1, "later layouts drew the same screen again"
        finally:
            gate.set()  # the runner's thread must not wait for ever
        await wait_for(pilot, lambda: app.controller.pending is None, "the reply")


class Column(App[None]):
    def compose(self) -> ComposeResult:
        with Vertical():
            yield MessageMarkdown("First paragraph.")
            yield Static("one line", id="grows")
        with VerticalScroll(id="scroll"):
            yield Static("short", id="content")

    CSS = "#scroll { height: 5; }"


async def test_an_append_that_adds_blocks_is_laid_out_once() -> None:
    install()  # the blocks' own size changes: see the next test
    app = Column()
    async with app.run_test(size=(60, 30)) as pilot:
        await settle(pilot)
        layouts = LayoutCount(app.screen)
        markdown = app.query_one(MessageMarkdown)
        await markdown.append("\n\n## A heading\n\n- one\n- two\n\nLast words.")
        await settle(pilot)
        assert layouts.count == 1
        assert "Last words." in markdown.source
        assert len(markdown.children) == 4  # paragraph, heading, list, paragraph


async def test_a_widget_that_grows_is_laid_out_once_and_a_scroll_still_gets_its_bar() -> None:
    install()
    app = Column()
    async with app.run_test(size=(60, 30)) as pilot:
        await settle(pilot)
        layouts = LayoutCount(app.screen)
        app.query_one("#grows", Static).update("three\nlines\nnow")
        await settle(pilot)
        assert layouts.count == 1
        assert app.query_one("#grows").size.height == 3

        scroll = app.query_one("#scroll", VerticalScroll)
        assert not scroll.show_vertical_scrollbar
        app.query_one("#content", Static).update("\n".join(f"line {n}" for n in range(20)))
        await settle(pilot)
        assert scroll.show_vertical_scrollbar
        assert scroll.max_scroll_y == 15

        layouts.count = 0  # a scroll that already scrolls grows: one layout, a longer range
        app.query_one("#content", Static).update("\n".join(f"line {n}" for n in range(30)))
        await settle(pilot)
        assert layouts.count == 1
        assert scroll.show_vertical_scrollbar and scroll.max_scroll_y == 25


async def test_a_streamed_replys_new_paragraphs_are_drawn_as_they_come(tmp_path: Path) -> None:
    """Each redraw of the reply holds the screen while its blocks report, and wakes it when
    done: new paragraphs show while the reply streams, with no key pressed (``pilot.pause``
    forces a redraw, so the test only sleeps)."""
    paragraphs = [f"Paragraph {n} says a few words here." for n in range(1, 9)]
    script = Script(reply="\n\n".join(paragraphs), token_pause=0.06)  # ~3.4 s in all
    app, _ = build_app(tmp_path, script)
    async with app.run_test(size=(120, 40)) as pilot:
        await send_question(pilot)
        await wait_for(pilot, lambda: drawn(app, "Paragraph"), "the first text")
        await asyncio.sleep(2.0)
        assert app.controller.pending is not None  # still streaming
        assert drawn(app, "Paragraph 3 says")
        await wait_for(pilot, lambda: app.controller.pending is None, "the reply")
