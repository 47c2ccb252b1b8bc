"""The chat controller's requests carry the whole conversation, however it got there."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.core.protocol import ChatDone
from workbench.core.sessions.store import SessionMessage, SessionStore
from workbench.core.types import ChatMessage, TurnStats
from workbench.tui.chat.controller import ChatController

STATS = TurnStats(3, 2, 0.1, 30.0, 5.0, 0, "stop")


@pytest.fixture
def controller(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ChatController:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))
    chat = ChatController(SessionStore(tmp_path / "sessions"))
    chat.set_model("m")
    return chat


def turn(controller: ChatController, question: str, answer: str) -> tuple[ChatMessage, ...]:
    request, _question = controller.send(question)
    controller.finish(ChatDone(request.request_id, answer, STATS))
    return request.messages


def test_every_request_is_the_whole_conversation_so_far(controller: ChatController) -> None:
    assert turn(controller, "one?", "1") == (ChatMessage("user", "one?"),)
    sent = turn(controller, "two?", "2")
    assert [m.content for m in sent] == ["one?", "1", "two?"]
    assert sent == controller.session.without_last().chat_messages()

    # Regenerate: the last reply is left out; a new system prompt is in.
    controller.update_settings("Be brief.", controller.session.sampling)
    again = controller.regenerate().messages
    assert [(m.role, m.content) for m in again] == [
        ("system", "Be brief."),
        ("user", "one?"),
        ("assistant", "1"),
        ("user", "two?"),
    ]
    controller.finish(ChatDone(controller.pending.request.request_id, "two", STATS))
    assert [m.content for m in controller.session.messages] == ["one?", "1", "two?", "two"]

    # Another session: nothing of the first one leaks into its requests.
    other = controller.store.new_session(model_id="m")
    other = other.with_message(SessionMessage("user", "elsewhere?"))
    other = controller.store.save(other.with_message(SessionMessage("assistant", "here")))
    controller.resume(other.id)
    assert [m.content for m in turn(controller, "three?", "3")] == [
        "elsewhere?",
        "here",
        "three?",
    ]
