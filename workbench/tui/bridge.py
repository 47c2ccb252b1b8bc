"""The one link between the UI thread and the runner's owner thread.

The runner is built by a factory the app is given (so this layer never imports the runner or
MLX) and runs inside a Textual thread worker. Its callback is ``App.post_message`` with a
``RunnerEvent`` wrapper: thread-safe and non-blocking, unlike ``call_from_thread``, which
would hold generation until the screen had drawn. The factory itself runs on the worker
thread too, so whatever it imports never delays the first frame; requests submitted before
the runner exists are queued here and handed over once it does. If the runner cannot be
built, or its thread ends, the bridge is dead: every request still waiting, and every later
one, is answered with ``RequestFailed`` so nothing waits forever.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol

from textual.app import App
from textual.worker import Worker

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
)
from workbench.tui.chat.token_gate import TokenGate
from workbench.tui.messages import RunnerEvent

WORKER_NAME = "runner"

# The event that ends each kind of request (besides RequestFailed, which ends any). A chat
# or an embedding may load a model on the way, so ModelLoaded alone does not end them.
FINAL_EVENT: dict[type[Request], type[Event]] = {
    LoadRequest: ModelLoaded,
    UnloadRequest: ModelEvicted,
    PinRequest: PoolChanged,
    BudgetRequest: PoolChanged,
    PlanRequest: PlanReady,
    ChatRequest: ChatDone,
    EmbedRequest: EmbeddingsReady,
}
# Requests nothing answers: the runner just stops. They are never tracked as pending.
UNANSWERED: tuple[type[Request], ...] = (ShutdownRequest,)


def is_final(request: Request, event: Event) -> bool:
    """Whether ``event`` is the last one ``request`` will get."""
    final = FINAL_EVENT.get(type(request))
    return isinstance(event, RequestFailed) or (final is not None and isinstance(event, final))


class RunnerLike(Protocol):
    """What the app needs from a runner (the real one, or a fake in tests)."""

    def run(self) -> None:
        """Serve requests until stopped (blocks; called on the worker thread)."""

    def submit(self, request: Request) -> None:
        """Queue a request (thread-safe)."""

    def stop(self) -> None:
        """Ask ``run`` to return soon (thread-safe)."""


RunnerFactory = Callable[[Callable[[Event], None]], RunnerLike]


class RunnerBridge:
    """Starts the runner in a worker, submits requests, and remembers what each id asked."""

    def __init__(self, app: App, factory: RunnerFactory) -> None:
        self._app = app
        self._factory = factory
        self._lock = threading.Lock()
        self._runner: RunnerLike | None = None
        self._early: list[Request] = []
        self._stopping = False
        self._dead: str | None = None  # why no runner will ever answer (set on the UI thread)
        self._pending: dict[int, Request] = {}
        self._tokens = TokenGate(self._send)

    def start(self) -> Worker[None]:
        """Run the runner on a thread worker named ``runner``."""
        return self._app.run_worker(
            self._serve, thread=True, exit_on_error=False, name=WORKER_NAME, group=WORKER_NAME
        )

    def _post(self, event: Event) -> None:
        """The runner's callback: tokens go through the gate, other events at once (after
        the tokens before them)."""
        if isinstance(event, TokenEvent):
            self._tokens.offer(event)
            return
        self._tokens.release()
        self._send(event)

    def _send(self, event: Event) -> None:
        self._app.post_message(RunnerEvent(event))

    def take_tokens(self) -> list[TokenEvent]:
        """The streamed text waiting in the gate (UI thread; after a ``TokensWaiting``)."""
        return self._tokens.take()

    def _serve(self) -> None:
        runner = self._factory(self._post)
        with self._lock:
            if self._stopping:
                return
            self._runner, early = runner, self._early
            self._early = []
        for request in early:
            runner.submit(request)
        runner.run()

    def submit(self, request: Request) -> Request:
        """Send a request to the runner (queued if it is still starting); returns it.

        On a dead bridge the request is answered at once with ``RequestFailed``.
        """
        if not isinstance(request, UNANSWERED):
            self._pending[request.request_id] = request
        if self._dead is not None:
            self._post(_failure(request, self._dead))
            return request
        with self._lock:
            runner = self._runner
            if runner is None:
                self._early.append(request)
                return request
        runner.submit(request)
        return request

    def fail_all(self, reason: str) -> None:
        """The runner is gone (never built, or its thread ended): answer everything waiting.

        Call on the UI thread. Later requests are answered with the same ``reason``.
        """
        if self._dead is not None:
            return
        with self._lock:
            self._early = []
        self._dead = reason
        for request in list(self._pending.values()):
            self._post(_failure(request, reason))

    def request_for(self, event: Event) -> Request | None:
        """The request an event answers (forgotten once its final event has been seen)."""
        if event.request_id is None:
            return None
        request = self._pending.get(event.request_id)
        if request is not None and is_final(request, event):
            del self._pending[event.request_id]
        return request

    def stop(self) -> None:
        """Stop the runner (or prevent it from starting); safe to call more than once."""
        with self._lock:
            self._stopping = True
            runner = self._runner
        for request in self._pending.values():
            request.cancel.set()
        if runner is not None:
            runner.stop()


def _failure(request: Request, reason: str) -> RequestFailed:
    model_id = getattr(request, "model_id", None)
    return RequestFailed(request.request_id, reason, "WorkbenchError", model_id=model_id)
