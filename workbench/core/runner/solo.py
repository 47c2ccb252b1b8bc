"""A lone chat turn on the single-request path that can still move into a batch.

A turn that starts alone (nobody else waiting) runs on the engine's own stream, at full
single-stream speed. Without more, every request arriving during its reply would wait for
its end: with four clients whose requests reach the server a few milliseconds apart, the
first would be decoded alone and the other three after it. So between tokens the turn looks
at the runner's queue head; when a request that could join a batch waits there, it leaves
the engine's stream — the engine keeps the conversation's cache, holding exactly the prompt
and the tokens so far — and the reply carries on in a batch with the newcomers
(``TextBatch.resume``), its client seeing one unbroken stream.

Only turns that name a conversation (the server always does) can move, and only when the
reply does not depend on a seeded sampler's position (greedy, or sampling without a seed):
a seeded reply stays the same as when served alone.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workbench.core.engines.base import ChatEngine
from workbench.core.engines.chat import TurnClock
from workbench.core.engines.text_batch import Carried
from workbench.core.protocol import ChatDone, ChatRequest, PromptProgress, TokenEvent
from workbench.core.runner.handlers import cancelled_chat
from workbench.core.types import TurnStats

if TYPE_CHECKING:
    from workbench.core.runner.batching import Batcher


@dataclass(frozen=True)
class Moved:
    """A reply begun alone that goes on in a batch."""

    request: ChatRequest
    prompt_tokens: int
    carried: Carried


def movable(request: ChatRequest) -> bool:
    sampling = request.sampling
    return bool(request.session_id) and (sampling.temperature == 0 or sampling.seed is None)


def serve_alone(
    batcher: Batcher, request: ChatRequest, engine: ChatEngine
) -> Moved | ChatDone | None:
    """Stream the turn as ``Handlers.chat`` does and return its ``ChatDone`` (for the
    caller to send once the lease is back), unless a joinable request arrives first: then
    stop between tokens and return what a batch needs to carry the reply on. ``None``:
    cancelled before it began (its ``ChatDone`` is sent)."""
    emit, model_id = batcher.emit, request.model_id
    if request.cancel.is_set():  # cancelled while the model was loading
        emit(cancelled_chat(request))
        return None
    batcher.work.make_cache_room(request, engine)
    stop, clock = threading.Event(), TurnClock()
    can_move, moving = movable(request), False
    pieces: list[str] = []
    stats: TurnStats | None = None

    def progress(done: int, total: int) -> None:
        if request.cancel.is_set():
            stop.set()
        emit(PromptProgress(request.request_id, done, total, engine.context_length))

    engine.prompt_progress = progress
    try:
        messages, sampling, session = request.messages, request.sampling, request.session_id
        for chunk in engine.stream_chat(messages, sampling, stop, session):
            if chunk.text:
                clock.tick()
                pieces.append(chunk.text)
                emit(TokenEvent(request.request_id, chunk.text, chunk.generated))
            if chunk.stats is not None:
                stats = chunk.stats
            elif request.cancel.is_set() or batcher.stopping():
                stop.set()
            elif can_move and not moving and batcher.joinable_waiting(model_id):
                moving = True
                stop.set()
    finally:
        engine.prompt_progress = None
        batcher.work.report_cache(model_id, engine)
    cancelled = request.cancel.is_set() or batcher.stopping()
    if moving and not cancelled and stats is not None and stats.finish_reason == "cancelled":
        carried = Carried("".join(pieces), stats.cached_prompt_tokens, clock)
        return Moved(request, stats.prompt_tokens, carried)
    if stats is None:
        stats = TurnStats(0, 0, 0.0, 0.0, 0.0, 0, "cancelled" if cancelled else "stop")
    return ChatDone(request.request_id, "".join(pieces), stats)
