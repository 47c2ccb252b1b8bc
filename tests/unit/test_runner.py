"""The runner and its blocking client, with fake engines: events, errors, order, cancel."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from pool_fakes import MB, FakeEngine, FakeLoader, FakeMemory, fake_info

from workbench.core.errors import (
    InputError,
    InsufficientMemoryError,
    WorkbenchError,
    WrongModelKindError,
)
from workbench.core.pool.budget import Budget
from workbench.core.protocol import (
    ChatDone,
    ChatRequest,
    EmbedRequest,
    Event,
    LoadRequest,
    LoadStarted,
    ModelEvicted,
    ModelLoaded,
    PinRequest,
    PlanReady,
    PlanRequest,
    PoolChanged,
    RequestFailed,
    RunnerReady,
    TokenEvent,
)
from workbench.core.runner.client import RunnerClient
from workbench.core.runner.loop import Runner
from workbench.core.runner.mlx_hooks import MlxHooks
from workbench.core.types import ChatMessage, ModelKind, SamplingSettings

SIZES = {"chat": 300 * MB, "vision": 300 * MB, "emb": 100 * MB, "other": 300 * MB}
HELLO = (ChatMessage("user", "hello"),)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path))
    return tmp_path


class Harness:
    """A runner on its own thread over fake models, recording every event."""

    def __init__(self, limit: int = 700 * MB, start: object = None) -> None:
        self.memory = FakeMemory()
        self.loader = FakeLoader(SIZES, self.memory)
        self.events: list[Event] = []
        self.arrived = threading.Condition()
        catalog = [
            fake_info("chat", SIZES["chat"]),
            fake_info("vision", SIZES["vision"], ModelKind.VISION),
            fake_info("emb", SIZES["emb"], ModelKind.EMBEDDINGS),
            fake_info("other", SIZES["other"]),
        ]
        self.finished_on: list[str] = []
        hooks = MlxHooks(
            start=start or (lambda: ("test BLAS", "cpu")),  # type: ignore[arg-type]
            active_memory=self.memory,
            release=lambda: None,
            finish=lambda: self.finished_on.append(threading.current_thread().name),
        )
        self.client = RunnerClient(
            catalog=catalog,
            budget=Budget(limit, 3),
            loader=self.loader,
            mlx_hooks=hooks,
            on_event=self._record,
        )
        self.runner = self.client.runner

    def _record(self, event: Event) -> None:
        with self.arrived:
            self.events.append(event)
            self.arrived.notify_all()

    def wait_for(self, predicate, timeout: float = 5.0) -> Event:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for event in self.events:
                    if predicate(event):
                        return event
                left = deadline - time.monotonic()
                assert left > 0, f"no such event among {self.events}"
                self.arrived.wait(left)

    def of(self, request_id: int) -> list[Event]:
        return [e for e in self.events if e.request_id == request_id]


@pytest.fixture
def harness() -> Harness:
    h = Harness()
    h.client.start()
    yield h
    h.client.close()


def test_ready_comes_first_with_blas_and_device(harness: Harness) -> None:
    first = harness.events[0]
    assert isinstance(first, RunnerReady)
    assert (first.blas, first.device) == ("test BLAS", "cpu")
    assert isinstance(harness.events[1], PoolChanged)


def test_chat_streams_tokens_then_done_and_returns_the_lease(harness: Harness) -> None:
    stream = harness.client.chat_stream("chat", HELLO)
    pieces = list(stream)
    assert "".join(pieces) == "Hello from CHAT"
    assert stream.done is not None and stream.done.text == "Hello from CHAT"
    assert stream.done.stats.finish_reason == "stop"
    events = harness.of(stream.request.request_id)
    kinds = [type(e) for e in events]
    assert kinds.index(LoadStarted) < kinds.index(ModelLoaded) < kinds.index(TokenEvent)
    assert kinds[-1] is ChatDone
    assert [e.text for e in events if isinstance(e, TokenEvent)] == pieces
    loaded = next(e for e in events if isinstance(e, ModelLoaded))
    assert loaded.measured_bytes == SIZES["chat"]
    (entry,) = harness.client.snapshot().entries
    assert entry.leases == 0 and entry.measured_bytes == SIZES["chat"]


def test_wrong_kinds_fail_clearly_before_loading(harness: Harness) -> None:
    with pytest.raises(WrongModelKindError, match="EMB is an embedding model and cannot chat"):
        harness.client.chat("emb", HELLO)
    with pytest.raises(WrongModelKindError, match="CHAT is a text model, not an embedding"):
        harness.client.embed("chat", ["hi"])
    picture = (ChatMessage("user", "what is this?", images=("/tmp/cat.png",)),)
    with pytest.raises(WrongModelKindError) as info:
        harness.client.chat("chat", picture)
    assert str(info.value) == ("CHAT is a text model and cannot see images; choose a vision model")
    assert sum(harness.loader.loads.values()) == 0


def test_vision_model_takes_images(harness: Harness) -> None:
    picture = (ChatMessage("user", "what is this?", images=("/tmp/cat.png",)),)
    assert harness.client.chat("vision", picture).text == "Hello from VISION"


def test_empty_embedding_input_fails_before_loading(harness: Harness) -> None:
    with pytest.raises(InputError, match="no texts"):
        harness.client.embed("emb", [])
    with pytest.raises(InputError, match="text 2 is empty"):
        harness.client.embed("emb", ["fine", "  "])
    assert harness.loader.loads["emb"] == 0
    result = harness.client.embed("emb", ["a b", "c"])
    assert result.vectors == ((1.0, 0.0), (0.0, 1.0)) and result.token_counts == (4, 3)


def test_unexpected_errors_are_reported_and_the_loop_goes_on(harness: Harness) -> None:
    def broken(info, progress):  # type: ignore[no-untyped-def]
        raise RuntimeError("boom\nsecond line")

    harness.runner._loader = broken
    request = LoadRequest(model_id="chat")
    harness.runner.submit(request)
    failed = harness.wait_for(
        lambda e: isinstance(e, RequestFailed) and e.request_id == request.request_id
    )
    assert failed.message == "RuntimeError: boom" and failed.error_type == "RuntimeError"
    assert failed.model_id == "chat"
    harness.runner._loader = harness.loader
    assert harness.client.load("chat").model_id == "chat"
    with pytest.raises(WorkbenchError, match="no model with id 'nope'"):
        harness.client.load("nope")


def test_cancel_mid_stream_ends_with_done_cancelled(harness: Harness) -> None:
    harness.client.load("chat")
    engine = harness.loader.engines["chat"]
    engine.reply = "one two three four"
    engine.step.clear()
    stream = harness.client.chat_stream("chat", HELLO)
    assert engine.started.wait(5)
    stream.cancel()
    engine.step.set()
    text = "".join(stream)
    assert stream.done is not None and stream.done.stats.finish_reason == "cancelled"
    assert text == stream.done.text and "four" not in text


def test_request_cancelled_before_it_starts_still_gets_chat_done(harness: Harness) -> None:
    request = ChatRequest(model_id="chat", messages=HELLO)
    request.cancel.set()
    harness.runner.submit(request)
    done = harness.wait_for(lambda e: isinstance(e, ChatDone))
    assert done.request_id == request.request_id and done.stats.finish_reason == "cancelled"
    assert harness.loader.loads["chat"] == 0


def test_leaving_a_stream_early_cancels_it(harness: Harness) -> None:
    harness.client.load("chat")
    engine = harness.loader.engines["chat"]
    engine.reply, engine.free_tokens = "a b c d e f g", 1
    engine.step.clear()
    stream = harness.client.chat_stream("chat", HELLO)
    for _piece in stream:
        break
    assert stream.done is not None and stream.done.stats.finish_reason == "cancelled"
    assert stream.done.text == "a"
    engine.step.set()
    assert harness.client.chat("chat", HELLO).stats.finish_reason == "stop"


def test_plan_and_pin_are_answered_while_a_generation_runs(harness: Harness) -> None:
    harness.client.load("chat")
    engine = harness.loader.engines["chat"]
    engine.step.clear()
    stream = harness.client.chat_stream("chat", HELLO)
    assert engine.started.wait(5)
    (plan,) = harness.client.plan(["other"])  # would block forever if queued
    assert plan.fits and plan.evict == ()
    snapshot = harness.client.pin("chat")
    assert snapshot.entries[0].pinned and snapshot.entries[0].leases == 1
    engine.step.set()
    assert "".join(stream) == "Hello from CHAT"


def test_a_load_needing_a_generating_models_memory_waits_its_turn(harness: Harness) -> None:
    """Runner semantics: requests run in order, so the load runs after the generation,
    then evicts the (no longer leased) model; the generation is intact."""
    for model_id in ("chat", "emb", "other"):
        harness.client.load(model_id)
    harness.client.pin("emb")
    harness.client.pin("other")
    engine = harness.loader.engines["chat"]
    engine.reply = "the whole reply arrives intact"
    engine.step.clear()
    stream = harness.client.chat_stream("chat", HELLO)
    assert engine.started.wait(5)
    later = LoadRequest(model_id="vision")  # only chat's memory could make room
    harness.runner.submit(later)
    time.sleep(0.05)
    assert not any(isinstance(e, ModelLoaded) for e in harness.of(later.request_id))
    engine.step.set()
    assert "".join(stream) == "the whole reply arrives intact"
    harness.wait_for(lambda e: isinstance(e, ModelLoaded) and e.request_id == later.request_id)
    evicted = [e for e in harness.of(later.request_id) if isinstance(e, ModelEvicted)]
    assert [(e.model_id, e.reason) for e in evicted] == [("chat", "lru")]


def test_pin_of_unloaded_model_fails_immediately(harness: Harness) -> None:
    request = PinRequest(model_id="chat", pinned=True)
    harness.runner.submit(request)
    (failed,) = [e for e in harness.of(request.request_id) if isinstance(e, RequestFailed)]
    assert "CHAT is not loaded" in failed.message


def test_budget_change_evicts_and_reports(harness: Harness) -> None:
    harness.client.load("chat")
    harness.client.load("emb")
    snapshot = harness.client.set_budget(Budget(150 * MB, 3))
    assert [e.model_id for e in snapshot.entries] == ["emb"]
    assert any(isinstance(e, ModelEvicted) and e.reason == "budget" for e in harness.events)
    assert harness.memory() == SIZES["emb"]


def test_unpin_over_budget_is_rebalanced_on_the_owner_thread(harness: Harness) -> None:
    harness.client.load("chat", pin=True)
    snapshot = harness.client.set_budget(Budget(100 * MB, 3))
    assert snapshot.over_budget is not None and "pinned: CHAT" in snapshot.over_budget
    owner: list[str] = []
    engine = harness.loader.engines["chat"]
    close = engine.close
    engine.close = lambda: (owner.append(threading.current_thread().name), close())
    harness.client.pin("chat", pinned=False)
    harness.wait_for(lambda e: isinstance(e, ModelEvicted) and e.model_id == "chat")
    assert owner == ["mlx-owner"]
    assert harness.client.snapshot().entries == ()


def test_many_threads_loading_one_model_through_the_runner_load_it_once(harness: Harness) -> None:
    barrier = threading.Barrier(8)
    results: list[ModelLoaded] = []

    def ask() -> None:
        barrier.wait()
        results.append(harness.client.load("chat"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert len(results) == 8 and harness.loader.loads["chat"] == 1


def test_stop_cancels_the_generation_and_fails_what_is_queued() -> None:
    h = Harness()
    h.client.start()
    h.client.load("chat")
    engine = h.loader.engines["chat"]
    engine.step.clear()
    stream = h.client.chat_stream("chat", HELLO)
    assert engine.started.wait(5)
    queued = EmbedRequest(model_id="emb", texts=("x",))
    h.runner.submit(queued)
    h.runner.stop()
    engine.step.set()
    list(stream)
    assert stream.done is not None and stream.done.stats.finish_reason == "cancelled"
    h.client.close()
    (failed,) = [e for e in h.of(queued.request_id) if isinstance(e, RequestFailed)]
    assert failed.error_type == "CancelledError"
    assert h.memory() == 0 and engine.closed
    assert h.finished_on == ["mlx-owner"]  # MLX's streams end with the thread that used them
    late = PlanRequest(model_ids=("chat",))
    h.runner.submit(late)
    assert isinstance(h.of(late.request_id)[-1], RequestFailed)
    assert not any(isinstance(e, PlanReady) for e in h.of(late.request_id))


def test_mlx_that_fails_to_start_is_one_clear_error() -> None:
    def broken() -> tuple[str, str]:
        raise OSError("libmlx.so: cannot open shared object file")

    h = Harness(start=broken)
    with pytest.raises(WorkbenchError, match=r"cannot start MLX: libmlx\.so"):
        h.client.start()
    h.client.close()


def test_runner_accepts_the_sampling_settings_it_is_given(harness: Harness) -> None:
    done = harness.client.chat("chat", HELLO, sampling=SamplingSettings(max_tokens=2))
    assert done.text == "Hello from"


def test_runner_constructor_matches_what_the_app_passes() -> None:
    from workbench.core.config import Config

    runner = Runner(lambda e: None, catalog=[], budget=Budget(MB, 1), config=Config())
    assert runner.pool.snapshot().entries == ()


def test_a_runner_stopped_before_it_runs_never_starts_mlx() -> None:
    started: list[bool] = []
    hooks = MlxHooks(
        start=lambda: (started.append(True), ("b", "cpu"))[1],
        active_memory=lambda: 0,
        release=lambda: None,
    )
    events: list[Event] = []
    runner = Runner(events.append, catalog=[], budget=Budget(MB, 1), mlx_hooks=hooks)
    queued = PlanRequest(model_ids=())
    runner._queue.put(queued)
    runner.stop()
    runner.run()
    assert started == []
    assert [type(e) for e in events] == [RequestFailed]


def test_a_chat_reports_its_cache_and_the_pool_counts_it(harness: Harness) -> None:
    harness.client.load("chat")
    engine = harness.loader.engines["chat"]
    engine.cache_per_turn = 40 * MB
    harness.client.chat("chat", HELLO)
    harness.client.chat("chat", HELLO)
    snapshot = harness.client.snapshot()
    (entry,) = snapshot.entries
    assert entry.cache_bytes == engine.prompt_cache_bytes() == 80 * MB
    assert snapshot.cache_bytes == 80 * MB
    assert snapshot.used_bytes == harness.memory() == SIZES["chat"] + 80 * MB
    changes = [e.snapshot for e in harness.events if isinstance(e, PoolChanged)]
    assert any(s.entries and s.entries[0].cache_bytes == 40 * MB for s in changes)


def test_a_cache_that_outgrows_the_budget_costs_other_caches_then_lru_models() -> None:
    """800 MB: emb (100), other (300, its cache 50), chat (300) whose cache grows 180."""
    harness = Harness(limit=800 * MB)
    with harness.client as client:
        for model_id in ("emb", "other", "chat"):
            client.load(model_id)
        other = harness.loader.engines["other"]
        other.cache_per_turn = 50 * MB
        client.chat("other", HELLO)  # 750 MB
        dropped_on: list[str] = []
        drop = other.drop_prompt_caches
        other.drop_prompt_caches = lambda: (dropped_on.append(threading.current_thread().name),
                                            drop())  # fmt: skip
        harness.loader.engines["chat"].cache_per_turn = 180 * MB
        assert client.chat("chat", HELLO).text == "Hello from CHAT"  # 930 MB
        client.load("chat")  # queued behind the turn's rebalance: the pool has settled
        evicted = [(e.model_id, e.reason) for e in harness.events if isinstance(e, ModelEvicted)]
        assert evicted == [("emb", "budget")]  # not enough alone: other's cache went too
        assert dropped_on == ["mlx-owner"]  # never the caller's thread
        snapshot = client.snapshot()
        assert {e.model_id: e.cache_bytes for e in snapshot.entries} == {
            "other": 0,
            "chat": 180 * MB,
        }
        assert snapshot.used_bytes == harness.memory() == 780 * MB
        assert snapshot.over_budget is None


def test_a_load_makes_room_by_dropping_an_idle_cache_first(harness: Harness) -> None:
    harness.client.load("chat")
    harness.loader.engines["chat"].cache_per_turn = 200 * MB
    harness.client.chat("chat", HELLO)  # 500 of 700 MB
    (plan,) = harness.client.plan(["other"])
    assert (plan.fits, plan.evict, plan.drop_caches) == (True, (), ("chat",))
    harness.client.load("other")
    assert not any(isinstance(e, ModelEvicted) for e in harness.events)
    assert harness.loader.engines["chat"].cache_drops == 1
    assert harness.memory() == harness.client.snapshot().used_bytes == 600 * MB


# ---------------------------------------------------------------- room before a turn

PER_TOKEN = 200 * 1024  # 256 tokens (one allocation block) = 50 MB


def sized(engine: FakeEngine, prompt_tokens: int = 10, held: int = 0) -> None:
    """Let a fake say its cache's bytes per token, its prompt's length and what its
    session's cache holds, as the text engine does."""
    engine.kv_bytes_per_token = lambda: PER_TOKEN  # type: ignore[attr-defined]
    engine.prompt_tokens = lambda messages: list(range(prompt_tokens))  # type: ignore[attr-defined]
    engine.session_cache_bytes = lambda session_id: held  # type: ignore[attr-defined]


def test_a_turn_drops_another_models_idle_cache_before_it_generates(harness: Harness) -> None:
    harness.client.load("other")
    other = harness.loader.engines["other"]
    other.cache_per_turn = 100 * MB
    harness.client.chat("other", HELLO)  # 400 of 700 MB
    harness.client.load("chat")  # 700 of 700 MB
    chat = harness.loader.engines["chat"]
    sized(chat)
    drops_at_start: list[int] = []
    stream = chat.stream_chat
    chat.stream_chat = lambda *a, **k: (drops_at_start.append(other.cache_drops),  # type: ignore[method-assign]
                                        stream(*a, **k))[1]  # fmt: skip
    done = harness.client.chat("chat", HELLO, sampling=SamplingSettings(max_tokens=200))
    assert done.text == "Hello from CHAT"
    assert drops_at_start == [1]  # the room was made before the reply began
    assert not any(isinstance(e, ModelEvicted) for e in harness.events)
    assert harness.memory() == harness.client.snapshot().used_bytes == 600 * MB


def test_a_turn_that_cannot_fit_is_refused_before_generating_and_nothing_changes() -> None:
    harness = Harness(limit=700 * MB)
    with harness.client as client:
        client.load("other", pin=True)
        client.load("chat")  # 600 of 700 MB, other pinned
        chat = harness.loader.engines["chat"]
        sized(chat)
        before = client.snapshot()
        with pytest.raises(InsufficientMemoryError) as info:
            client.chat("chat", HELLO, sampling=SamplingSettings(max_tokens=600))
        assert str(info.value) == (
            "this reply could need 150.0 MB of prompt cache but only 100.0 MB of the budget "
            "can be freed (pinned: OTHER (300.0 MB); in use: CHAT (300.0 MB)); "
            "lower max tokens or free memory"
        )
        assert not chat.started.is_set()  # nothing was generated
        assert not any(isinstance(e, (ModelEvicted, TokenEvent)) for e in harness.events)

        def held(snapshot):  # type: ignore[no-untyped-def]
            return [(e.model_id, e.pinned, e.leases, e.bytes, e.cache_bytes) for e in snapshot]

        after = client.snapshot()
        assert held(after.entries) == held(before.entries)
        assert after.used_bytes == before.used_bytes == harness.memory() == 600 * MB
        assert client.chat("chat", HELLO, sampling=SamplingSettings(max_tokens=50)).text


def test_a_turn_with_room_proceeds_and_counts_what_its_session_holds(harness: Harness) -> None:
    harness.client.load("chat")
    chat = harness.loader.engines["chat"]
    sized(chat, prompt_tokens=600, held=150 * MB)  # 768 tokens: nothing more to find
    harness.client.load("other")  # 600 of 700 MB
    done = harness.client.chat("chat", HELLO, sampling=SamplingSettings(max_tokens=100))
    assert done.text == "Hello from CHAT" and chat.started.is_set()
    assert not any(isinstance(e, ModelEvicted) for e in harness.events)


def test_no_full_garbage_collection_stalls_a_streaming_reply() -> None:
    import gc

    from collections_held import restored_after_the_quiet_period

    from workbench.core.runner.collector import HELD_FULL_THRESHOLD

    # the tests before this one streamed replies less than QUIET_S apart: one long hold,
    # whose full collection MAX_HELD_S lets through mid-reply; this reply starts its own
    assert restored_after_the_quiet_period()
    before = gc.get_threshold()
    h = Harness()
    thresholds: list[int] = []
    record = h._record

    def on_event(event: Event) -> None:  # on the owner thread, as each token is sent
        if isinstance(event, TokenEvent):
            thresholds.append(gc.get_threshold()[2])
        record(event)

    h.client._on_event = on_event
    with h.client:
        text = "".join(h.client.chat_stream("chat", HELLO))
        assert text == "Hello from CHAT"
        assert thresholds and set(thresholds) == {HELD_FULL_THRESHOLD}
        h.client.unload("chat")  # served on the owner thread after the chat's handler
        assert gc.get_threshold()[2] == HELD_FULL_THRESHOLD  # the reply's end drawn first
        assert restored_after_the_quiet_period()
        assert gc.get_threshold() == before  # back once no reply has streamed for a while
