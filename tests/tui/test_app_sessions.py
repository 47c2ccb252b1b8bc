"""Sessions through the UI: resume, rename, delete, search, corrupt files, export; palette."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fake_runner import build_app, ready, wait_for
from textual.command import CommandList
from textual.css.query import NoMatches
from textual.widgets import DataTable, Input

from workbench.core.protocol import ChatRequest, LoadRequest
from workbench.core.sessions.store import Session, SessionMessage, SessionStore
from workbench.tui.chat.log import ChatLog
from workbench.tui.chat.sessions_screen import SessionsScreen
from workbench.tui.screens.prompt import ConfirmScreen, TextPromptScreen

pytestmark = pytest.mark.anyio

SMOL = "demo/SmolLM2-135M-Instruct"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))


def add_session(store: SessionStore, question: str, answer: str) -> Session:
    session = store.new_session(model_id=SMOL)
    session = session.with_message(SessionMessage("user", question))
    session = session.with_message(SessionMessage("assistant", answer, model_id=SMOL))
    return store.save(session)


def titles(screen: SessionsScreen) -> list[str]:
    return [s.title for s in screen.shown]


def transcript_texts(app) -> list[str]:
    return [v.text for v in app.main_screen.query_one(ChatLog).messages]


async def open_sessions(pilot) -> SessionsScreen:
    await pilot.press("ctrl+o")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, SessionsScreen), "sessions")
    screen = pilot.app.screen
    await wait_for(pilot, lambda: screen.summaries is not None, "the folder read")
    await pilot.pause()
    return screen


async def test_resume_a_session_and_continue_it(tmp_path: Path) -> None:
    app, factory = build_app(tmp_path)
    older = add_session(app.controller.store, "Name a colour", "Blue.")
    add_session(app.controller.store, "Name a fruit", "Apple.")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        screen = await open_sessions(pilot)
        assert titles(screen) == ["Name a fruit", "Name a colour"]  # newest first
        await pilot.press("down", "enter")
        await wait_for(pilot, lambda: app.screen is app.main_screen, "back to chat")
        await pilot.pause()
        assert app.controller.session.id == older.id
        assert app.controller.model_id == SMOL
        assert transcript_texts(app) == ["Name a colour", "Blue."]
        chat_input = app.main_screen.chat.input
        chat_input.focus()
        chat_input.insert("And another?")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: factory.received(ChatRequest), "the request")
        await wait_for(pilot, lambda: app.controller.pending is None, "the reply")
        request = factory.received(ChatRequest)[0]
        assert request.session_id == older.id
        assert [m.content for m in request.messages] == ["Name a colour", "Blue.", "And another?"]
        assert len(app.controller.store.load(older.id).messages) == 4


async def test_resuming_or_starting_a_session_from_the_model_list_puts_typing_in_the_chat(
    tmp_path: Path,
) -> None:
    app, _factory = build_app(tmp_path)
    add_session(app.controller.store, "Name a colour", "Blue.")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        chat_input = app.main_screen.chat.input
        for keys in (("ctrl+o", "enter"), ("ctrl+n",)):
            app.main_screen.query_one("#model-list").focus()
            await pilot.pause()
            await pilot.press(keys[0])
            if len(keys) > 1:
                await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen), "sessions")
                await wait_for(pilot, lambda: app.screen.summaries is not None, "the folder read")
                await pilot.press(*keys[1:])
            await wait_for(pilot, lambda: app.focused is chat_input, f"the editor after {keys}")
            await pilot.press("p", "l")  # the model list's pin and load keys, were it focused
            assert chat_input.text == "pl"
            chat_input.clear()
        assert app.controller.pending is None and not app.controller.session.messages


async def test_rename_delete_and_search_in_the_list(tmp_path: Path) -> None:
    app, _factory = build_app(tmp_path)
    store = app.controller.store
    colour = add_session(store, "Name a colour", "Blue.")
    fruit = add_session(store, "Name a fruit", "Apple.")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        screen = await open_sessions(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, TextPromptScreen), "rename prompt")
        app.screen.query_one(Input).value = "Fruit talk"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen, "back to the list")
        await wait_for(pilot, lambda: titles(screen) == ["Fruit talk", "Name a colour"], "rename")
        assert store.load(fruit.id).title == "Fruit talk"

        screen.query_one(Input).value = "blue"
        await pilot.pause()
        assert titles(screen) == ["Name a colour"]  # searches the messages too
        screen.query_one(Input).value = ""
        await pilot.pause()

        screen.query_one(DataTable).focus()
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is screen, "back to the list")
        await wait_for(pilot, lambda: titles(screen) == ["Name a colour"], "the delete shown")
        assert not store.path_for(fruit.id).exists()
        assert store.path_for(colour.id).exists()


async def test_a_delete_that_fails_is_reported_and_the_app_keeps_running(tmp_path: Path) -> None:
    app, _factory = build_app(tmp_path)
    store = app.controller.store
    colour = add_session(store, "Name a colour", "Blue.")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        screen = await open_sessions(pilot)
        path = store.path_for(colour.id)
        path.unlink()
        path.mkdir()  # the file became a folder: unlinking it fails
        screen.query_one(DataTable).focus()
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen), "confirm")
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is screen, "back to the list")
        await wait_for(
            pilot,
            lambda: any(n.title == "Delete failed" for n in app._notifications),
            "the failure reported",
        )
        assert titles(screen) == ["Name a colour"]  # still listed: it was not deleted
        assert app.is_running


async def test_the_folder_is_read_once_off_the_ui_thread_and_search_filters_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, _factory = build_app(tmp_path)
    store = app.controller.store
    add_session(store, "Name a colour", "Blue.")
    add_session(store, "Name a fruit", "Apple.")
    reads: list[str] = []
    real_list = store.list

    def counted_list():
        reads.append(threading.current_thread().name)
        return real_list()

    def no_search(query: str):
        raise AssertionError(f"the folder was searched again for {query!r}")

    monkeypatch.setattr(store, "list", counted_list)
    monkeypatch.setattr(store, "search", no_search)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        screen = await open_sessions(pilot)
        assert len(reads) == 1 and reads[0] != threading.main_thread().name
        await pilot.press("slash", "b", "l", "u", "e")
        await pilot.pause()
        assert titles(screen) == ["Name a colour"]  # message text is searched too
        assert len(reads) == 1  # typing never re-reads the folder


async def test_a_corrupt_session_file_is_reported_and_moved_aside(tmp_path: Path) -> None:
    app, _factory = build_app(tmp_path)
    store = app.controller.store
    add_session(store, "Name a colour", "Blue.")
    bad = store.root / "20260101-000000-abcdef.json"
    bad.write_text('{"format": "mlxbench-session", "version": 1, "id": ')
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        screen = await open_sessions(pilot)
        assert titles(screen) == ["Name a colour"]
        problems = str(screen.query_one("#sessions-problems").content)
        assert "20260101-000000-abcdef.json: corrupt session" in problems
        assert "moved to 20260101-000000-abcdef.json.corrupt" in problems
        assert not bad.exists() and bad.with_name(bad.name + ".corrupt").exists()


async def test_export_writes_markdown_from_the_chat_and_from_the_list(tmp_path: Path) -> None:
    app, _factory = build_app(tmp_path)
    session = add_session(app.controller.store, "Name a colour", "Blue.")
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("f4")
        await pilot.pause()
        assert "Nothing to export" in list(app._notifications)[-1].message
        screen = await open_sessions(pilot)
        await pilot.press("x")
        await pilot.pause()
        exported = tmp_path / "exports" / f"name-a-colour-{session.id}.md"
        assert list(app._notifications)[-1].message == str(exported)
        text = exported.read_text()
        assert text.startswith("# Name a colour") and "## Assistant (demo/SmolLM2" in text
        exported.unlink()
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is app.main_screen, "resumed")
        await pilot.press("f4")
        await pilot.pause()
        assert exported.read_text() == text
        assert screen is not app.screen


async def test_the_palette_offers_per_model_commands(tmp_path: Path) -> None:
    app, factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"load llava")
        await wait_for(pilot, lambda: _palette_has(app, "Load llava-tiny"), "palette hit")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.main_screen.pool.is_loaded("demo/llava-tiny"), "load")
        assert factory.received(LoadRequest)[-1].model_id == "demo/llava-tiny"

        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"evict llava")
        await wait_for(pilot, lambda: _palette_has(app, "Evict llava-tiny"), "evict hit")
        await pilot.press("enter")
        await wait_for(pilot, lambda: not app.main_screen.pool.is_loaded("demo/llava-tiny"), "ev")

        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"open sessions")
        await wait_for(pilot, lambda: _palette_has(app, "Open sessions…"), "sessions hit")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, SessionsScreen), "sessions")


def _palette_has(app, title: str) -> bool:
    try:
        options = app.screen.query_one(CommandList).options
    except NoMatches:
        return False
    return any(title in str(option.prompt) for option in options)
