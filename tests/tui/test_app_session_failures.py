"""The chat survives a session folder it cannot write, and a regenerate cancelled early.

A save that fails must not end the app or lose the reply: the user is told, the chat goes
on from memory, and the first save that works writes everything. A regenerate cancelled
before any text leaves the screen showing what the session holds: the old reply.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from chat_helpers import choose_smol, replying, send, transcript
from fake_runner import Script, build_app, wait_for

from workbench.core.protocol import ChatRequest

pytestmark = pytest.mark.anyio

QUESTION = "What is the capital of France?"
REPLY = "The capital of France is **Paris**."
SMOL_NAME = "SmolLM2-135M-Instruct"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))


def notices(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_a_session_folder_that_is_a_file_is_reported_and_the_reply_kept(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "sessions"
    blocker.write_text("not a folder")
    app, factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_smol(pilot)
        await send(pilot, QUESTION)
        await wait_for(pilot, lambda: not replying(app), "the reply")
        await pilot.pause()
        assert app.is_running
        assert factory.received(ChatRequest)  # the question went out all the same
        assert transcript(app) == [("You", QUESTION), (SMOL_NAME, REPLY)]
        failures = [n for n in notices(app) if n.startswith("could not save session: ")]
        assert failures, notices(app)
        assert f"{blocker} is a file, not a folder" in failures[-1]
        assert "\n" not in failures[-1]
        assert [m.content for m in app.controller.session.messages] == [QUESTION, REPLY]

        # Once the folder can be written, the next save writes the whole conversation.
        blocker.unlink()
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(factory.received(ChatRequest)) == 2, "regenerate")
        await wait_for(pilot, lambda: not replying(app), "the second reply")
        [file] = blocker.glob("*.json")
        saved = json.loads(file.read_text())
        assert [m["content"] for m in saved["messages"]] == [QUESTION, REPLY]


async def test_a_failed_save_of_a_rename_or_settings_change_is_reported(tmp_path: Path) -> None:
    app, _factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_smol(pilot)
        await send(pilot, QUESTION)
        await wait_for(pilot, lambda: not replying(app), "the reply")
        [file] = (tmp_path / "sessions").glob("*.json")
        file.unlink()
        file.mkdir()  # a folder where the file goes: the write fails
        app.main_screen.controller.rename("Capitals")
        app.main_screen.choose_model("demo/SmolLM2-135M-Instruct")
        await pilot.pause()
        assert app.is_running
        assert app.controller.session.title == "Capitals"
        failures = [n for n in notices(app) if n.startswith("could not save session: ")]
        assert len(failures) == 2, notices(app)


async def test_a_regenerate_cancelled_before_any_text_shows_the_old_reply_again(
    tmp_path: Path,
) -> None:
    script = Script()
    app, factory = build_app(tmp_path, script)
    async with app.run_test(size=(120, 40)) as pilot:
        await choose_smol(pilot)
        await send(pilot, QUESTION)
        await wait_for(pilot, lambda: not replying(app), "the first reply")
        script.hold_after = 0
        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: len(factory.received(ChatRequest)) == 2, "regenerate")
        assert transcript(app) == [("You", QUESTION), (f"{SMOL_NAME} · generating", "")]
        await pilot.press("escape")
        await wait_for(pilot, lambda: not replying(app), "the cancelled regenerate")
        await pilot.pause()
        assert transcript(app) == [("You", QUESTION), (SMOL_NAME, REPLY)]
        assert app.main_screen.chat.input.text == ""
        [file] = (tmp_path / "sessions").glob("*.json")
        saved = json.loads(file.read_text())
        assert [m["content"] for m in saved["messages"]] == [QUESTION, REPLY]
