"""The app's link to the engine: start-up order, failures, shutdown, embeddings requests."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fake_runner import FakeFactory, Script, build_app, make_catalog, ready, wait_for

from workbench.core.errors import WorkbenchError
from workbench.core.protocol import EmbedRequest, PlanRequest
from workbench.tui.app import MlxbenchApp
from workbench.tui.widgets.embed_explorer import EmbeddingsPane
from workbench.tui.widgets.memory_bar import MemoryBar

pytestmark = pytest.mark.anyio

MINILM = "demo/all-MiniLM-L6-v2"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))


class SlowFactory(FakeFactory):
    """A factory that takes its time (like importing MLX) until ``release`` is set."""

    def __init__(self) -> None:
        super().__init__(Script(), make_catalog())
        self.release = threading.Event()

    def __call__(self, callback):
        self.release.wait()
        return super().__call__(callback)


async def test_requests_made_while_the_engine_starts_are_not_lost(tmp_path: Path) -> None:
    factory = SlowFactory()
    app = MlxbenchApp(make_catalog(), factory, tmp_path / "sessions", theme="textual-dark")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert factory.runner is None
        assert app.main_screen.query_one(MemoryBar).status == "starting engine…"
        app.bridge.submit(PlanRequest(model_ids=(MINILM,)))
        factory.release.set()
        await ready(pilot)
        await wait_for(pilot, lambda: factory.received(PlanRequest), "the early request")
        assert any(r.model_ids == (MINILM,) for r in factory.received(PlanRequest))


async def test_an_engine_that_cannot_start_says_why(tmp_path: Path) -> None:
    def broken(callback):
        raise WorkbenchError("memory limit must be like 8GB, 512MB or 60% (got 'lots')")

    app = MlxbenchApp(make_catalog(), broken, tmp_path / "sessions", theme="textual-dark")
    async with app.run_test(size=(120, 40)) as pilot:
        bar = app.main_screen.query_one(MemoryBar)
        await wait_for(pilot, lambda: bar.status.startswith("engine failed"), "failure shown")
        assert "got 'lots'" in bar.status
        notice = list(app._notifications)[-1]
        assert notice.title == "Engine failed" and notice.severity == "error"


async def test_quitting_stops_the_runner_thread(tmp_path: Path) -> None:
    app, factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+q")
    assert factory.runner is not None
    assert factory.runner.stopped.wait(timeout=10), "the runner was never told to stop"


async def test_embeddings_requests_go_to_the_runner_and_back_to_the_pane(tmp_path: Path) -> None:
    app, factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        pane = app.main_screen.query_one(EmbeddingsPane)
        texts = ("cats purr", "dogs bark", "kittens")
        pane.post_message(EmbeddingsPane.ComputeRequested(MINILM, texts, None, pane))
        await wait_for(pilot, lambda: pane.texts == texts, "the matrix")
        request = factory.received(EmbedRequest)[0]
        assert (request.model_id, request.texts) == (MINILM, texts)
        assert "error" not in pane.message.lower()
