"""A blocking front for the runner, for the CLI, the benchmark and tests.

The TUI and the server read a request's events as they come; a command-line program just
wants to call ``load`` and get an answer. ``RunnerClient`` starts the same ``Runner`` on a
plain thread (so MLX still lives on one owner thread) and reads each request's handle:
return values, a text iterator, or the failure raised for a one-line message — a
``WorkbenchError`` as its real class, a bug as a ``WorkbenchError`` whose message names it
(the original exception is its ``__cause__``; ``RequestHandle.result`` raises it as is).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from workbench.core.errors import WorkbenchError
from workbench.core.pool.budget import Budget
from workbench.core.protocol import (
    BudgetRequest,
    ChatDone,
    ChatRequest,
    EmbeddingsReady,
    EmbedRequest,
    Event,
    LoadPlan,
    LoadRequest,
    ModelEvicted,
    ModelLoaded,
    PinRequest,
    PlanReady,
    PlanRequest,
    PoolChanged,
    PoolSnapshot,
    Request,
    RequestFailed,
    RunnerReady,
    TokenEvent,
    UnloadRequest,
)
from workbench.core.runner.handle import RequestHandle
from workbench.core.runner.loop import Runner
from workbench.core.types import ChatMessage, EmbeddingResult, ModelInfo, SamplingSettings

POLL_S = 0.25
E = TypeVar("E", bound=Event)


def raise_failure(event: RequestFailed) -> None:
    """Raise the failure for a caller that shows one line: a ``WorkbenchError`` as the runner
    caught it (its real class); a bug as a ``WorkbenchError`` with the runner's message (which
    names the class and the log), the original exception chained as its cause."""
    error = event.user_error
    if error is event.error or event.error is None:
        raise error
    raise error from event.error


class ChatStream:
    """The reply's text pieces as they arrive; ``done`` holds the ``ChatDone`` afterwards.

    Leaving the loop early cancels the generation (and waits for its end, so the model's
    lease is back before the next request).
    """

    def __init__(self, client: RunnerClient, handle: RequestHandle) -> None:
        self._client, self.handle = client, handle
        self.request = handle.request
        self.done: ChatDone | None = None

    def __iter__(self) -> Iterator[str]:
        try:
            while True:
                event = self._client.next_event(self.handle)
                if isinstance(event, TokenEvent):
                    yield event.text
                elif isinstance(event, RequestFailed):
                    raise_failure(event)
                elif isinstance(event, ChatDone):
                    self.done = event
                    return
        finally:
            if not self.handle.finished:
                self.cancel()
                self._finish()

    def cancel(self) -> None:
        self.handle.cancel()

    def _finish(self) -> None:
        while True:
            event = self._client.next_event(self.handle)
            if isinstance(event, ChatDone):
                self.done = event
                return
            if isinstance(event, RequestFailed):
                return


class RunnerClient:
    """Owns a runner thread; every method blocks until the runner has answered."""

    def __init__(
        self,
        *,
        catalog: Sequence[ModelInfo],
        budget: Budget,
        on_event: Callable[[Event], None] | None = None,
        **runner_options: Any,
    ) -> None:
        self._on_event = on_event
        self._ready: queue.Queue[Event] = queue.Queue()
        self.runner = Runner(self._route, catalog=catalog, budget=budget, **runner_options)
        self._thread = threading.Thread(target=self.runner.run, name="mlx-owner", daemon=True)
        self.ready: RunnerReady | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> RunnerReady:
        """Start the owner thread and wait until MLX is imported there."""
        self._thread.start()
        while True:
            try:
                event = self._ready.get(timeout=POLL_S)
            except queue.Empty:
                if not self._thread.is_alive():
                    raise WorkbenchError("the model runner stopped while starting") from None
                continue
            if isinstance(event, RequestFailed):
                raise_failure(event)
            assert isinstance(event, RunnerReady)
            self.ready = event
            return event

    def close(self) -> None:
        """Stop the runner (unloading every model) and wait for its thread."""
        self.runner.stop()
        if self._thread.is_alive():
            self._thread.join()

    def __enter__(self) -> RunnerClient:
        if not self._thread.is_alive() and self.ready is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ calls

    def load(self, model_id: str, *, pin: bool = False, cluster: str | None = None) -> ModelLoaded:
        request = LoadRequest(model_id=model_id, pin=pin, cluster=cluster)
        return self._call(request, ModelLoaded)

    def unload(self, model_id: str) -> ModelEvicted:
        return self._call(UnloadRequest(model_id=model_id), ModelEvicted)

    def pin(self, model_id: str, pinned: bool = True) -> PoolSnapshot:
        return self._call(PinRequest(model_id=model_id, pinned=pinned), PoolChanged).snapshot

    def set_budget(self, budget: Budget) -> PoolSnapshot:
        request = BudgetRequest(
            memory_limit_bytes=budget.memory_limit_bytes, max_models=budget.max_models
        )
        return self._call(request, PoolChanged).snapshot

    def plan(self, model_ids: Sequence[str]) -> tuple[LoadPlan, ...]:
        return self._call(PlanRequest(model_ids=tuple(model_ids)), PlanReady).plans

    def embed(self, model_id: str, texts: Sequence[str]) -> EmbeddingResult:
        request = EmbedRequest(model_id=model_id, texts=tuple(texts))
        return self._call(request, EmbeddingsReady).result

    def chat_stream(
        self,
        model_id: str,
        messages: Sequence[ChatMessage],
        sampling: SamplingSettings | None = None,
        session_id: str | None = None,
    ) -> ChatStream:
        """Start a reply; iterate the result for text, then read its ``done``."""
        request = ChatRequest(
            model_id=model_id,
            messages=tuple(messages),
            sampling=sampling or SamplingSettings(),
            session_id=session_id,
        )
        return self.submit_chat(request)

    def submit_chat(self, request: ChatRequest) -> ChatStream:
        """Start a prepared chat request (a raw completion, say); iterate it as above."""
        return ChatStream(self, self.runner.submit(request))

    def chat(self, model_id: str, messages: Sequence[ChatMessage], **options: Any) -> ChatDone:
        stream = self.chat_stream(model_id, messages, **options)
        for _piece in stream:
            pass
        assert stream.done is not None
        return stream.done

    def snapshot(self) -> PoolSnapshot:
        return self.runner.pool.snapshot()

    def register(self, infos: Sequence[ModelInfo]) -> None:
        self.runner.update_catalog(infos)

    # ------------------------------------------------------------------ plumbing

    def next_event(self, handle: RequestHandle) -> Event:
        """The handle's next event; ``WorkbenchError`` if the runner thread is gone."""
        while True:
            try:
                return handle.next(timeout=POLL_S)
            except TimeoutError:
                if not self._thread.is_alive() and not handle.finished:
                    raise WorkbenchError("the model runner has stopped") from None

    def _route(self, event: Event) -> None:
        if isinstance(event, RunnerReady) or (
            event.request_id is None and isinstance(event, RequestFailed)
        ):
            self._ready.put(event)
        if self._on_event is not None:
            self._on_event(event)

    def _call(self, request: Request, final: type[E]) -> E:
        handle = self.runner.submit(request)
        while True:
            event = self.next_event(handle)
            if isinstance(event, RequestFailed):
                raise_failure(event)
            if handle.finished and event is handle.final:
                assert isinstance(event, final)
                return event
