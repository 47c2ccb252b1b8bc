"""The workbench attached to a real server: ``RemoteRunner`` answers like a local runner.

First the runner interface itself (what the TUI bridge calls: ``run`` / ``submit`` /
``stop`` and one callback), then the whole app built by ``mlxbench --connect URL`` and
driven with Pilot: pick SmolLM2, ask, get "Paris", see the pool pane follow the server.
"""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import pytest
from serve_inputs import png_bytes

from workbench.cli import build_parser
from workbench.commands.app import build_app
from workbench.core.protocol import (
    ChatDone,
    ChatRequest,
    EmbeddingsReady,
    EmbedRequest,
    Event,
    LoadRequest,
    ModelLoaded,
    PinRequest,
    PlanReady,
    PlanRequest,
    PoolChanged,
    Request,
    RequestFailed,
    RunnerReady,
    TokenEvent,
)
from workbench.core.types import ChatMessage, SamplingSettings
from workbench.serve.remote import RemoteRunner, fetch_catalog
from workbench.tui.chat.log import ChatLog
from workbench.tui.pool.model_list import ModelList

pytestmark = pytest.mark.real

MINILM = "demo/all-MiniLM-L6-v2"
FINAL = (ModelLoaded, PoolChanged, PlanReady, ChatDone, EmbeddingsReady, RequestFailed)


class Recorder:
    """Collects a runner's events; ``answer`` submits and waits for a request's final one."""

    def __init__(self, url: str) -> None:
        self.events: queue.Queue[Event] = queue.Queue()
        self.seen: list[Event] = []
        self.runner = RemoteRunner(self.events.put, url)
        self.thread = threading.Thread(target=self.runner.run, daemon=True)

    def wait_for(self, match, limit_s: float = 300) -> Event:
        while True:
            event = self.events.get(timeout=limit_s)
            self.seen.append(event)
            if match(event):
                return event

    def answer(self, request: Request) -> Event:
        self.runner.submit(request)
        return self.wait_for(lambda e: e.request_id == request.request_id and isinstance(e, FINAL))


def test_remote_runner_answers_every_request_like_a_local_one(server, tmp_path: Path) -> None:
    recorder = Recorder(server.url)
    recorder.thread.start()
    ready = recorder.wait_for(lambda e: isinstance(e, RunnerReady))
    assert ready.device.startswith("cpu at 127.0.0.1:")
    recorder.wait_for(lambda e: isinstance(e, PoolChanged))

    plan = recorder.answer(PlanRequest(model_ids=(MINILM,)))
    assert isinstance(plan, PlanReady) and plan.plans[0].fits

    load = LoadRequest(model_id=MINILM, pin=True)
    loaded = recorder.answer(load)
    assert isinstance(loaded, ModelLoaded) and loaded.model_id == MINILM
    assert loaded.measured_bytes > 80_000_000

    embedded = recorder.answer(EmbedRequest(model_id=MINILM, texts=("a cat", "a dog")))
    assert isinstance(embedded, EmbeddingsReady)
    assert len(embedded.result.vectors) == 2 and embedded.result.dimensions == 384
    assert all(count > 2 for count in embedded.result.token_counts)

    picture = tmp_path / "red.png"
    picture.write_bytes(png_bytes())
    vlm = next(m for m in fetch_catalog(server.url) if m.name == "tiny-llava")
    chat = ChatRequest(
        model_id=vlm.id,
        messages=(ChatMessage("user", "What colour is this?", images=(str(picture),)),),
        sampling=SamplingSettings(max_tokens=5),
        session_id="remote-test",
    )
    done = recorder.answer(chat)
    assert isinstance(done, ChatDone), done
    streamed = [e.text for e in recorder.seen if isinstance(e, TokenEvent)]
    assert "".join(streamed) == done.text and done.stats.generation_tokens > 0

    unpinned = recorder.answer(PinRequest(model_id=MINILM, pinned=False))
    assert isinstance(unpinned, PoolChanged)
    assert not next(e for e in unpinned.snapshot.entries if e.model_id == MINILM).pinned

    failed = recorder.answer(EmbedRequest(model_id="no-such-model", texts=("x",)))
    assert isinstance(failed, RequestFailed) and failed.error_type == "ModelNotFoundError"

    # our load is answered once, with our request id: the stream's copy is not repeated
    loads = [e for e in recorder.seen if isinstance(e, ModelLoaded) and e.model_id == MINILM]
    assert [e.request_id for e in loads] == [load.request_id]

    recorder.runner.stop()
    recorder.thread.join(timeout=10)
    assert not recorder.thread.is_alive()


async def wait_until(pilot, condition, what: str, limit_s: float = 300) -> None:
    for _ in range(int(limit_s / 0.1)):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"gave up waiting for {what}")


@pytest.mark.anyio
async def test_the_app_attached_to_a_server_chats_and_follows_its_pool(
    server, tmp_path: Path
) -> None:
    args = build_parser().parse_args(
        ["--connect", server.url, "--sessions-dir", str(tmp_path / "sessions")]
    )
    app = build_app(args)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.main_screen
        await wait_until(pilot, lambda: screen.snapshot is not None, "the server's pool")
        models = screen.query_one(ModelList)
        assert {m.name for m in models.models} >= {"SmolLM2-135M-Instruct", "tiny-llava"}
        models.focus()
        row = next(i for i, m in enumerate(models.models) if m.name == "SmolLM2-135M-Instruct")
        models.move_cursor(row=row)
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.focused is screen.chat.input, "the chat input")
        app.controller.update_settings("", SamplingSettings(temperature=0.0, max_tokens=12))
        screen.chat.input.insert("What is the capital of France?")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.controller.session.messages, "the question")
        await wait_until(pilot, lambda: app.controller.pending is None, "the reply")
        await pilot.pause()
        views = screen.query_one(ChatLog).messages
        assert [v.label for v in views] == ["You", "SmolLM2-135M-Instruct"]
        assert "Paris" in views[1].text
        stats = app.controller.session.messages[-1].stats
        assert stats is not None and stats.generation_tokens > 0
        await wait_until(
            pilot,
            lambda: any(
                e.name == "SmolLM2-135M-Instruct" and e.cache_bytes for e in screen.snapshot.entries
            ),
            "the pool pane to show the turn's prompt cache",
        )
