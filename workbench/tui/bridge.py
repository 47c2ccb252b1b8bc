"""The one link between the UI thread and the runner's owner thread.

The runner is built by a factory the app is given (so this layer never imports the runner or
MLX) and runs inside a Textual thread worker. The factory itself runs on the worker thread
too, so whatever it imports never delays the first frame; requests submitted before the
runner exists are queued here and handed over once it does.

Each event becomes a typed message (``tui.messages``) posted straight to a screen:
``post_message`` is thread-safe and non-blocking, unlike ``call_from_thread``, which would
hold generation until the screen had drawn. ``submit(request, to=screen)`` sends every
event of that request to the screen that asked; the pool's screen also gets every pool
event, whoever asked (never the same message twice). Streamed text is batched per reply by
a ``TokenGate`` before it wakes the UI thread.

The requests in flight live here, in ``_flights``, and nowhere else: if the runner cannot be
built, or its thread ends, every request still waiting, and every later one, is answered
with ``RequestFailed`` so nothing waits forever.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from textual.app import App
from textual.message_pump import MessagePump
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
from workbench.tui.messages import (
    EngineFailed,
    EngineStopped,
    ReplyTokens,
    pool_message,
    request_message,
)

WORKER_NAME = "runner"

# Requests nothing answers: the runner just stops. They are never tracked as in flight.
UNANSWERED: tuple[type[Request], ...] = (ShutdownRequest,)
FINAL_EVENT: dict[type[Request], type[Event]] = {
    LoadRequest: ModelLoaded,
    UnloadRequest: ModelEvicted,
    PinRequest: PoolChanged,
    BudgetRequest: PoolChanged,
    PlanRequest: PlanReady,
    ChatRequest: ChatDone,
    EmbedRequest: EmbeddingsReady,
}


def is_final(request: Request, event: Event) -> bool:
    """Whether ``event`` is the last one ``request`` will get."""
    final = FINAL_EVENT.get(type(request))
    return isinstance(event, RequestFailed) or (final is not None and isinstance(event, final))


class RunnerLike(Protocol):
    """What the app needs from a runner (the real one, or a fake in tests)."""

    def run(self) -> None:
        """Serve requests until stopped (blocks; called on the worker thread)."""

    def submit(self, request: Request) -> object:
        """Queue a request (thread-safe)."""

    def stop(self) -> None:
        """Ask ``run`` to return soon (thread-safe)."""


RunnerFactory = Callable[[Callable[[Event], None]], RunnerLike]


@dataclass
class Flight:
    """A request in flight: who asked, and its streamed text on the way to them."""

    request: Request
    screen: MessagePump
    tokens: TokenGate | None = None


class RunnerBridge:
    """Starts the runner in a worker, submits requests, and posts what comes back."""

    def __init__(self, app: App, factory: RunnerFactory) -> None:
        self._app = app
        self._factory = factory
        self._lock = threading.Lock()
        self._runner: RunnerLike | None = None
        self._early: list[Request] = []
        self._stopping = False
        self._dead: str | None = None  # why no runner will ever answer (set on the UI thread)
        self._flights: dict[int, Flight] = {}
        self.pool_screen: MessagePump = app  # the screen that shows the pool (set by the app)

    def start(self) -> Worker[None]:
        """Run the runner on a thread worker named ``runner``."""
        return self._app.run_worker(
            self._serve, thread=True, exit_on_error=False, name=WORKER_NAME, group=WORKER_NAME
        )

    def _serve(self) -> None:
        runner = self._factory(self._deliver)
        with self._lock:
            if self._stopping:
                return
            self._runner, early = runner, self._early
            self._early = []
        for request in early:
            runner.submit(request)
        runner.run()

    # ----------------------------------------------------------------- out

    def submit(self, request: Request, to: MessagePump | None = None) -> Request:
        """Send a request to the runner (queued if it is still starting); returns it.

        Every event of the request is posted to ``to`` (default: the pool's screen) as a
        typed message. On a dead bridge the request is answered at once with a failure.
        """
        if not isinstance(request, UNANSWERED):
            flight = Flight(request, to or self.pool_screen)
            if isinstance(request, ChatRequest):
                flight.tokens = self._token_gate(flight)
            self._flights[request.request_id] = flight
        if self._dead is not None:
            self._deliver(_failure(request, self._dead))
            return request
        with self._lock:
            runner = self._runner
            if runner is None:
                self._early.append(request)
                return request
        runner.submit(request)
        return request

    def _token_gate(self, flight: Flight) -> TokenGate:
        request = flight.request
        assert isinstance(request, ChatRequest)
        gate = TokenGate(lambda _wake: flight.screen.post_message(ReplyTokens(request, gate.take)))
        return gate

    # ----------------------------------------------------------------- back (runner thread)

    def _deliver(self, event: Event) -> None:
        """The runner's callback: pool events to the pool's screen, a request's to its asker."""
        flight = self._flights.get(event.request_id) if event.request_id is not None else None
        pool = pool_message(event, flight.request if flight else None)
        if pool is not None:
            self.pool_screen.post_message(pool)
        if flight is not None:
            self._to_asker(flight, event)

    def _to_asker(self, flight: Flight, event: Event) -> None:
        if isinstance(event, TokenEvent):
            if flight.tokens is not None:
                flight.tokens.offer(event)
            return
        if flight.tokens is not None:
            flight.tokens.release()  # the text before this event is taken before it
        if is_final(flight.request, event):
            self._flights.pop(flight.request.request_id, None)
        pooled = flight.screen is self.pool_screen
        message = request_message(event, flight.request, pool_events=not pooled)
        if message is not None:
            flight.screen.post_message(message)

    # ----------------------------------------------------------------- the end

    def engine_ended(self, error: BaseException | None) -> None:
        """The runner's thread ended (with ``error``, or normally): say so, answer all."""
        if error is not None:
            self.pool_screen.post_message(EngineFailed(str(error), thread_died=True))
            self.fail_all(f"the engine failed: {error}")
        else:
            self.pool_screen.post_message(EngineStopped())
            self.fail_all("the engine has stopped")

    def fail_all(self, reason: str) -> None:
        """The runner is gone (never built, or its thread ended): answer everything waiting.

        Call on the UI thread. Later requests are answered with the same ``reason``.
        """
        if self._dead is not None:
            return
        with self._lock:
            self._early = []
        self._dead = reason
        for flight in list(self._flights.values()):
            self._deliver(_failure(flight.request, reason))

    def in_flight(self, request_id: int) -> Request | None:
        """The request with this id, if it has not ended yet."""
        flight = self._flights.get(request_id)
        return flight.request if flight is not None else None

    def asked_by(self, screen: MessagePump) -> list[Request]:
        """The requests in flight whose answers go to ``screen``."""
        return [f.request for f in list(self._flights.values()) if f.screen is screen]

    def stop(self) -> None:
        """Stop the runner (or prevent it from starting); safe to call more than once."""
        with self._lock:
            self._stopping = True
            runner = self._runner
        for flight in list(self._flights.values()):
            flight.request.cancel.set()
        if runner is not None:
            runner.stop()


def _failure(request: Request, reason: str) -> RequestFailed:
    model_id = getattr(request, "model_id", None)
    return RequestFailed(request.request_id, reason, "WorkbenchError", model_id=model_id)
