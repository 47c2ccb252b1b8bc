"""Which queued requests a batch may take: only text chat turns for its model, from the
queue's head, so every other request keeps its place in line (no MLX needed)."""

from __future__ import annotations

import queue
import threading

from workbench.core.protocol import ChatRequest, EmbedRequest, Request
from workbench.core.runner.batching import Batcher, joinable
from workbench.core.types import ChatMessage


def chat(model: str = "m", **options: object) -> ChatRequest:
    return ChatRequest(model_id=model, messages=(ChatMessage("user", "hi"),), **options)  # type: ignore[arg-type]


def batcher(requests: queue.Queue[Request | None], window_s: float = 0.0) -> Batcher:
    return Batcher(
        None,  # type: ignore[arg-type]  # the queue logic needs no pool
        lambda _event: None,
        None,  # type: ignore[arg-type]
        requests,
        fail=lambda _request, _exc: None,
        stopping=lambda: False,
        window_s=window_s,
    )


def test_only_text_chat_turns_for_the_same_model_can_join() -> None:
    assert joinable(chat(), "m")
    assert not joinable(chat("other"), "m")
    assert not joinable(chat(raw=True), "m")  # raw completions are served alone
    with_image = ChatRequest(model_id="m", messages=(ChatMessage("user", "?", ("a.png",)),))
    assert not joinable(with_image, "m")
    assert not joinable(EmbedRequest(model_id="m", texts=("x",)), "m")


def test_joiners_are_taken_from_the_head_only_so_order_is_kept() -> None:
    requests: queue.Queue[Request | None] = queue.Queue()
    first, embed, behind = chat(), EmbedRequest(model_id="m", texts=("x",)), chat()
    for request in (first, embed, behind):
        requests.put(request)
    gather = batcher(requests)
    assert gather.take_joinable("m") is first
    assert gather.take_joinable("m") is None  # the embed at the head ends admissions
    assert requests.get_nowait() is embed and requests.get_nowait() is behind


def test_a_request_put_back_is_served_next() -> None:
    requests: queue.Queue[Request | None] = queue.Queue()
    later, deferred = chat(), chat()
    requests.put(later)
    batcher(requests).put_back(deferred)
    assert requests.get_nowait() is deferred and requests.get_nowait() is later


def test_a_lone_turn_waits_within_the_window_for_company() -> None:
    requests: queue.Queue[Request | None] = queue.Queue()
    assert not batcher(requests).joinable_waiting("m")  # nobody waiting: served alone
    arrived = threading.Event()

    def arrive() -> None:
        arrived.wait()
        requests.put(chat())

    thread = threading.Thread(target=arrive)
    thread.start()
    arrived.set()
    assert batcher(requests)._company("m", 30.0)  # it came within the window
    thread.join()
    assert batcher(requests).joinable_waiting("m")
    requests.get_nowait()
    requests.put(chat("other"))
    assert not batcher(requests)._company("m", 30.0)  # another model's turn: alone
