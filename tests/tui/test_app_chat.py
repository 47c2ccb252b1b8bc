"""Chat flows against the fake runner: stream, cancel, regenerate, errors, settings."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from chat_helpers import (
    QUESTION,
    choose_smol,
    replying,
    saved,
    send,
    stats_text,
    streamed,
    transcript,
)
from fake_runner import Script, build_app, ready, wait_for
from textual import events
from textual.keys import _character_to_key
from textual.widgets import Input

from workbench.core.protocol import ChatRequest
from workbench.tui.chat.log import ChatLog
from workbench.tui.chat.message import chat_markdown_parser
from workbench.tui.chat.settings_screen import SettingsScreen

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))


async def test_reply_streams_as_markdown_with_stats_and_the_turn_is_saved(
    tmp_path: Path,
) -> None:
    app, factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_smol(pilot)
        await send(pilot, QUESTION)
        await wait_for(pilot, lambda: not replying(app), "the reply")
        await pilot.pause()
        assert transcript(app) == [
            ("You", QUESTION),
            ("SmolLM2-135M-Instruct", "The capital of France is **Paris**."),
        ]
        assert stats_text(app) == "ttft 0.42 s · 12.5 tok/s · 6 tokens · peak 180.0 MB"
        assert app.main_screen.chat.input.text == ""
        request = factory.received(ChatRequest)[0]
        assert request.session_id == app.controller.session.id
        assert [m.content for m in request.messages] == [QUESTION]
        data = saved(tmp_path)
        assert [(m["role"], m["content"]) for m in data["messages"]] == [
            ("user", QUESTION),
            ("assistant", "The capital of France is **Paris**."),
        ]
        assert data["messages"][1]["stats"]["generation_tokens"] == 6


async def test_escape_cancels_and_keeps_the_partial_reply(tmp_path: Path) -> None:
    script = Script(hold_after=3)
    app, factory = build_app(tmp_path, script)
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_smol(pilot)
        await send(pilot, QUESTION)
        await wait_for(pilot, lambda: "capital" in streamed(app), "three tokens")
        assert factory.received(ChatRequest)[0].cancel.is_set() is False
        await pilot.press("escape")
        await wait_for(pilot, lambda: not replying(app), "the cancelled reply")
        await pilot.pause()
        assert factory.received(ChatRequest)[0].cancel.is_set()
        assert transcript(app)[-1] == ("SmolLM2-135M-Instruct", "The capital of")
        assert stats_text(app).endswith("3 tokens · peak 180.0 MB · cancelled")
        data = saved(tmp_path)
        assert data["messages"][-1]["content"] == "The capital of"
        assert data["messages"][-1]["stats"]["finish_reason"] == "cancelled"


async def test_the_rest_of_a_reply_is_drawn_while_it_streams(tmp_path: Path) -> None:
    """After the first text the chat takes the reply from the token gate itself, when it
    can draw it: later tokens reach the screen, with their count on the progress line,
    while the model is still generating; the editor's cursor holds still meanwhile."""
    app, _ = build_app(tmp_path, Script(hold_after=3))
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_smol(pilot)
        chat = app.main_screen.chat
        await send(pilot, QUESTION)
        await wait_for(pilot, lambda: chat._reply.text == "The capital of", "three tokens drawn")
        assert str(chat.status.content) == "generating: 3 tokens"
        assert chat.input.cursor_blink is False
        await pilot.press("escape")
        await wait_for(pilot, lambda: not replying(app), "the cancelled reply")
        assert chat.input.cursor_blink is True


async def test_cancel_before_any_text_gives_the_question_back(tmp_path: Path) -> None:
    app, factory = build_app(tmp_path, Script(hold_after=0))
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_smol(pilot)
        await send(pilot, QUESTION)
        await wait_for(pilot, lambda: factory.received(ChatRequest), "the request")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not replying(app), "the cancelled reply")
        await pilot.pause()
        assert app.main_screen.chat.input.text == QUESTION
        assert transcript(app) == []
        assert not list((tmp_path / "sessions").glob("*.json"))


async def test_runner_error_is_shown_inline_and_the_draft_is_kept(tmp_path: Path) -> None:
    message = "insufficient memory for SmolLM2: needs 98 MB, 10 MB free; pinned: Qwen"
    script = Script(chat_error=("InsufficientMemoryError", message))
    app, _factory = build_app(tmp_path, script)
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_smol(pilot)
        await send(pilot, QUESTION)
        await wait_for(pilot, lambda: not replying(app), "the failure")
        await pilot.pause()
        assert transcript(app) == [("Error", message)]
        assert app.main_screen.query_one(ChatLog).messages[0].has_class("-error")
        assert app.main_screen.chat.input.text == QUESTION
        assert list(app._notifications)[-1].title == "Insufficient memory"
        assert not list((tmp_path / "sessions").glob("*.json"))
        await pilot.press("ctrl+s")  # the kept draft sends as is once the problem is gone
        await wait_for(pilot, lambda: len(transcript(app)) == 3, "the retried turn")
        await wait_for(pilot, lambda: not replying(app), "the reply")
        assert transcript(app)[1] == ("You", QUESTION)
        assert [m["role"] for m in saved(tmp_path)["messages"]] == ["user", "assistant"]


async def test_sending_without_a_model_warns_and_keeps_the_text(tmp_path: Path) -> None:
    app, factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await send(pilot, "hello?")
        await pilot.pause()
        assert app.main_screen.chat.input.text == "hello?"
        assert "choose a chat model first" in list(app._notifications)[-1].message
        assert factory.received(ChatRequest) == []


async def test_regenerate_replaces_the_last_reply(tmp_path: Path) -> None:
    script = Script()
    app, factory = build_app(tmp_path, script)
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_smol(pilot)
        await send(pilot, QUESTION)
        await wait_for(pilot, lambda: not replying(app), "first reply")
        script.reply = "Paris, of course."
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(factory.received(ChatRequest)) == 2, "regenerate")
        await wait_for(pilot, lambda: not replying(app), "second reply")
        await pilot.pause()
        again = factory.received(ChatRequest)[1]
        assert [m.content for m in again.messages] == [QUESTION]
        assert transcript(app)[-1] == ("SmolLM2-135M-Instruct", "Paris, of course.")
        assert len(transcript(app)) == 2
        contents = [m["content"] for m in saved(tmp_path)["messages"]]
        assert contents == [QUESTION, "Paris, of course."]


async def test_settings_screen_changes_the_next_request(tmp_path: Path) -> None:
    app, factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_smol(pilot)
        await pilot.press("ctrl+g")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, SettingsScreen)
        screen.query_one("#system-prompt").text = "Answer in one word."
        screen.query_one("#temperature", Input).value = "hot"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is screen  # a bad value keeps the screen open, named
        assert "temperature must be a number" in str(screen.query_one("#settings-error").content)
        screen.query_one("#temperature", Input).value = "0.7"
        screen.query_one("#seed", Input).value = "42"
        screen.query_one("#max-tokens", Input).value = "64"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is app.main_screen
        await send(pilot, QUESTION)
        await wait_for(pilot, lambda: not replying(app), "the reply")
        request = factory.received(ChatRequest)[0]
        assert request.sampling.temperature == 0.7 and request.sampling.seed == 42
        assert request.sampling.max_tokens == 64
        assert (request.messages[0].role, request.messages[0].content) == (
            "system",
            "Answer in one word.",
        )
        assert saved(tmp_path)["system_prompt"] == "Answer in one word."


async def test_a_reply_keeps_streaming_behind_a_modal_screen(tmp_path: Path) -> None:
    gate = threading.Event()
    app, _ = build_app(tmp_path, Script(token_gate=gate))
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_smol(pilot)
        await send(pilot, QUESTION)
        await wait_for(pilot, lambda: streamed(app) == "The", "the first token")
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen), "settings")
        gate.set()
        await wait_for(pilot, lambda: not replying(app), "the reply, behind the modal")
        await pilot.press("escape")
        await pilot.pause()
        assert transcript(app)[-1][1] == "The capital of France is **Paris**."


def test_single_newlines_in_a_reply_are_line_breaks() -> None:
    parser = chat_markdown_parser()
    inline = next(t for t in parser.parse("Roses are red,\nviolets are blue.") if t.children)
    assert [c.type for c in inline.children] == ["text", "hardbreak", "text"]


async def test_ctrl_s_sends_everything_typed_before_it(tmp_path: Path) -> None:
    """Ctrl+S is acted on as the key arrives; keys typed just before it (a fast typist, a
    paste, a busy UI) may still wait in the editor's queue: they are in the question, and
    nothing is left behind in the editor."""
    app, factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_smol(pilot)
        app.main_screen.chat.input.focus()
        await pilot.pause()
        text = "Name three famous lighthouses."
        keys = [(ch if ch.isalnum() else _character_to_key(ch), ch) for ch in text]
        # sent as the terminal driver sends them (as Pilot.press does, without its pauses)
        for key, char in [*keys, ("ctrl+s", None)]:
            event = events.Key(key, char)
            event.set_sender(app)
            app._driver.send_message(event)
        await wait_for(pilot, lambda: factory.received(ChatRequest), "the request")
        await wait_for(pilot, lambda: not replying(app), "the reply")
        assert factory.received(ChatRequest)[0].messages[-1].content == text
        assert app.main_screen.chat.input.text == ""
