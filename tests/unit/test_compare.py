"""Comparing two models: the pool's plan read as both fit / evict between / cannot fit, and
both turns run through a real runner over fake engines (chat or raw completion)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from pool_fakes import MB, FakeEngine, FakeLoader, FakeMemory, fake_info

from workbench.core.compare import (
    BOTH_FIT,
    CANNOT_FIT,
    EVICT_BETWEEN,
    compare_messages,
    lane_mode,
    lane_request,
    run_compare,
)
from workbench.core.errors import InputError, InsufficientMemoryError
from workbench.core.pool.budget import Budget
from workbench.core.runner.client import RunnerClient
from workbench.core.runner.mlx_hooks import MlxHooks
from workbench.core.types import GenerationChunk, SamplingSettings, TurnStats

SIZES = {"a": 300 * MB, "b": 200 * MB, "c": 250 * MB}
SAMPLING = SamplingSettings(max_tokens=8)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path))
    return tmp_path


class CompletingEngine(FakeEngine):
    """A fake engine that also continues raw text (and remembers what it was given)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)  # type: ignore[arg-type]
        self.completed: list[str] = []
        self.chatted: list[str] = []

    def stream_chat(self, messages, sampling, cancel, session_id=None):  # type: ignore[no-untyped-def]
        self.chatted.append(messages[-1].content)
        return super().stream_chat(messages, sampling, cancel, session_id)

    def stream_completion(
        self, text: str, sampling: SamplingSettings, cancel: threading.Event
    ) -> Iterator[GenerationChunk]:
        self.completed.append(text)
        yield GenerationChunk(" continued")
        yield GenerationChunk("", stats=TurnStats(2, 1, 0.01, 9.0, 5.0, self.size, "stop"))


class Loader(FakeLoader):
    def __call__(self, info, progress=None):  # type: ignore[no-untyped-def]
        engine = super().__call__(info, progress)
        self.engines[info.id] = CompletingEngine(info, engine.size, engine.memory)
        return self.engines[info.id]


def client_for(limit: int, max_models: int = 3, base: str = "") -> tuple[RunnerClient, Loader]:
    memory = FakeMemory()
    loader = Loader(SIZES, memory)
    catalog = [
        replace(fake_info(m, size), tuning="base" if m == base else "instruct")
        for m, size in SIZES.items()
    ]
    hooks = MlxHooks(
        start=lambda: ("test BLAS", "cpu"),  # type: ignore[arg-type]
        active_memory=memory,
        release=lambda: None,
        finish=lambda: None,
    )
    client = RunnerClient(
        catalog=catalog, budget=Budget(limit, max_models), loader=loader, mlx_hooks=hooks
    )
    client.start()
    return client, loader


def infos(client: RunnerClient, *ids: str):  # type: ignore[no-untyped-def]
    return tuple(client.runner.pool.info(i) for i in ids)


def loaded(client: RunnerClient) -> list[str]:
    return [e.model_id for e in client.snapshot().entries]


def test_both_fit_runs_both_and_keeps_both_loaded() -> None:
    client, loader = client_for(600 * MB)
    seen: list[tuple[int, str]] = []
    with client:
        plan, results = run_compare(
            client,
            infos(client, "a", "b"),
            "hi",
            SAMPLING,
            on_text=lambda i, t: seen.append((i, t)),
        )
        after = loaded(client)
    assert plan.outcome == BOTH_FIT
    assert plan.line.startswith("both fit: A (300.0 MB) + B (200.0 MB) = 500.0 MB")
    assert [r.text for r in results] == ["Hello from A", "Hello from B"]
    assert [r.size_bytes for r in results] == [300 * MB, 200 * MB]
    assert [lane for lane, _ in seen] == [0, 0, 0, 1, 1, 1]  # A streams, then B
    assert after == ["a", "b"]
    assert loader.engines["a"].chatted == ["hi"] and loader.engines["b"].chatted == ["hi"]


def test_one_model_budget_evicts_a_between_the_turns() -> None:
    client, loader = client_for(600 * MB, max_models=1)
    with client:
        plan, results = run_compare(client, infos(client, "a", "b"), "hi", SAMPLING)
        after = loaded(client)
    assert plan.outcome == EVICT_BETWEEN
    assert "A (300.0 MB) is evicted before B (200.0 MB) loads" in plan.line
    assert [r.text for r in results] == ["Hello from A", "Hello from B"]
    assert after == ["b"]
    assert loader.engines["a"].closed and dict(loader.loads) == {"a": 1, "b": 1}


def test_plan_names_other_models_it_evicts() -> None:
    client, _loader = client_for(600 * MB)
    with client:
        client.load("c")
        plan, _ = run_compare(client, infos(client, "a", "b"), "hi", SAMPLING)
        after = loaded(client)
    assert plan.outcome == BOTH_FIT
    assert plan.line.endswith("; to make room it evicts C")
    assert after == ["a", "b"]


def test_cannot_fit_loads_nothing_and_says_why() -> None:
    client, loader = client_for(500 * MB)
    with client:
        client.load("c", pin=True)
        plans = []
        with pytest.raises(InsufficientMemoryError) as raised:
            run_compare(client, infos(client, "a", "b"), "hi", SAMPLING, on_plan=plans.append)
        after = loaded(client)
    assert [p.outcome for p in plans] == [CANNOT_FIT]
    assert str(raised.value).startswith("cannot compare: A does not fit")
    assert "pinned: C" in str(raised.value)
    assert after == ["c"] and "a" not in loader.loads and "b" not in loader.loads


def test_auto_mode_completes_for_a_base_model_and_chats_with_the_other() -> None:
    client, loader = client_for(600 * MB, base="b")
    with client:
        _plan, results = run_compare(client, infos(client, "a", "b"), "Once upon", SAMPLING)
    assert [r.mode for r in results] == ["chat", "complete"]
    assert results[1].text == " continued"
    assert loader.engines["b"].completed == ["Once upon"] and not loader.engines["b"].chatted
    assert loader.engines["a"].chatted == ["Once upon"]


def test_same_model_twice_and_unknown_mode_are_refused() -> None:
    client, loader = client_for(600 * MB)
    with client, pytest.raises(InputError, match="two different models"):
        run_compare(client, infos(client, "a", "a"), "hi", SAMPLING)
    assert not loader.loads
    with pytest.raises(InputError, match="mode must be one of"):
        lane_mode(fake_info("a", 1), "poem")


def test_lane_request_shapes() -> None:
    base = replace(fake_info("a", 1), tuning="base")
    raw = lane_request(base, "1, 2, 3,", SAMPLING, "auto", system="ignored")
    assert raw.raw and [m.content for m in raw.messages] == ["1, 2, 3,"]
    chat = lane_request(base, "hi", SAMPLING, "chat", system="Be brief.")
    assert not chat.raw and [m.role for m in chat.messages] == ["system", "user"]


def test_compare_turn_is_a_question_and_two_laned_replies() -> None:
    stats = TurnStats(2, 1, 0.01, 9.0, 5.0, 1, "stop")
    from workbench.core.compare import LaneResult

    results = (LaneResult("a", "chat", "x", stats, 1), LaneResult("b", "complete", "y", stats, 2))
    question, first, second = compare_messages("q", results, "now")
    assert (question.role, question.lane) == ("user", None)
    assert (first.model_id, first.lane, first.content) == ("a", "a", "x")
    assert (second.model_id, second.lane, second.stats) == ("b", "b", stats)


def test_raw_requests_are_checked_before_any_load() -> None:
    from workbench.core.protocol import ChatRequest
    from workbench.core.types import ChatMessage

    client, loader = client_for(600 * MB)
    with client:
        for message, error in [
            (ChatMessage("user", "a cat", images=("/x.png",)), "cannot see images"),
            (ChatMessage("user", ""), "the prompt is empty"),
        ]:
            request = ChatRequest(model_id="a", messages=(message,), raw=True)
            with pytest.raises(Exception, match=error):
                list(client.submit_chat(request))
    assert not loader.loads
