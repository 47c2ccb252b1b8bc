"""What a new user pressed and expected: the detail line, focus, progress, words, extras.

Each test is one complaint from trying the workbench as a new user would: the plan line
under the model list following the cursor, Down from the session search going to the
list, prompt progress and context usage, the empty chat's hint after Ctrl+N, the settings
dialog's wording, copying a reply or a code block, editing the last question, reopening
the last session, exporting the similarity matrix, and snippets in session search.
"""

from __future__ import annotations

import csv
import threading
from pathlib import Path

import pytest
from fake_runner import Script, build_app, ready, wait_for
from textual.widgets import DataTable, Input, Label, TextArea

from workbench.core import app_state
from workbench.core.protocol import ChatRequest
from workbench.core.sessions.store import SessionMessage
from workbench.tui.chat.log import ChatLog
from workbench.tui.chat.sessions_screen import SessionsScreen
from workbench.tui.chat.settings_screen import SettingsScreen
from workbench.tui.embeddings.heatmap import Heatmap
from workbench.tui.pool.loaded_models import LoadedModels
from workbench.tui.pool.model_list import ModelList
from workbench.tui.pool.plan_view import PlanView

pytestmark = pytest.mark.anyio

SMOL, QWEN = "demo/SmolLM2-135M-Instruct", "demo/Qwen2.5-1.5B-Instruct"
CODE_REPLY = "Here:\n\n```python\ndef add(a, b):\n    return a + b\n```\n\nDone."


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))


def detail(app) -> str:
    return str(app.main_screen.query_one(PlanView).content).splitlines()[0]


def notices(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def use(pilot, model_id: str = SMOL) -> None:
    models = pilot.app.main_screen.query_one(ModelList)
    models.focus()
    models.move_cursor(row=[m.id for m in models.models].index(model_id))
    await pilot.press("enter")
    await wait_for(pilot, lambda: pilot.app.focused is pilot.app.main_screen.chat.input, "input")


async def ask(pilot, text: str) -> None:
    app = pilot.app
    before = len(app.controller.session.messages)
    app.main_screen.chat.input.focus()
    app.main_screen.chat.input.insert(text)
    await pilot.press("ctrl+s")
    done = lambda: len(app.controller.session.messages) == before + 2  # noqa: E731
    await wait_for(pilot, lambda: done() and app.controller.pending is None, "the reply")
    await pilot.pause()


async def test_the_detail_line_follows_the_cursor_after_l_p_e_and_enter(tmp_path: Path) -> None:
    app, _ = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        models = app.main_screen.query_one(ModelList)
        models.focus()
        names = [m.name for m in models.models]
        for key, row in (("l", 0), ("p", 1), ("e", 0)):
            models.move_cursor(row=row)
            await pilot.press(key)
            await pilot.pause()
            models.move_cursor(row=row + 2)  # the user moves on before the pool answers
            await wait_for(pilot, lambda: app.controller.pending is None, "idle")
            await pilot.pause(0.2)
            assert detail(app).startswith(names[row + 2]), (key, detail(app))
        loaded = app.main_screen.query_one(LoadedModels)
        loaded.focus()  # in the loaded table the line shows that table's cursor row
        await pilot.pause()
        assert detail(app).startswith(app.main_screen.names[loaded.current_model_id])


async def test_down_from_the_session_search_goes_to_the_list_and_enter_resumes(
    tmp_path: Path,
) -> None:
    app, _ = build_app(tmp_path)
    store = app.controller.store
    for question in ("Name a colour", "Name a fruit"):
        session = store.new_session(model_id=SMOL).with_message(SessionMessage("user", question))
        store.save(session.with_message(SessionMessage("assistant", "Blue, then apple.")))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen), "sessions")
        screen = app.screen
        await wait_for(pilot, lambda: screen.summaries is not None, "the folder read")
        await pilot.press("slash")
        await pilot.press(*"fruit")
        await pilot.press("down")
        assert isinstance(app.focused, DataTable)
        assert screen.query_one(Input).value == "fruit"  # nothing typed into the search
        footer_keys = {key for key, b in app.active_bindings.items() if b.binding.show}
        assert "enter" in footer_keys
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is app.main_screen, "resumed")
        assert app.controller.session.display_title == "Name a fruit"


async def test_session_search_shows_a_snippet_of_what_matched(tmp_path: Path) -> None:
    app, _ = build_app(tmp_path)
    store = app.controller.store
    session = store.new_session(model_id=SMOL).with_message(SessionMessage("user", "Hello"))
    answer = "Many words come first. Then the Eiffel Tower appears, and more words follow."
    store.save(session.with_message(SessionMessage("assistant", answer)))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+o")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen), "sessions")
        screen = app.screen
        await wait_for(pilot, lambda: screen.summaries is not None, "the folder read")
        screen.query_one(Input).value = "eiffel"
        await pilot.pause()
        table = screen.query_one(DataTable)
        title = str(table.get_row_at(0)[1])
        assert title.splitlines()[1].startswith("…")  # the snippet, under the title
        assert "Eiffel Tower" in title.splitlines()[1]  # as written, not lower-cased


async def test_prompt_progress_then_tokens_then_context_used(tmp_path: Path) -> None:
    gate = threading.Event()
    app, _ = build_app(tmp_path, Script(prompt_steps=(0, 8, 16), prompt_gate=gate))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await use(pilot)
        status = app.main_screen.chat.status
        app.main_screen.chat.input.insert("A long question")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "16 / 21" in str(status.content), "prompt progress")
        assert status.visible and str(status.content).startswith("reading the prompt: 16 / 21")
        gate.set()
        await wait_for(pilot, lambda: app.controller.pending is None, "the reply")
        await pilot.pause()
        assert not status.visible
        header = str(app.main_screen.chat.query_one("#chat-header").content)
        assert "context 27 / 8,192" in header  # 21 prompt + 6 generated tokens


async def test_ctrl_n_keeps_the_model_and_says_so(tmp_path: Path) -> None:
    app, _ = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await use(pilot)
        await ask(pilot, "Hello")
        await pilot.press("ctrl+n")
        await pilot.pause()
        hint = str(app.main_screen.query_one(ChatLog).query_one(".empty").content)
        assert "Choose a chat model" not in hint and "SmolLM2-135M-Instruct" in hint


async def test_settings_say_they_carry_into_new_chats_and_reopen_is_a_setting(
    tmp_path: Path,
) -> None:
    app, _ = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await use(pilot)
        await ask(pilot, "Remember me")
        await pilot.press("ctrl+g")
        await wait_for(pilot, lambda: isinstance(app.screen, SettingsScreen), "settings")
        title = str(app.screen.query_one(".title", Label).content)
        assert "(this session)" not in title and "new chats" in title
        await pilot.click("#reopen-last")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen is app.main_screen, "closed")
        session_id = app.controller.session.id
    assert app_state.setting(app_state.REOPEN_LAST_SESSION, False) is True
    again, _ = build_app(tmp_path)
    async with again.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        assert again.controller.session.id == session_id
        assert len(again.main_screen.query_one(ChatLog).messages) == 2


async def test_copy_the_reply_and_its_code_block(tmp_path: Path) -> None:
    app, _ = build_app(tmp_path, Script(reply=CODE_REPLY))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("f9")
        assert "There is no reply to copy yet." in notices(app)
        await use(pilot)
        await ask(pilot, "Add two numbers")
        await pilot.press("f9")
        assert app.clipboard == CODE_REPLY, notices(app)
        assert (tmp_path / "exports" / "clipboard.txt").read_text() == CODE_REPLY
        assert "OSC 52" in notices(app)[-1] and "clipboard.txt" in notices(app)[-1]
        await pilot.press("f10")
        assert app.clipboard == "def add(a, b):\n    return a + b"


async def test_edit_and_resend_the_last_question(tmp_path: Path) -> None:
    app, factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await use(pilot)
        await ask(pilot, "First question")
        await ask(pilot, "Capital of Frence?")
        await pilot.press("f8")
        await pilot.pause()
        chat_input = app.main_screen.chat.input
        assert chat_input.text == "Capital of Frence?"
        assert [m.content for m in app.controller.session.messages][-1] != "Capital of Frence?"
        assert len(app.controller.session.messages) == 2
        chat_input.clear()
        await ask(pilot, "Capital of France?")
        sent = factory.received(ChatRequest)[-1]
        assert [m.content for m in sent.messages if m.role == "user"] == [
            "First question",
            "Capital of France?",
        ]
        assert len(app.controller.session.messages) == 4


async def test_export_the_similarity_matrix_as_csv(tmp_path: Path) -> None:
    app, _ = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("f5")
        await pilot.pause()
        await pilot.press("tab")
        assert isinstance(app.focused, TextArea)
        app.focused.insert('Tea, with milk\nSay "hi"\nCoffee')
        await pilot.press("ctrl+r")
        heatmap = app.main_screen.query_one(Heatmap)
        await wait_for(pilot, lambda: heatmap.labels, "the matrix")
        await pilot.press("x")
        [path] = (tmp_path / "exports").glob("similarity-*.csv")
        rows = list(csv.reader(path.open()))
        assert rows[0] == ["text", "Tea, with milk", 'Say "hi"', "Coffee"]
        assert [r[0] for r in rows[1:]] == ["Tea, with milk", 'Say "hi"', "Coffee"]
        for i, row in enumerate(rows[1:]):
            assert [float(v) for v in row[1:]] == pytest.approx(heatmap.matrix[i], abs=1e-6)
        assert str(path) in app.main_screen.embeddings.message
