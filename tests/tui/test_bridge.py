"""The bridge: every request kind has a final event; each message reaches the right screen
once; a dead bridge answers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from fake_runner import stats

from workbench.core import protocol
from workbench.core.protocol import (
    BudgetRequest,
    ChatDone,
    ChatRequest,
    EmbedRequest,
    Event,
    LoadRequest,
    LoadStarted,
    ModelLoaded,
    PlanRequest,
    PoolChanged,
    PoolSnapshot,
    PromptProgress,
    Request,
    RequestFailed,
    ShutdownRequest,
    TokenEvent,
)
from workbench.core.runner.handle import RequestHandle, Sink
from workbench.tui.bridge import RunnerBridge, StartWatch
from workbench.tui.messages import (
    LoadBegan,
    LoadFinished,
    PoolUpdated,
    ReplyDone,
    ReplyTokens,
    RequestFailure,
    RunnerMessage,
)


def all_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | all_subclasses(sub)
    return found


class PostOnlyApp:
    """Just enough of an App for the bridge: it records the failures posted to it."""

    def __init__(self) -> None:
        self.posted: list[Event] = []
        self.requests: list[Request | None] = []

    def post_message(self, message: RunnerMessage) -> bool:
        if isinstance(message, RequestFailure):
            self.posted.append(message.failure)
            self.requests.append(message.request)
        return True


def test_every_request_kind_has_a_final_event_or_is_declared_unanswered() -> None:
    kinds = {k for k in all_subclasses(Request) if k.__module__ == protocol.__name__}
    assert kinds  # the protocol defines request kinds
    missing = {k for k in kinds if k.final_event is None} - {ShutdownRequest}
    assert not missing, f"no final event for {sorted(k.__name__ for k in missing)}"


def test_a_budget_request_ends_with_the_pool_change_it_causes() -> None:
    request = BudgetRequest(memory_limit_bytes=1 << 30, max_models=2)
    snapshot = PoolSnapshot((), 1 << 30, 2, 0, 0)
    assert request.is_final(PoolChanged(request.request_id, snapshot))


def test_a_dead_bridge_fails_waiting_requests_and_answers_new_ones_at_once() -> None:
    app = PostOnlyApp()
    bridge = RunnerBridge(app, lambda callback: None)  # type: ignore[arg-type]
    early = bridge.submit(ChatRequest(model_id="demo/m", messages=()))  # runner not built yet
    assert app.posted == []
    bridge.fail_all("the engine failed: no MLX")
    failed = app.posted[0]
    assert isinstance(failed, RequestFailed) and failed.request_id == early.request_id
    assert (failed.message, failed.error_type, failed.model_id) == (
        "the engine failed: no MLX", "WorkbenchError", "demo/m",
    )  # fmt: skip
    assert app.requests[0] is early and bridge.in_flight(early.request_id) is None
    later = bridge.submit(PlanRequest(model_ids=("demo/m",)))
    assert [e.request_id for e in app.posted] == [early.request_id, later.request_id]
    assert isinstance(app.posted[1], RequestFailed)
    bridge.fail_all("again")  # a second failure does not answer anything twice
    assert len(app.posted) == 2


class Screen:
    """Just enough of a screen for the bridge: it records the messages posted to it."""

    def __init__(self) -> None:
        self.messages: list[RunnerMessage] = []

    def post_message(self, message: RunnerMessage) -> bool:
        self.messages.append(message)
        return True


class SinkRunner:
    """Pushes each request's events to its handle's sink after the callback, as the runner does."""

    def __init__(self, callback: Callable[[Event], None]) -> None:
        self.callback = callback
        self.handles: dict[int, RequestHandle] = {}

    def submit(self, request: Request, sink: Sink | None = None) -> RequestHandle:
        handle = self.handles[request.request_id] = RequestHandle(request, sink)
        return handle

    def emit(self, event: Event) -> None:
        self.callback(event)
        handle = self.handles.get(event.request_id or -1)
        if handle is not None:
            handle.deliver(event)

    def run(self) -> None:
        """Nothing to serve: the test emits the events itself."""

    def stop(self) -> None:
        """Nothing to stop."""


class CallbackRunner(SinkRunner):
    """Reports through its one callback only (like a pool on another machine)."""

    def submit(self, request: Request) -> None:  # type: ignore[override]
        self.handles.clear()

    def emit(self, event: Event) -> None:
        self.callback(event)


def connected(kind: type[SinkRunner]) -> tuple[RunnerBridge, Screen, list[SinkRunner]]:
    pool = Screen()
    built: list[SinkRunner] = []

    def factory(callback: Callable[[Event], None]) -> SinkRunner:
        built.append(kind(callback))
        return built[0]

    bridge = RunnerBridge(pool, factory)  # type: ignore[arg-type]
    bridge._serve()  # what the worker thread does: build the runner, run it
    return bridge, pool, built


@pytest.mark.parametrize("kind", [SinkRunner, CallbackRunner])
def test_a_request_answers_the_screen_that_asked_and_pool_events_reach_the_pool_screen(
    kind: type[SinkRunner],
) -> None:
    bridge, pool, [runner] = connected(kind)
    other = Screen()
    chat = bridge.submit(ChatRequest(model_id="demo/m", messages=()), to=other)  # type: ignore[arg-type]
    snapshot = PoolSnapshot((), 1 << 30, 2, 0, 0)
    rid = chat.request_id
    for event in (
        LoadStarted(rid, "demo/m"),
        ModelLoaded(rid, "demo/m", 1 << 20, 0.5),
        PoolChanged(rid, snapshot),
        TokenEvent(rid, "Hel", 1),
        TokenEvent(rid, "lo", 2),
        ChatDone(rid, "Hello", stats(2, "stop")),
        PoolChanged(None, snapshot),
    ):
        runner.emit(event)
    pool_kinds = [type(m) for m in pool.messages]
    assert pool_kinds == [LoadBegan, LoadFinished, PoolUpdated, PoolUpdated]
    asked = [type(m) for m in other.messages]
    assert asked[:3] == [LoadBegan, LoadFinished, PoolUpdated]
    assert asked[-1] is ReplyDone and set(asked[3:-1]) == {ReplyTokens}
    taken = [m.take() for m in other.messages if isinstance(m, ReplyTokens)]
    assert "".join(text for text, _ in taken) == "Hello" and taken[0] == ("Hello", 2)
    assert all(m.request is chat for m in other.messages)
    assert bridge.asked_by(other) == []  # ended: nothing more goes there

    load = bridge.submit(LoadRequest(model_id="demo/n"))  # the pool's screen asks
    runner.emit(LoadStarted(load.request_id, "demo/n"))
    assert [type(m) for m in pool.messages[4:]] == [LoadBegan]  # once, not twice


@pytest.mark.anyio
@pytest.mark.parametrize("kind", [SinkRunner, CallbackRunner])
async def test_began_waits_for_the_prompts_first_slice_and_gives_up_after_its_time(
    kind: type[SinkRunner],
) -> None:
    bridge, _pool, [runner] = connected(kind)
    silent = bridge.submit(ChatRequest(model_id="demo/m", messages=()), to=Screen())  # type: ignore[arg-type]
    assert await bridge.began(silent, within=0.05) is False  # nothing came back yet

    chat = bridge.submit(ChatRequest(model_id="demo/m", messages=()), to=Screen())  # type: ignore[arg-type]
    runner.emit(PromptProgress(chat.request_id, 0, 21, 8192))  # before any work: not a start
    assert await bridge.began(chat, within=0.05) is False
    read = PromptProgress(chat.request_id, 20, 21, 8192)  # the first slice is read
    emitter = threading.Timer(0.01, runner.emit, (read,))  # from another thread, as the runner
    emitter.start()
    started = time.perf_counter()
    assert await bridge.began(chat, within=5.0) is True
    assert time.perf_counter() - started < 4.0  # woken by the event, not by the time running out
    emitter.join()
    assert await bridge.began(chat, within=0.0) is True  # and it stays begun


def test_a_chat_starts_with_its_prompts_first_slice_its_first_text_or_its_answer() -> None:
    chat = ChatRequest(model_id="demo/m", messages=())  # type: ignore[arg-type]
    empty = PoolSnapshot((), 1 << 30, 4, 0, 0)

    def first_start(*events: protocol.Event) -> int | None:
        watch = StartWatch(chat)
        return next((i for i, e in enumerate(events) if watch.started_by(e)), None)

    at_zero, read = (PromptProgress(chat.request_id, n, 21) for n in (0, 20))
    lease = PoolChanged(chat.request_id, empty)
    assert first_start(lease, at_zero, read) == 2  # the lease and the report at 0 come first
    assert first_start(lease, TokenEvent(chat.request_id, "Hi", 1)) == 1  # no reports
    cancelled_while_queued = ChatDone(chat.request_id, "", stats(0, "cancelled"))
    assert first_start(cancelled_while_queued) == 0
    embed = EmbedRequest(model_id="demo/e", texts=("a",))
    assert StartWatch(embed).started_by(PoolChanged(embed.request_id, empty))  # no prompt
