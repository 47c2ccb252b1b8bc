"""The app's link to the engine: start-up order, failures, shutdown, embeddings requests."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fake_runner import FakeFactory, Script, build_app, make_catalog, ready, wait_for

from workbench.core.errors import WorkbenchError
from workbench.core.protocol import ChatRequest, EmbedRequest, PlanRequest, Request
from workbench.tui.app import MlxbenchApp
from workbench.tui.chat.log import ChatLog
from workbench.tui.embeddings.explorer import EmbeddingsPane
from workbench.tui.pool.memory_bar import MemoryBar
from workbench.tui.pool.model_list import ModelList

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
        notices = [n for n in app._notifications if n.title == "Engine failed"]
        assert notices and notices[0].severity == "error"


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


def broken_factory(callback):
    raise WorkbenchError("cannot start MLX: libmlx.so not found")


async def send_chat(pilot, text: str) -> None:
    """Choose the first (chat) model and send ``text``, without waiting for the engine."""
    screen = pilot.app.main_screen
    catalog = screen.query_one(ModelList)
    catalog.focus()
    catalog.move_cursor(row=0)
    await pilot.press("enter")
    await pilot.pause()
    screen.chat.input.focus()
    screen.chat.input.insert(text)
    await pilot.press("ctrl+s")


def error_lines(app) -> list[str]:
    views = app.main_screen.query_one(ChatLog).messages
    return [v.text for v in views if v.has_class("-error")]


async def test_a_chat_sent_after_the_engine_failed_is_answered_not_hung(tmp_path: Path) -> None:
    app = MlxbenchApp(make_catalog(), broken_factory, tmp_path / "sessions", theme="textual-dark")
    async with app.run_test(size=(120, 40)) as pilot:
        bar = app.main_screen.query_one(MemoryBar)
        await wait_for(pilot, lambda: bar.status.startswith("engine failed"), "failure shown")
        await send_chat(pilot, "Still there?")
        await wait_for(pilot, lambda: app.controller.pending is None, "the chat to fail")
        await pilot.pause()
        assert any("libmlx.so not found" in line for line in error_lines(app))
        assert app.main_screen.chat.input.text == "Still there?"  # the draft is back
        await pilot.press("ctrl+n")
        await pilot.pause()
        assert all("being generated" not in n.message for n in app._notifications)


class FailingSlowFactory(SlowFactory):
    """Starts slowly, then fails: requests made meanwhile must still be answered."""

    def __call__(self, callback):
        self.release.wait()
        raise WorkbenchError("cannot start MLX: out of memory")


async def test_requests_queued_while_the_engine_starts_fail_when_it_cannot(
    tmp_path: Path,
) -> None:
    factory = FailingSlowFactory()
    app = MlxbenchApp(make_catalog(), factory, tmp_path / "sessions", theme="textual-dark")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await send_chat(pilot, "Early question")
        assert app.controller.pending is not None
        factory.release.set()
        await wait_for(pilot, lambda: app.controller.pending is None, "the early chat to fail")
        await pilot.pause()
        assert any("out of memory" in line for line in error_lines(app))
        assert app.main_screen.chat.input.text == "Early question"


class DyingRunner:
    """Takes requests, then its thread dies with one still unanswered."""

    def __init__(self) -> None:
        self.got: list[Request] = []
        self.die = threading.Event()

    def submit(self, request: Request) -> None:
        self.got.append(request)
        if isinstance(request, ChatRequest):
            self.die.set()

    def stop(self) -> None:
        self.die.set()

    def run(self) -> None:
        self.die.wait()
        raise RuntimeError("segfault-ish: runner thread crashed")


async def test_a_runner_thread_that_dies_fails_the_pending_chat(tmp_path: Path) -> None:
    runner = DyingRunner()
    app = MlxbenchApp(
        make_catalog(), lambda callback: runner, tmp_path / "sessions", theme="textual-dark"
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await send_chat(pilot, "Are you alive?")
        await wait_for(pilot, lambda: app.controller.pending is None, "the chat to fail")
        await pilot.pause()
        assert any("runner thread crashed" in line for line in error_lines(app))
        assert app.main_screen.chat.input.text == "Are you alive?"
