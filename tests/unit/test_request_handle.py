"""A request is one handle: its events in order, its final event ends it, failures raise the
original exception, a sink gets the events pushed, cancel stops the work; and the runner
serves each request kind through its dispatch table."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pool_fakes import MB, FakeLoader, FakeMemory, fake_info

from workbench.core.errors import InsufficientMemoryError, WorkbenchError, WrongModelKindError
from workbench.core.pool.budget import Budget
from workbench.core.protocol import (
    BudgetRequest,
    ChatDone,
    ChatRequest,
    EmbeddingsReady,
    EmbedRequest,
    Event,
    LoadRequest,
    ModelEvicted,
    ModelLoaded,
    PinRequest,
    PlanReady,
    PlanRequest,
    PoolChanged,
    Request,
    RequestFailed,
    ShutdownRequest,
    TokenEvent,
    UnloadRequest,
    is_final,
)
from workbench.core.runner.client import ChatStream
from workbench.core.runner.handle import RequestHandle
from workbench.core.runner.loop import Runner
from workbench.core.runner.mlx_hooks import MlxHooks
from workbench.core.types import ChatMessage, ModelKind, TurnStats

HELLO = (ChatMessage("user", "hello"),)
STATS = TurnStats(1, 1, 0.0, 0.0, 0.0, 0, "stop")


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path))
    return tmp_path


# --------------------------------------------------------------------------- the handle alone


def chat_request() -> ChatRequest:
    return ChatRequest(model_id="m", messages=HELLO)


def test_events_come_in_order_and_the_final_one_ends_the_handle() -> None:
    request = chat_request()
    handle = RequestHandle(request)
    rid = request.request_id
    sent = [TokenEvent(rid, "a"), TokenEvent(rid, "b"), ChatDone(rid, "ab", STATS)]
    for event in sent:
        assert handle.deliver(event)
    assert handle.finished and handle.final == sent[-1]
    assert not handle.deliver(TokenEvent(rid, "late"))  # nothing after the final event
    assert list(handle.events()) == sent
    with pytest.raises(RuntimeError, match="already ended"):
        handle.next()


def test_result_skips_to_the_final_event() -> None:
    request = chat_request()
    handle = RequestHandle(request)
    rid = request.request_id
    handle.deliver(TokenEvent(rid, "a"))
    handle.deliver(ChatDone(rid, "a", STATS))
    assert handle.result() == ChatDone(rid, "a", STATS)


def test_a_failure_raises_the_very_exception_it_carries() -> None:
    request = chat_request()
    handle = RequestHandle(request)
    error = InsufficientMemoryError("needs 2 GB")
    handle.deliver(RequestFailed.of(request.request_id, error, model_id="m"))
    with pytest.raises(InsufficientMemoryError) as raised:
        handle.result()
    assert raised.value is error


def test_a_failure_without_an_object_raises_a_workbench_error_with_its_message() -> None:
    request = chat_request()
    handle = RequestHandle(request)
    handle.deliver(RequestFailed(request.request_id, "disconnected from the server"))
    with pytest.raises(WorkbenchError, match="disconnected from the server"):
        handle.result()


def test_next_times_out_without_an_event() -> None:
    handle = RequestHandle(chat_request())
    with pytest.raises(TimeoutError):
        handle.next(timeout=0.01)
    with pytest.raises(TimeoutError):
        handle.result(timeout=0.01)


def test_a_sink_gets_every_event_pushed_and_the_handle_queues_none() -> None:
    request = chat_request()
    pushed: list[Event] = []
    handle = RequestHandle(request, sink=pushed.append)
    rid = request.request_id
    handle.deliver(TokenEvent(rid, "a"))
    handle.deliver(ChatDone(rid, "a", STATS))
    handle.deliver(TokenEvent(rid, "late"))
    assert pushed == [TokenEvent(rid, "a"), ChatDone(rid, "a", STATS)]
    assert handle.wait(0) and handle.result() == ChatDone(rid, "a", STATS)
    with pytest.raises(RuntimeError, match="sink"):
        handle.next()


def test_deliveries_from_many_threads_stop_at_the_final_event() -> None:
    request = PlanRequest(model_ids=())
    handle = RequestHandle(request)
    final = PlanReady(request.request_id, ())

    def send() -> None:
        for _ in range(200):
            handle.deliver(PoolChanged(request.request_id, None))  # type: ignore[arg-type]
        handle.deliver(final)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events = list(handle.events(timeout=1))
    assert events[-1] is final and events.count(final) == 1


class EndMarkedLate(threading.Event):
    """The runner's thread marks the end only once ``release`` is set: the moment between
    queueing the final event and marking the end, held open."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def set(self) -> None:
        self.release.wait(5)
        super().set()


class QueueReader:
    """The one thing ``ChatStream`` asks of its client."""

    def next_event(self, handle: RequestHandle) -> Event:
        return handle.next(timeout=5)


def test_a_reply_read_to_its_end_before_the_end_is_marked_is_not_cancelled() -> None:
    request = chat_request()
    handle = RequestHandle(request)
    handle._done = end = EndMarkedLate()
    done = ChatDone(request.request_id, "hi", STATS)

    def runner_side() -> None:
        handle.deliver(TokenEvent(request.request_id, "hi"))
        handle.deliver(done)

    runner = threading.Thread(target=runner_side)
    runner.start()
    try:
        stream = ChatStream(QueueReader(), handle)  # type: ignore[arg-type]
        assert list(stream) == ["hi"]
        assert stream.done is done and handle.finished
        assert not request.cancel.is_set()  # a finished reply is not cancelled
    finally:
        end.release.set()
        runner.join()


def test_cancel_sets_the_requests_cancel_event() -> None:
    request = chat_request()
    RequestHandle(request).cancel()
    assert request.cancel.is_set()


# --------------------------------------------------------------------------- the protocol


def test_each_request_kind_declares_its_final_event_once() -> None:
    finals = {
        LoadRequest: ModelLoaded,
        UnloadRequest: ModelEvicted,
        PinRequest: PoolChanged,
        BudgetRequest: PoolChanged,
        PlanRequest: PlanReady,
        ChatRequest: ChatDone,
        EmbedRequest: EmbeddingsReady,
    }
    for kind, final in finals.items():
        assert kind.final_event is final
    assert ShutdownRequest.final_event is None
    request = EmbedRequest(model_id="m", texts=("x",))
    assert request.is_final(RequestFailed(request.request_id, "no"))
    assert not request.is_final(ModelLoaded(request.request_id, "m", 1, 0.0))
    assert is_final(request, EmbeddingsReady(request.request_id, None))  # type: ignore[arg-type]


def test_a_failure_compares_by_its_words_not_its_object() -> None:
    one = RequestFailed.of(7, WrongModelKindError("no"), model_id="m")
    two = RequestFailed.of(7, WrongModelKindError("no"), model_id="m")
    assert one == two and one.error is not two.error
    assert (one.message, one.error_type) == ("no", "WrongModelKindError")


# --------------------------------------------------------------------------- through a runner


class Running:
    """A runner over fake models on its own thread; records its callback's events."""

    def __init__(self) -> None:
        memory = FakeMemory()
        self.seen: list[Event] = []
        self.loader = FakeLoader({"chat": 100 * MB, "emb": 50 * MB}, memory)
        catalog = [fake_info("chat", 100 * MB), fake_info("emb", 50 * MB, ModelKind.EMBEDDINGS)]
        hooks = MlxHooks(start=lambda: ("b", "cpu"), active_memory=memory, release=lambda: None)
        self.runner = Runner(
            self.seen.append,
            catalog=catalog,
            budget=Budget(500 * MB, 3),
            loader=self.loader,
            mlx_hooks=hooks,
        )
        self.thread = threading.Thread(target=self.runner.run, name="mlx-owner")


@pytest.fixture
def running() -> Iterator[Running]:
    r = Running()
    r.thread.start()
    yield r
    r.runner.stop()
    r.thread.join(5)


def test_a_chat_handle_gets_its_events_and_the_callback_sees_them_too(running: Running) -> None:
    handle = running.runner.submit(ChatRequest(model_id="chat", messages=HELLO))
    events = list(handle.events(timeout=5))
    kinds = [type(e) for e in events]
    assert kinds[-1] is ChatDone and TokenEvent in kinds and ModelLoaded in kinds
    assert "".join(e.text for e in events if isinstance(e, TokenEvent)) == "Hello from CHAT"
    mine = [e for e in running.seen if e.request_id == handle.request.request_id]
    assert mine == events  # the callback had them all, in the same order, before the handle


def test_a_handle_raises_the_runners_exception_class(running: Running) -> None:
    handle = running.runner.submit(EmbedRequest(model_id="chat", texts=("x",)))
    with pytest.raises(WrongModelKindError, match="not an embedding model"):
        handle.result(timeout=5)


def test_a_bug_arrives_as_the_exception_object_that_was_raised(running: Running) -> None:
    boom = ZeroDivisionError("division by zero")

    def broken(info, progress):  # type: ignore[no-untyped-def]
        raise boom

    running.runner._loader = broken
    handle = running.runner.submit(LoadRequest(model_id="chat"))
    with pytest.raises(ZeroDivisionError) as raised:
        handle.result(timeout=5)
    assert raised.value is boom
    failed = handle.final
    assert isinstance(failed, RequestFailed)
    assert failed.message.startswith("ZeroDivisionError: division by zero")


def test_sink_mode_pushes_a_requests_events_from_the_owner_thread(running: Running) -> None:
    pushed: list[tuple[str, Event]] = []
    sink = lambda e: pushed.append((threading.current_thread().name, e))  # noqa: E731
    handle = running.runner.submit(EmbedRequest(model_id="emb", texts=("a", "b")), sink=sink)
    assert handle.wait(5)
    assert isinstance(pushed[-1][1], EmbeddingsReady) and handle.final is pushed[-1][1]
    assert {name for name, _ in pushed} == {"mlx-owner"}


def test_plan_is_answered_on_the_callers_thread_before_submit_returns(running: Running) -> None:
    handle = running.runner.submit(PlanRequest(model_ids=("chat",)))
    assert handle.finished
    (plan,) = handle.result().plans  # type: ignore[attr-defined]
    assert plan.model_id == "chat" and plan.fits


def test_cancelling_a_handle_ends_the_chat_with_done_cancelled(running: Running) -> None:
    running.runner.submit(LoadRequest(model_id="chat")).result(timeout=5)
    engine = running.loader.engines["chat"]
    engine.reply = "one two three four"
    engine.step.clear()
    handle = running.runner.submit(ChatRequest(model_id="chat", messages=HELLO))
    assert engine.started.wait(5)
    handle.cancel()
    engine.step.set()
    done = handle.result(timeout=5)
    assert isinstance(done, ChatDone) and done.stats.finish_reason == "cancelled"
    assert "four" not in done.text


def test_stopping_fails_every_request_still_waiting(running: Running) -> None:
    running.runner.submit(LoadRequest(model_id="chat")).result(timeout=5)
    engine = running.loader.engines["chat"]
    engine.step.clear()
    chat = running.runner.submit(ChatRequest(model_id="chat", messages=HELLO))
    assert engine.started.wait(5)
    queued = running.runner.submit(EmbedRequest(model_id="emb", texts=("x",)))
    running.runner.stop()
    engine.step.set()
    assert chat.result(timeout=5).stats.finish_reason == "cancelled"  # type: ignore[attr-defined]
    with pytest.raises(WorkbenchError, match="runner has stopped"):
        queued.result(timeout=5)


# --------------------------------------------------------------------------- the dispatch table


def test_every_request_kind_has_a_row_in_the_dispatch_table() -> None:
    runner = Runner(lambda e: None, catalog=[], budget=Budget(MB, 1))
    kinds = {LoadRequest, UnloadRequest, PinRequest, PlanRequest, ChatRequest, EmbedRequest}
    assert kinds | {BudgetRequest} <= set(runner.handlers)


def test_the_table_routes_a_request_to_its_handler(running: Running) -> None:
    served: list[Request] = []
    running.runner.handlers[UnloadRequest] = served.append
    request = UnloadRequest(model_id="chat")
    running.runner.submit(request)
    # the owner thread serves in order: once a later request is answered, this one was too
    running.runner.submit(LoadRequest(model_id="emb")).result(timeout=5)
    assert served == [request]


def test_a_kind_without_a_row_fails_clearly(running: Running) -> None:
    class Unknown(Request):
        final_event = PoolChanged

    handle = running.runner.submit(Unknown())
    with pytest.raises(WorkbenchError, match="unknown request Unknown"):
        handle.result(timeout=5)


def test_a_sink_that_fails_on_the_final_event_still_ends_the_request() -> None:
    request = chat_request()

    def broken(event: Event) -> None:
        raise RuntimeError("the screen is gone")

    handle = RequestHandle(request, sink=broken)
    with pytest.raises(RuntimeError):
        handle.deliver(ChatDone(request.request_id, "", STATS))
    assert handle.finished and handle.wait(0)
