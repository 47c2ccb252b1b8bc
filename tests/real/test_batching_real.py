"""Continuous batching on the real SmolLM2: chats for one model served together.

Requests are submitted before the runner's owner thread starts, so they wait in its queue
together, as concurrent clients' requests do; the batch is visible in the events (a second
reply streams before the first has ended). Each reply must equal the one the single-request
path gives (greedy, and seeded sampling), a cancel or a refused admission must touch only
its own request, a request submitted mid-reply must join it (a lone reply moves into a
batch between two tokens), and a request of another kind at the queue's head must keep its
place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from workbench.core.errors import InputError
from workbench.core.models.resolve import model_from_path
from workbench.core.pool.budget import Budget
from workbench.core.protocol import (
    ChatDone,
    ChatRequest,
    Event,
    LoadRequest,
    ModelLoaded,
    Request,
    RequestFailed,
    TokenEvent,
)
from workbench.core.runner.client import RunnerClient
from workbench.core.runner.handle import RequestHandle
from workbench.core.types import ChatMessage, ModelInfo, SamplingSettings

pytestmark = pytest.mark.real

MB = 1024**2
GREEDY = SamplingSettings(temperature=0.0, max_tokens=6)
SEEDED = SamplingSettings(temperature=0.8, top_p=0.9, max_tokens=6, seed=7)
QUESTIONS = (
    "What is the capital of France?",
    "Name a colour of the sky.",
    "Say hello in Spanish.",
)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def smol(smollm2_dir: Path) -> ModelInfo:
    return model_from_path(smollm2_dir)


def ask(
    smol: ModelInfo, index: int, sampling: SamplingSettings = GREEDY, session: str | None = None
) -> ChatRequest:
    messages = (ChatMessage("user", QUESTIONS[index]),)
    return ChatRequest(model_id=smol.id, messages=messages, sampling=sampling, session_id=session)


@pytest.fixture(scope="module")
def alone(smol: ModelInfo) -> dict[str, str]:
    """Each reply from the single-request path, one at a time (batching off)."""
    replies = {}
    requests = {f"q{i}": ask(smol, i) for i in range(len(QUESTIONS))}
    requests["seeded"] = ask(smol, 1, SEEDED)
    with RunnerClient(catalog=[smol], budget=Budget(1024 * MB, 2), batching=False) as client:
        for name, request in requests.items():
            reply = client.runner.submit(request).result(600)
            assert isinstance(reply, ChatDone)
            replies[name] = reply.text
    print("\nalone:", replies)
    return replies


def run_queued(
    smol: ModelInfo,
    requests: Sequence[Request],
    on_event: Callable[[RunnerClient, Event], None] | None = None,
    late: Sequence[RequestHandle] = (),
) -> tuple[list[Event], list[RequestHandle]]:
    """Queue ``requests`` before the owner thread starts, run them all (and the ``late``
    ones, which ``on_event`` submits and appends); every event, in order, and the handles."""
    events: list[Event] = []
    holder: list[RunnerClient] = []

    def record(event: Event) -> None:
        events.append(event)
        if on_event is not None:
            on_event(holder[0], event)

    client = RunnerClient(catalog=[smol], budget=Budget(1024 * MB, 2), on_event=record)
    holder.append(client)
    handles = [client.runner.submit(request) for request in requests]
    with client:
        for handle in handles:
            assert handle.wait(600)
        for handle in late:  # submitted meanwhile, from ``on_event``
            assert handle.wait(600)
    return events, handles


def first_index(events: list[Event], kind: type[Event], request: Request) -> int:
    return next(
        i
        for i, e in enumerate(events)
        if isinstance(e, kind) and e.request_id == request.request_id
    )


def done(handle: RequestHandle) -> ChatDone:
    final = handle.final
    assert isinstance(final, ChatDone), final
    return final


def test_concurrent_replies_equal_the_single_path_and_stream_together(
    smol: ModelInfo, alone: dict[str, str]
) -> None:
    requests = [ask(smol, 0), ask(smol, 1, SEEDED), ask(smol, 2)]
    events, handles = run_queued(smol, requests)
    replies = [done(h) for h in handles]
    print("\nbatched:", [r.text for r in replies])
    assert [r.text for r in replies] == [alone["q0"], alone["seeded"], alone["q2"]]
    assert "Paris" in replies[0].text
    # batched, not one after the other: the third streams before the first has ended
    assert first_index(events, TokenEvent, requests[2]) < first_index(events, ChatDone, requests[0])
    for reply in replies:
        assert reply.stats.generation_tokens >= 1
        assert reply.stats.finish_reason in ("stop", "length")
        assert reply.stats.prompt_tokens > 0


def test_cancelling_one_request_leaves_the_others_complete(
    smol: ModelInfo, alone: dict[str, str]
) -> None:
    requests = [ask(smol, 0), ask(smol, 1), ask(smol, 2)]

    def cancel_second(_client: RunnerClient, event: Event) -> None:
        if isinstance(event, TokenEvent) and event.request_id == requests[1].request_id:
            requests[1].cancel.set()

    _events, handles = run_queued(smol, requests, cancel_second)
    replies = [done(h) for h in handles]
    assert replies[1].stats.finish_reason == "cancelled"
    assert len(replies[1].text) < len(alone["q1"])
    assert [replies[0].text, replies[2].text] == [alone["q0"], alone["q2"]]


@pytest.mark.parametrize("running", [1, 2], ids=["mid-single-reply", "mid-batch"])
def test_a_request_submitted_mid_reply_joins_it(
    smol: ModelInfo, alone: dict[str, str], running: int
) -> None:
    """A lone reply (on the single-request path) moves into a batch with the newcomer;
    a running batch takes it in. Every reply is still the one it is alone."""
    requests = [ask(smol, i, session=f"s{i}") for i in range(running)]
    late = ask(smol, 2, session="late")
    late_handles: list[RequestHandle] = []

    def submit_late(client: RunnerClient, event: Event) -> None:
        first = event.request_id == requests[0].request_id
        if isinstance(event, TokenEvent) and first and not late_handles:
            late_handles.append(client.runner.submit(late))

    events, handles = run_queued(smol, requests, submit_late, late_handles)
    assert late_handles
    assert done(late_handles[0]).text == alone["q2"]
    assert [done(h).text for h in handles] == [alone["q0"], alone["q1"]][:running]
    assert first_index(events, TokenEvent, late) < first_index(events, ChatDone, requests[0])


def test_a_refused_admission_fails_only_its_request(smol: ModelInfo, alone: dict[str, str]) -> None:
    too_long = ChatMessage("user", "word " * 9000)  # beyond SmolLM2's 8,192-token context
    refused = ChatRequest(model_id=smol.id, messages=(too_long,), sampling=GREEDY)
    requests = [ask(smol, 0), refused, ask(smol, 2)]
    _events, handles = run_queued(smol, requests)
    failed = handles[1].final
    assert isinstance(failed, RequestFailed)
    assert isinstance(failed.exception, InputError)
    assert "8,192" in str(failed.exception)  # the model's context, named
    assert [done(handles[0]).text, done(handles[2]).text] == [alone["q0"], alone["q2"]]


def test_another_kind_of_request_keeps_its_place(smol: ModelInfo) -> None:
    first, second, after = ask(smol, 0), ask(smol, 1), ask(smol, 2)
    load = LoadRequest(model_id=smol.id)
    events, handles = run_queued(smol, [first, second, load, after])
    loaded = first_index(events, ModelLoaded, load)
    assert first_index(events, ChatDone, first) < loaded
    assert first_index(events, ChatDone, second) < loaded
    assert first_index(events, TokenEvent, after) > loaded
    assert isinstance(handles[3].final, ChatDone)
