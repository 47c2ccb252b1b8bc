"""What the chat tests share: the model they choose, how they send, what they read back."""

from __future__ import annotations

import json
from pathlib import Path

from fake_runner import ready

from workbench.core.sessions.store import SessionMessage
from workbench.tui.chat.log import ChatLog
from workbench.tui.chat.message import ChatMessageView
from workbench.tui.chat.turn_stats import TurnStatsView
from workbench.tui.pool.model_list import ModelList

SMOL = "demo/SmolLM2-135M-Instruct"
QUESTION = "What is the capital of France?"


def transcript(app) -> list[tuple[str, str]]:
    """(label, text) of every mounted message."""
    views = app.main_screen.query_one(ChatLog).messages
    return [(v.label, v.text) for v in views]


def stats_text(app) -> str:
    view = app.main_screen.query_one(ChatLog).messages[-1]
    return str(view.query_one(TurnStatsView).content)


def saved(tmp_path: Path) -> dict:
    files = sorted((tmp_path / "sessions").glob("*.json"))
    assert len(files) == 1, files
    return json.loads(files[0].read_text())


async def choose_smol(pilot) -> None:
    await ready(pilot)
    catalog = pilot.app.main_screen.query_one(ModelList)
    catalog.focus()
    catalog.move_cursor(row=0)
    await pilot.press("enter")
    await pilot.pause()


async def send(pilot, text: str) -> None:
    chat_input = pilot.app.main_screen.chat.input
    chat_input.focus()
    chat_input.insert(text)
    await pilot.press("ctrl+s")


def streamed(app) -> str:
    """What has reached the reply being streamed so far."""
    reply = app.main_screen.chat._reply
    return reply.stream.text if reply is not None and reply.stream is not None else ""


def replying(app) -> bool:
    return app.controller.pending is not None


async def long_session(app, pilot, count: int, text: str = "") -> ChatLog:
    """Show a stored session of ``count`` messages "message 0" … (each followed by
    ``text``); the transcript widget."""
    store = app.controller.store
    session = store.new_session(model_id=SMOL)
    for index in range(count):
        role = "user" if index % 2 == 0 else "assistant"
        content = f"message {index}" + (f"\n\n{text}" if text else "")
        session = session.with_message(SessionMessage(role, content, model_id=SMOL))
    session = store.save(session)
    await ready(pilot)
    app.controller.resume(session.id)
    await app.main_screen.chat.show_session(app.controller.session, app.main_screen.names)
    await pilot.pause()
    return app.main_screen.query_one(ChatLog)


def texts(app) -> list[str]:
    return [text for _label, text in transcript(app)]


def shown_views(log: ChatLog) -> int:
    """Message widgets mounted and shown; at most one hidden pair waits for the next send."""
    views = list(log.query(ChatMessageView))
    shown = [view for view in views if view.display]
    assert len(views) - len(shown) in (0, 2)
    return len(shown)
