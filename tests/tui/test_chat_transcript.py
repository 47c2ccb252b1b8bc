"""The transcript during a chat: what stays mounted, what follows the end, what keeps still."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from chat_helpers import (
    QUESTION,
    choose_smol,
    long_session,
    replying,
    send,
    shown_views,
    streamed,
    texts,
)
from fake_runner import Script, build_app, wait_for
from textual.widgets import Static

from workbench.tui.chat.log import LOAD_STEP, MAX_MOUNTED, ChatLog

pytestmark = pytest.mark.anyio

TALL = "\n\n".join(f"paragraph {n}" for n in range(12))  # ~24 rows per message


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))


async def test_only_the_last_messages_are_mounted(tmp_path: Path) -> None:
    app, _factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        log = await long_session(app, pilot, 50)
        assert shown_views(log) == MAX_MOUNTED
        assert texts(app) == [f"message {i}" for i in range(50 - MAX_MOUNTED, 50)]
        earlier = log.query_one(".earlier")
        assert str(earlier.content).startswith(f"… {50 - MAX_MOUNTED} earlier messages (kept")
        assert earlier.display
        await choose_smol(pilot)
        await send(pilot, "one more")
        await wait_for(pilot, lambda: not replying(app), "the reply")
        assert shown_views(log) == MAX_MOUNTED
        assert log.hidden_count == 52 - MAX_MOUNTED
        assert texts(app)[-2:] == ["one more", "The capital of France is **Paris**."]


async def test_tall_messages_are_kept_mounted_only_as_far_as_two_screens(
    tmp_path: Path,
) -> None:
    """Every redraw of a streaming reply lays out every mounted message again: long replies
    stay widgets only as far back as two heights of the transcript (the last two always)."""
    app, _factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        log = await long_session(app, pilot, 10, text=TALL)
        assert shown_views(log) == 10  # a session opens with its last messages mounted
        await choose_smol(pilot)
        await send(pilot, "one more")
        await wait_for(pilot, lambda: not replying(app), "the reply")
        older = log.messages[:-2]
        rows = sum(view.outer_size.height for view in older)
        assert len(log.messages) < MAX_MOUNTED
        assert rows - older[0].outer_size.height < 2 * log.size.height  # one past the budget
        assert len(log.messages) >= 4  # the new turn, and at least the last one before it
        assert log.hidden_count == 12 - len(log.messages)
        assert texts(app)[-2:] == ["one more", "The capital of France is **Paris**."]


async def test_scrolling_to_the_top_shows_earlier_messages(tmp_path: Path) -> None:
    app, _factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        log = await long_session(app, pilot, 50)
        first_shown = 50 - MAX_MOUNTED
        was_first = log.messages[0]
        log.scroll_home(animate=False)
        await wait_for(pilot, lambda: log.hidden_count < first_shown, "earlier messages")
        await wait_for(pilot, lambda: log.scroll_y > 0, "the view kept where it was")
        assert texts(app) == [f"message {i}" for i in range(first_shown - LOAD_STEP, 50)]
        # The message that was first is now at the top of the view: nothing jumped (the
        # view settles a frame or two after the messages mount, later on a busy machine).
        await wait_for(pilot, lambda: was_first.region.y == log.region.y, "the view kept")
        assert was_first.region.y == log.region.y
        while before := log.hidden_count:
            log.scroll_home(animate=False)
            await wait_for(pilot, lambda: log.hidden_count < before, "more")
            await wait_for(pilot, lambda: log.scroll_y > 0, "the view kept where it was")
        assert texts(app) == [f"message {i}" for i in range(50)]
        assert not log.query_one(".earlier").display
        # A new turn follows the end again and keeps only the last messages mounted.
        await choose_smol(pilot)
        await send(pilot, "one more")
        await wait_for(pilot, lambda: not replying(app), "the reply")
        assert len(log.messages) == MAX_MOUNTED
        assert log.hidden_count == 52 - MAX_MOUNTED
        assert texts(app)[-1] == "The capital of France is **Paris**."


async def test_clicking_the_earlier_line_shows_earlier_messages(tmp_path: Path) -> None:
    app, _factory = build_app(tmp_path)
    async with app.run_test(size=(120, 90)) as pilot:  # tall: the line itself is in view
        log = await long_session(app, pilot, 20)
        await pilot.click(".earlier")
        await pilot.pause()
        assert texts(app) == [f"message {i}" for i in range(20)]
        assert log.hidden_count == 0


async def test_the_transcript_keeps_its_size_through_a_turn(tmp_path: Path) -> None:
    """Neither the progress line nor the header (a new title, the context used) changes
    the transcript's size: every message in it would be laid out again, at a send just as
    the first token is due."""
    app, _ = build_app(tmp_path, Script(hold_after=3))
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_smol(pilot)
        log = app.main_screen.query_one(ChatLog)
        idle = log.size
        await send(pilot, QUESTION)
        await wait_for(pilot, lambda: streamed(app), "the first text")
        await pilot.pause()
        assert app.main_screen.chat.status.visible and log.size == idle
        await pilot.press("escape")
        await wait_for(pilot, lambda: not replying(app), "the cancel")
        await pilot.pause()
        assert not app.main_screen.chat.status.visible  # blank, its line kept
        header = str(app.main_screen.chat.query_one("#chat-header", Static).content)
        assert "context" in header and log.size == idle


async def first_token_after_tall_messages(app, pilot) -> ChatLog:
    """Show four tall messages, send, and wait for the reply's first token; the log."""
    log = await long_session(app, pilot, 4, text=TALL)
    await choose_smol(pilot)
    await send(pilot, QUESTION)
    await wait_for(pilot, lambda: streamed(app) == "The", "the first token")
    return log


async def test_the_transcript_follows_a_streaming_reply_to_its_end(tmp_path: Path) -> None:
    gate = threading.Event()
    app, _ = build_app(tmp_path, Script(token_gate=gate))
    async with app.run_test(size=(120, 40)) as pilot:
        log = await first_token_after_tall_messages(app, pilot)
        gate.set()
        await wait_for(pilot, lambda: not replying(app), "the reply")
        await pilot.pause()
        assert log.max_scroll_y > 0 and log.scroll_y == log.max_scroll_y
        assert log.messages[-1].region.bottom <= log.region.bottom  # its stats in view


async def test_a_reader_scrolled_up_stays_put_while_the_reply_streams(tmp_path: Path) -> None:
    gate = threading.Event()
    app, _ = build_app(tmp_path, Script(token_gate=gate))
    async with app.run_test(size=(120, 40)) as pilot:
        log = await first_token_after_tall_messages(app, pilot)
        await pilot.pause()
        log.scroll_to(y=log.scroll_y - 10, animate=False)  # the user scrolls up to read
        await pilot.pause()
        reading = log.scroll_y
        gate.set()
        await wait_for(pilot, lambda: not replying(app), "the reply")
        await pilot.pause()
        assert log.scroll_y == reading < log.max_scroll_y
