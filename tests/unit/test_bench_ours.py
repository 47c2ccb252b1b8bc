"""Our side of the comparisons, against a scripted runner: what is sent, what is timed.

No MLX: the runner double answers on its own thread like the real one, so the plumbing
(request ids, the thread hand-over, failures, load bookkeeping) is what is tested.
"""

from __future__ import annotations

import queue
import threading

import pytest

from workbench.core.bench.ours import OurSide
from workbench.core.errors import WorkbenchError
from workbench.core.protocol import (
    ChatDone,
    ChatRequest,
    EmbeddingsReady,
    EmbedRequest,
    Event,
    LoadRequest,
    ModelEvicted,
    ModelLoaded,
    PoolChanged,
    PoolSnapshot,
    Request,
    RequestFailed,
    ShutdownRequest,
    TokenEvent,
    UnloadRequest,
)
from workbench.core.types import (
    ChatMessage,
    EmbeddingResult,
    Family,
    ModelInfo,
    ModelKind,
    SamplingSettings,
    TurnStats,
)

MODEL = ModelInfo("m/1", "one", "/m/1", ModelKind.TEXT, Family.LLAMA, "path")  # type: ignore[arg-type]


class ScriptedRunner:
    """Answers like the runner: an unrelated event first, then the request's own events."""

    def __init__(self, callback) -> None:
        self.callback = callback
        self.requests: queue.Queue[Request] = queue.Queue()
        self.seen: list[Request] = []
        self.fail_chat = False

    def submit(self, request: Request) -> None:
        self.requests.put(request)

    def stop(self) -> None:
        self.requests.put(ShutdownRequest())

    def run(self) -> None:
        while not isinstance(request := self.requests.get(), ShutdownRequest):
            self.seen.append(request)
            self.callback(PoolChanged(None, PoolSnapshot((), 0, 1, 0, 0)))
            self.answer(request, request.request_id)

    def answer(self, request: Request, rid: int) -> None:
        if isinstance(request, LoadRequest):
            self.callback(ModelLoaded(rid, request.model_id, 100, 0.1))
        elif isinstance(request, UnloadRequest):
            self.callback(ModelEvicted(rid, request.model_id, "unload"))
        elif isinstance(request, ChatRequest) and self.fail_chat:
            self.callback(RequestFailed(rid, "model not loaded", "WorkbenchError", "m/1"))
        elif isinstance(request, ChatRequest):
            self.callback(TokenEvent(rid + 1000, "not mine"))
            for piece in ("", "Hello", " world"):
                self.callback(TokenEvent(rid, piece))
            stats = TurnStats(12, 3, 0.1, 100.0, 10.0, 0, "length", cached_prompt_tokens=4)
            self.callback(ChatDone(rid, "Hello world", stats))
        elif isinstance(request, EmbedRequest):
            vectors = tuple((1.0, 0.0) for _ in request.texts)
            counts = tuple(3 for _ in request.texts)
            self.callback(EmbeddingsReady(rid, EmbeddingResult(vectors, counts, "e", 2)))


@pytest.fixture
def side():
    events: queue.Queue[Event] = queue.Queue()
    runner = ScriptedRunner(events.put)
    ours = OurSide(runner, events)
    ours._thread.start()
    yield ours, runner
    ours.close()
    assert not ours._thread.is_alive()


def test_chat_sends_the_request_and_reports_the_reply_and_its_stats(side) -> None:
    ours, runner = side
    messages = (ChatMessage("user", "hi"),)
    sampling = SamplingSettings(max_tokens=3)
    reply = ours.chat("m/1", messages, sampling, session_id="s1")
    sent = runner.seen[-1]
    assert isinstance(sent, ChatRequest)
    assert (sent.model_id, sent.messages, sent.sampling, sent.session_id) == (
        "m/1", messages, sampling, "s1",
    )  # fmt: skip
    assert (reply.text, reply.tokens, reply.finish_reason) == ("Hello world", 3, "length")
    assert (reply.prompt_tokens, reply.cached_prompt_tokens) == (12, 4)
    assert 0 < reply.first_text_s <= reply.end_s


def test_a_failed_request_raises_its_message(side) -> None:
    ours, runner = side
    runner.fail_chat = True
    with pytest.raises(WorkbenchError, match="model not loaded"):
        ours.chat("m/1", (ChatMessage("user", "hi"),), SamplingSettings())


def test_load_and_unload_are_tracked_and_not_repeated(side) -> None:
    ours, runner = side
    assert ours.load(MODEL) > 0
    assert ours.loaded == {"m/1"}
    assert ours.load(MODEL) == 0.0  # already loaded: nothing sent
    assert sum(isinstance(r, LoadRequest) for r in runner.seen) == 1
    ours.unload("m/1")
    assert ours.loaded == set()
    ours.unload("m/1")
    assert sum(isinstance(r, UnloadRequest) for r in runner.seen) == 1


def test_embed_returns_the_runner_result(side) -> None:
    ours, _runner = side
    seconds, result = ours.timed_embed("e", ["a", "b"])
    assert seconds > 0
    assert result.vectors == ((1.0, 0.0), (1.0, 0.0))


def test_the_runner_runs_on_its_own_thread(side) -> None:
    ours, _runner = side
    assert ours._thread is not threading.current_thread()
    assert ours._thread.name == "bench-runner"
