"""The pool pane driven by keys, against the fake runner: start-up, load, pin, evict, plan."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fake_runner import Script, build_app, ready, wait_for
from textual.widgets import TabbedContent

from workbench.core.protocol import LoadRequest, PlanRequest
from workbench.tui.pool.load_activity import LoadActivity
from workbench.tui.pool.loaded_models import LoadedModels
from workbench.tui.pool.memory_bar import MemoryBar
from workbench.tui.pool.model_list import ModelList
from workbench.tui.pool.plan_view import PlanView

pytestmark = pytest.mark.anyio

SMOL, QWEN, LLAVA, MINILM = (
    "demo/SmolLM2-135M-Instruct",
    "demo/Qwen2.5-1.5B-Instruct",
    "demo/llava-tiny",
    "demo/all-MiniLM-L6-v2",
)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))


def memory_line(app) -> str:
    return app.main_screen.query_one(MemoryBar).render().plain.splitlines()[1]


def plan_text(app) -> str:
    return str(app.main_screen.query_one(PlanView).content)


def loaded_rows(app) -> list[list[str]]:
    table = app.main_screen.query_one(LoadedModels)
    return [[str(c) for c in table.get_row(key)] for key in table.model_ids]


async def highlight(pilot, model_id: str) -> None:
    """Focus the catalog and move its cursor to ``model_id``."""
    table = pilot.app.main_screen.query_one(ModelList)
    table.focus()
    table.move_cursor(row=[m.id for m in table.models].index(model_id))
    await pilot.pause()


async def test_first_frame_says_starting_engine_and_the_runner_is_built_off_thread(
    tmp_path: Path,
) -> None:
    gate = threading.Event()
    app, factory = build_app(tmp_path, Script(start_gate=gate))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: factory.runner is not None, "runner built")
        assert factory.thread is not threading.main_thread()
        bar = app.main_screen.query_one(MemoryBar)
        assert bar.render().plain.splitlines()[1] == "starting engine…"
        gate.set()
        await ready(pilot)
        assert memory_line(app) == "0 B / 1.00 GB · pinned 0 B · 0/3 models"
        assert app.main_screen.pool.border_subtitle == "engine: cpu · fake BLAS"


async def test_load_pin_unpin_evict_with_keys(tmp_path: Path) -> None:
    app, _factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await highlight(pilot, SMOL)
        await pilot.press("l")
        await wait_for(pilot, lambda: loaded_rows(app), "SmolLM2 loaded")
        assert loaded_rows(app) == [["", "SmolLM2-135M-Instruct", "92.0 MB", "98.0 MB", "1.5 s"]]
        assert memory_line(app) == "92.0 MB / 1.00 GB · pinned 0 B · 1/3 models"
        catalog = app.main_screen.query_one(ModelList)
        assert str(catalog.get_cell(SMOL, "status")) == "loaded"

        await pilot.press("p")
        await wait_for(pilot, lambda: app.main_screen.pool.is_pinned(SMOL), "pinned")
        assert loaded_rows(app)[0][0] == "📌"
        assert memory_line(app) == "92.0 MB / 1.00 GB · pinned 92.0 MB · 1/3 models"
        assert str(catalog.get_cell(SMOL, "status")) == "pinned"

        await pilot.press("p")
        await wait_for(pilot, lambda: not app.main_screen.pool.is_pinned(SMOL), "unpinned")
        await pilot.press("e")
        await wait_for(pilot, lambda: not loaded_rows(app), "evicted")
        assert memory_line(app) == "0 B / 1.00 GB · pinned 0 B · 0/3 models"


async def test_pin_on_an_unloaded_model_loads_it_pinned(tmp_path: Path) -> None:
    app, factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await highlight(pilot, LLAVA)
        await pilot.press("p")
        await wait_for(pilot, lambda: app.main_screen.pool.is_pinned(LLAVA), "pinned load")
        last = factory.received(LoadRequest)[-1]
        assert (last.model_id, last.pin) == (LLAVA, True)


async def test_highlighting_shows_the_plan_fits_evicts_or_cannot_fit(tmp_path: Path) -> None:
    app, factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await highlight(pilot, LLAVA)
        await wait_for(pilot, lambda: "fits" in plan_text(app), "a plan")
        assert plan_text(app).splitlines() == [
            "llava-tiny · vision · llama · demo",
            "fits (needs 60.0 MB; 1.00 GB free now) · load ≈ 1.5 s",
        ]
        await pilot.press("l")
        await highlight(pilot, SMOL)
        await pilot.press("l")
        await wait_for(pilot, lambda: len(loaded_rows(app)) == 2, "two loaded")

        await highlight(pilot, QWEN)
        await wait_for(pilot, lambda: "evict" in plan_text(app), "eviction plan")
        assert (
            plan_text(app)
            .splitlines()[1]
            .startswith("fits after evicting llava-tiny (needs 900.0 MB; ")
        )
        assert factory.received(PlanRequest)[-1].model_ids == (QWEN,)

        await highlight(pilot, SMOL)
        await pilot.press("p")
        await highlight(pilot, LLAVA)
        await pilot.press("p")
        await wait_for(pilot, lambda: app.main_screen.pool.is_pinned(LLAVA), "both pinned")
        await highlight(pilot, QWEN)
        await wait_for(pilot, lambda: "cannot fit" in plan_text(app), "refusal")
        assert "pinned: llava-tiny, SmolLM2-135M-Instruct" in plan_text(app)
        assert app.main_screen.query_one(PlanView).has_class("-cannot-fit")


async def test_a_load_in_progress_shows_its_step_and_estimate(tmp_path: Path) -> None:
    gate = threading.Event()
    app, _ = build_app(tmp_path, Script(load_gate=gate))
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await highlight(pilot, QWEN)
        await pilot.press("l")
        activity = app.main_screen.query_one(LoadActivity)
        await wait_for(pilot, lambda: "reading weights" in str(activity.content), "progress")
        assert str(activity.content) == "Loading Qwen2.5-1.5B-Instruct (≈ 1.5 s): reading weights…"
        assert activity.display
        gate.set()
        await wait_for(pilot, lambda: app.main_screen.pool.is_loaded(QWEN), "loaded")
        assert not activity.display


async def test_a_failed_load_is_reported_and_nothing_is_left_loading(tmp_path: Path) -> None:
    script = Script(load_error={QWEN: ("InsufficientMemoryError", "insufficient memory: Qwen")})
    app, _factory = build_app(tmp_path, script)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await highlight(pilot, QWEN)
        await pilot.press("l")
        await wait_for(pilot, lambda: app._notifications, "a notification")
        notice = list(app._notifications)[-1]
        assert notice.message == "insufficient memory: Qwen"
        assert notice.title == "Insufficient memory" and notice.severity == "error"
        assert app.main_screen.query_one(LoadActivity).loading == ()
        assert loaded_rows(app) == []


async def test_unusable_models_are_explained_and_never_requested(tmp_path: Path) -> None:
    app, factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await highlight(pilot, "local/broken")
        assert plan_text(app).splitlines()[1] == "cannot be used: no config.json in /models/broken"
        await pilot.press("l")
        await pilot.pause()
        assert not [r for r in factory.received(LoadRequest) if r.model_id == "local/broken"]
        assert "cannot be used" in list(app._notifications)[-1].message


async def test_enter_on_an_embeddings_model_opens_the_embeddings_tab(tmp_path: Path) -> None:
    app, _factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await highlight(pilot, MINILM)
        await pilot.press("enter")
        await pilot.pause()
        assert app.main_screen.query_one(TabbedContent).active == "tab-embeddings"
        assert app.controller.model_id is None  # never becomes the chat model


async def test_enter_on_a_text_model_chooses_it_for_chat_and_loads_it(tmp_path: Path) -> None:
    app, _factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await highlight(pilot, SMOL)
        await pilot.press("enter")
        await wait_for(pilot, lambda: loaded_rows(app), "loaded for chat")
        assert app.controller.model_id == SMOL
        assert app.focused is app.main_screen.chat.input


async def test_f5_switches_tabs_and_focus_follows(tmp_path: Path) -> None:
    app, _ = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        app.main_screen.chat.input.focus()
        await pilot.press("f5")
        await pilot.pause()
        tabs = app.main_screen.query_one(TabbedContent)
        assert tabs.active == "tab-embeddings"
        assert app.focused is not None and app.focused.id == "embed-model"
        pool = app.main_screen.pool
        assert pool.display  # the pane stays as the user left it; the explorer fits beside it
        await pilot.press("ctrl+b")
        await pilot.pause()
        assert not pool.display
        await pilot.press("f5")
        await pilot.pause()
        assert not pool.display  # switching tabs keeps the choice
        await pilot.press("f2")  # jumps to the model list, showing the pane again
        await pilot.pause()
        assert pool.display and app.focused is app.main_screen.query_one(ModelList)
