"""What the runner says, as typed Textual messages posted straight to the screen concerned.

The bridge turns each runner event into one of these on the runner's thread and posts it
(``post_message`` is thread-safe and never waits for a frame). Two audiences:

- **the screen that asked**: every event of a request it submitted (``ReplyTokens``,
  ``PromptRead``, ``ReplyDone``, ``LoadPlanReady``, ``EmbeddingsDone``, ``RequestFailure``,
  and the pool messages its request caused);
- **the pool's screen** (the workbench): every pool message, whoever asked
  (``EngineReady``, ``EngineFailed``, ``EngineStopped``, ``PoolUpdated``, ``LoadBegan``,
  ``LoadProgressed``, ``LoadFinished``, ``LoadFailed``, ``ModelDropped``).

A screen never gets the same message twice. Each class is handled with ``@on(Class)``; no
handler needs to ask what kind of event it was given. Widget-level messages (a key in the
pool pane, a send in the chat pane) stay nested in their widgets, the Textual way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.message import Message

from workbench.core.protocol import (
    ChatDone,
    ChatRequest,
    EmbeddingsReady,
    EmbedRequest,
    Event,
    LoadPlan,
    LoadProgress,
    LoadStarted,
    ModelEvicted,
    ModelLoaded,
    PlanReady,
    PoolChanged,
    PoolSnapshot,
    PromptProgress,
    Request,
    RequestFailed,
    RunnerReady,
    TokenEvent,
)
from workbench.core.types import EmbeddingResult


class RunnerMessage(Message, bubble=False):
    """Base of the runner's messages: ``request`` is the one it answers (None: nobody's)."""

    def __init__(self, request: Request | None) -> None:
        super().__init__()
        self.request = request


# --------------------------------------------------------------------------- a request's


class ReplyTokens(RunnerMessage):
    """Streamed text of a chat reply is waiting: ``take()`` it (everything so far, at once).

    Tokens are batched on the runner's side (``TokenGate``); this is the wake-up. Taking on
    the UI thread, when the message is handled, gets every token that arrived meanwhile.
    """

    def __init__(self, request: ChatRequest, take: Callable[[bool], list[TokenEvent]]) -> None:
        super().__init__(request)
        self.chat = request
        self._take = take

    def take(self, reopen: bool = True) -> tuple[str, int]:
        """The waiting text, and the tokens generated so far (0 when unknown).

        ``reopen=False``: the taker will come back for more itself (the gate posts no
        wake-up for tokens until the request's next other event).
        """
        events = self._take(reopen)
        text = "".join(event.text for event in events)
        return text, (events[-1].generated if events else 0)


class PromptRead(RunnerMessage):
    """A chat request's prompt is being read: ``processed`` of ``total`` tokens."""

    def __init__(
        self, request: ChatRequest, processed: int, total: int, context_length: int | None
    ) -> None:
        super().__init__(request)
        self.chat = request
        self.processed, self.total, self.context_length = processed, total, context_length


class ReplyDone(RunnerMessage):
    """A chat reply ended (normally, at max tokens, or cancelled)."""

    def __init__(self, request: ChatRequest, done: ChatDone) -> None:
        super().__init__(request)
        self.chat = request
        self.done = done


class LoadPlanReady(RunnerMessage):
    """The pool's plans for a ``PlanRequest``."""

    def __init__(self, request: Request, plans: tuple[LoadPlan, ...]) -> None:
        super().__init__(request)
        self.plans = plans


class EmbeddingsDone(RunnerMessage):
    """The vectors for an ``EmbedRequest`` (``embed.texts`` are the texts embedded)."""

    def __init__(self, request: EmbedRequest, ready: EmbeddingsReady) -> None:
        super().__init__(request)
        self.embed = request
        self.result: EmbeddingResult = ready.result


class RequestFailure(RunnerMessage):
    """A request failed (or was refused): ``failure.message`` is one line for the user."""

    def __init__(self, request: Request | None, failure: RequestFailed) -> None:
        super().__init__(request)
        self.failure = failure

    @property
    def title(self) -> str:
        """A notification title from the error's class: "Insufficient memory", "Error"."""
        return _words(self.failure.error_type.removesuffix("Error") or "Error")


# --------------------------------------------------------------------------- the pool's


class EngineReady(RunnerMessage):
    """The runner's thread is running and MLX is imported, on ``device`` with ``blas``."""

    def __init__(self, device: str, blas: str) -> None:
        super().__init__(None)
        self.device, self.blas = device, blas


class EngineFailed(RunnerMessage):
    """The engine itself failed (MLX cannot start, or the runner's thread died)."""

    def __init__(self, reason: str, *, thread_died: bool = False) -> None:
        super().__init__(None)
        self.reason = reason
        self.thread_died = thread_died  # the thread is gone: nothing will answer any more


class EngineStopped(RunnerMessage):
    """The runner's thread ended normally: nothing will answer any more."""

    def __init__(self) -> None:
        super().__init__(None)


class PoolUpdated(RunnerMessage):
    """The pool changed; ``snapshot`` is its new state."""

    def __init__(self, request: Request | None, snapshot: PoolSnapshot) -> None:
        super().__init__(request)
        self.snapshot = snapshot


class LoadBegan(RunnerMessage):
    """A model started loading (``estimated_seconds`` from earlier loads, if any)."""

    def __init__(
        self, request: Request | None, model_id: str, estimated_seconds: float | None
    ) -> None:
        super().__init__(request)
        self.model_id, self.estimated_seconds = model_id, estimated_seconds


class LoadProgressed(RunnerMessage):
    """A loading model reached a step (``step``: e.g. "reading weights")."""

    def __init__(self, request: Request | None, model_id: str, step: str) -> None:
        super().__init__(request)
        self.model_id, self.step = model_id, step


class LoadFinished(RunnerMessage):
    """A model is loaded: its measured size and how long the load took."""

    def __init__(
        self, request: Request | None, model_id: str, measured_bytes: int, seconds: float
    ) -> None:
        super().__init__(request)
        self.model_id, self.measured_bytes, self.seconds = model_id, measured_bytes, seconds


class ModelDropped(RunnerMessage):
    """A model left the pool; ``reason``: "lru" (to make room), "unload", "budget"."""

    def __init__(self, request: Request | None, model_id: str, reason: str) -> None:
        super().__init__(request)
        self.model_id, self.reason = model_id, reason


class LoadFailed(RunnerMessage):
    """A request that needed ``model_id`` failed: if the model was loading, that load is over.

    The pool's screen gets it for every such failure (whoever asked), so a load indicator
    never keeps spinning; the screen that asked gets the ``RequestFailure`` itself.
    """

    def __init__(self, request: Request | None, model_id: str) -> None:
        super().__init__(request)
        self.model_id = model_id


# --------------------------------------------------------------------------- event → message

Build = Callable[[Any, Any], RunnerMessage]

_POOL: dict[type[Event], Build] = {
    PoolChanged: lambda e, r: PoolUpdated(r, e.snapshot),
    LoadStarted: lambda e, r: LoadBegan(r, e.model_id, e.estimated_seconds),
    LoadProgress: lambda e, r: LoadProgressed(r, e.model_id, e.message),
    ModelLoaded: lambda e, r: LoadFinished(r, e.model_id, e.measured_bytes, e.seconds),
    ModelEvicted: lambda e, r: ModelDropped(r, e.model_id, e.reason),
}
_REQUEST: dict[type[Event], Build] = {
    PromptProgress: lambda e, r: PromptRead(r, e.processed, e.total, e.context_length),
    ChatDone: lambda e, r: ReplyDone(r, e),
    PlanReady: lambda e, r: LoadPlanReady(r, e.plans),
    EmbeddingsReady: lambda e, r: EmbeddingsDone(r, e),
    RequestFailed: lambda e, r: RequestFailure(r, e),
}


def pool_message(event: Event, request: Request | None) -> RunnerMessage | None:
    """The message the pool's screen gets for ``event`` (None: not a pool event)."""
    if isinstance(event, RunnerReady):
        return EngineReady(event.device, event.blas)
    if isinstance(event, RequestFailed):
        if event.request_id is None:  # the engine itself failed (e.g. MLX cannot start)
            return EngineFailed(event.message)
        return LoadFailed(request, event.model_id) if event.model_id else None
    build = _POOL.get(type(event))
    return build(event, request) if build is not None else None


def request_message(event: Event, request: Request, *, pool_events: bool) -> RunnerMessage | None:
    """The message the screen that asked gets for ``event`` (tokens go through the gate).

    ``pool_events``: also the pool's events this request caused (for a screen other than
    the pool's, which gets those anyway).
    """
    build = _REQUEST.get(type(event)) or (_POOL.get(type(event)) if pool_events else None)
    return build(event, request) if build is not None else None


def _words(name: str) -> str:
    """ "InsufficientMemory" → "Insufficient memory"."""
    out = "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()
    return out[:1].upper() + out[1:]
