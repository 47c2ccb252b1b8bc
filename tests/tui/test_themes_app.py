"""Themes in a running app: registered, offered by "Change theme", remembered, and robust."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.command import CommandList
from textual.widgets import Label
from textual.widgets._toast import Toast

from workbench.core import paths
from workbench.tui.theming import setup_themes

pytestmark = pytest.mark.anyio

SHIPPED = ("mlxbench-dark", "mlxbench-light", "mlxbench-ember")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


class BareApp(App[None]):
    """An app with one label and a place to keep what ``setup_themes`` reported."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] | None = None

    def compose(self) -> ComposeResult:
        yield Label("hello")


class ThemedApp(BareApp):
    """Sets themes up on mount, the way the workbench does."""

    def on_mount(self) -> None:
        self.problems = setup_themes(self)


class EarlyThemedApp(BareApp):
    """Sets themes up in ``__init__`` instead, which must work just the same."""

    def __init__(self) -> None:
        super().__init__()
        self.problems = setup_themes(self)


def saved_state() -> dict:
    return json.loads(paths.state_file().read_text())


async def test_setup_registers_shipped_themes_and_applies_default() -> None:
    app = ThemedApp()
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.problems == []
        assert set(SHIPPED) <= set(app.available_themes)
        assert app.theme == "mlxbench-dark"
        assert app.current_theme.background == "#14171c"
        assert app.get_theme("mlxbench-light").dark is False


async def test_shipped_themes_are_offered_by_change_theme_command() -> None:
    app = ThemedApp()
    async with app.run_test() as pilot:
        await pilot.pause()
        app.action_change_theme()
        await pilot.pause()
        await pilot.press(*"mlxbench")
        await pilot.pause(0.3)
        options = app.screen.query_one(CommandList)
        offered = {str(options.get_option_at_index(i).prompt) for i in range(options.option_count)}
        assert set(SHIPPED) <= offered
        # Pick one through the palette: it applies and is remembered.
        await pilot.press("backspace", *"ember", "enter")
        await pilot.pause(0.3)
        assert app.theme == "mlxbench-ember"
        assert saved_state()["theme"] == "mlxbench-ember"


async def test_theme_change_is_remembered_and_restored_by_a_new_app() -> None:
    paths.state_file().parent.mkdir(parents=True)
    paths.state_file().write_text(json.dumps({"last_tab": "chat"}))
    app = ThemedApp()
    async with app.run_test() as pilot:
        await pilot.pause()
        app.theme = "mlxbench-light"
        await pilot.pause()
    assert saved_state() == {"last_tab": "chat", "theme": "mlxbench-light"}

    second = ThemedApp()
    async with second.run_test() as pilot:
        await pilot.pause()
        assert second.theme == "mlxbench-light"
        assert second.current_theme.dark is False


async def test_setup_in_init_restores_and_remembers_too() -> None:
    paths.state_file().parent.mkdir(parents=True)
    paths.state_file().write_text(json.dumps({"theme": "mlxbench-ember"}))
    paths.user_themes_dir().mkdir(parents=True)
    (paths.user_themes_dir() / "bad.toml").write_text("[[[")
    app = EarlyThemedApp()
    async with app.run_test(notifications=True) as pilot:
        await pilot.pause()
        assert app.theme == "mlxbench-ember"
        toasts = [str(toast.render()) for toast in app.screen.query(Toast)]
        assert len(toasts) == 1 and "bad.toml" in toasts[0]
        assert app.current_theme.primary == "#f0a35e"
        app.theme = "nord"
        await pilot.pause()
    assert saved_state()["theme"] == "nord"


async def test_bad_user_theme_is_notified_and_the_app_still_runs() -> None:
    themes = paths.user_themes_dir()
    themes.mkdir(parents=True)
    (themes / "broken.toml").write_text('name = "broken"\nprimary = "blue"\n')
    (themes / "garbage.toml").write_text("this is = = not toml")
    (themes / "mine.toml").write_text(
        'name = "mine"\nprimary = "#ff0000"\nbackground = "#101010"\nforeground = "#eeeeee"\n'
    )
    app = ThemedApp()
    async with app.run_test(notifications=True) as pilot:
        await pilot.pause()
        assert app.problems is not None and len(app.problems) == 2
        assert "broken.toml" in app.problems[0] and "primary = 'blue'" in app.problems[0]
        assert "garbage.toml" in app.problems[1] and "not valid TOML" in app.problems[1]
        notified = [n.message for n in app._notifications]
        assert notified == app.problems
        shown = [str(toast.render()) for toast in app.screen.query(Toast)]
        assert len(shown) == 2 and "broken.toml" in shown[0]
        assert "broken" not in app.available_themes
        app.theme = "mine"
        await pilot.pause()
        assert app.current_theme.primary == "#ff0000"
        assert app.query_one(Label).render().plain == "hello"


async def test_saved_theme_that_vanished_falls_back_with_a_notice() -> None:
    paths.state_file().parent.mkdir(parents=True)
    paths.state_file().write_text(json.dumps({"theme": "deleted-theme"}))
    app = ThemedApp()
    async with app.run_test() as pilot:
        await pilot.pause()
        assert app.theme == "mlxbench-dark"
        assert app.problems is not None and "'deleted-theme'" in app.problems[0]


async def test_unwritable_state_file_is_a_notice_not_a_crash(home: Path) -> None:
    app = ThemedApp()
    async with app.run_test() as pilot:
        await pilot.pause()
        # Make the data folder path a file so the state file cannot be written.
        paths.data_dir().parent.mkdir(parents=True, exist_ok=True)
        paths.data_dir().write_text("not a folder")
        app.theme = "mlxbench-light"
        await pilot.pause()
        assert app.theme == "mlxbench-light"
        assert any("cannot save the theme" in n.message for n in app._notifications)
