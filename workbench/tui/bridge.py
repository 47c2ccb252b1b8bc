"""The one link between the UI thread and the runner's owner thread.

The runner is built by a factory the app is given (so this layer never imports the runner or
MLX) and runs inside a Textual thread worker. The factory itself runs on the worker thread
too, so whatever it imports never delays the first frame; requests submitted before the
runner exists are queued here and handed over once it does.

A thin adapter over the runner's per-request handle (``core.runner.handle``):
``submit(request, to=screen)`` submits with a sink that turns each event of that request
into a typed message (``tui.messages``) posted to the screen that asked. ``post_message``
is thread-safe and non-blocking, unlike ``call_from_thread``, which would hold generation
until the screen had drawn. Streamed text is batched per reply by a ``TokenGate`` before it
wakes the UI thread. The runner's one callback is used for the pool's events only: they go
to the pool's screen, whoever asked (a screen never gets the same message twice). A runner
that only reports through its callback (a pool on another machine, test doubles) gets the
same handles: the bridge delivers their events to them itself.

The requests in flight live here, in ``_flights``, and nowhere else: if the runner cannot be
built, or its thread ends, every request still waiting, and every later one, is answered
with ``RequestFailed`` so nothing waits forever.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from typing import Protocol

from textual.app import App
from textual.message_pump import MessagePump
from textual.worker import Worker

from workbench.core.errors import one_line
from workbench.core.protocol import (
    ChatRequest,
    Event,
    PromptProgress,
    Request,
    RequestFailed,
    TokenEvent,
)
from workbench.core.runner.handle import RequestHandle, Sink
from workbench.tui.chat.token_gate import TokenGate
from workbench.tui.messages import (
    EngineFailed,
    EngineStopped,
    ReplyTokens,
    pool_message,
    request_message,
)

WORKER_NAME = "runner"


class RunnerLike(Protocol):
    """What the app needs from a runner (the real one, a remote pool, or a test double).

    ``submit`` may take a ``sink`` (the real runner: it returns the request's handle and
    pushes the request's events to the sink); one without it reports through the callback.
    """

    def run(self) -> None:
        """Serve requests until stopped (blocks; called on the worker thread)."""

    def submit(self, request: Request) -> object:
        """Queue a request (thread-safe)."""

    def stop(self) -> None:
        """Ask ``run`` to return soon (thread-safe)."""


RunnerFactory = Callable[[Callable[[Event], None]], RunnerLike]


@dataclass
class Flight:
    """A request in flight: its handle, the screen its messages go to, and ``began``, set
    (on the UI thread) when the runner sends the request's first event."""

    handle: RequestHandle
    screen: MessagePump
    began: asyncio.Event


class RunnerBridge:
    """Starts the runner in a worker, submits requests, and posts what comes back."""

    def __init__(self, app: App, factory: RunnerFactory) -> None:
        self._app = app
        self._factory = factory
        self._lock = threading.Lock()
        self._runner: RunnerLike | None = None
        self._takes_sinks = False  # the runner pushes each request's events to its sink
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
        runner = self._factory(self._on_event)
        takes_sinks = "sink" in inspect.signature(runner.submit).parameters
        with self._lock:
            if self._stopping:
                return
            self._runner, self._takes_sinks, early = runner, takes_sinks, self._early
            self._early = []
        for request in early:
            self._hand_over(runner, request)
        runner.run()

    # ----------------------------------------------------------------- out

    def submit(self, request: Request, to: MessagePump | None = None) -> Request:
        """Send a request to the runner (queued if it is still starting); returns it.

        Every event of the request is posted to ``to`` (default: the pool's screen) as a
        typed message. On a dead bridge the request is answered at once with a failure.
        """
        screen = to or self.pool_screen
        began = asyncio.Event()
        handle = RequestHandle(request, self._sink(request, screen, began))
        if request.final_event is not None:  # nothing answers the others
            self._flights[request.request_id] = Flight(handle, screen, began)
        if self._dead is not None:
            self._fail(handle, self._dead)
            return request
        with self._lock:
            runner = self._runner
            if runner is None:
                self._early.append(request)
                return request
        self._hand_over(runner, request)
        return request

    async def began(self, request: Request, within: float) -> bool:
        """Wait (at most ``within`` seconds) until the runner is under way on ``request``
        (``StartWatch``: for a chat, the prompt's first slice read).

        The UI thread waits idle, so the runner's thread has the GIL to itself while it
        prepares the request and builds the prompt's graph; False if not under way by then.
        """
        flight = self._flights.get(request.request_id)
        if flight is None or flight.began.is_set():  # answered, or started, already
            return True
        try:
            await asyncio.wait_for(flight.began.wait(), within)
        except TimeoutError:
            return False
        return True

    def _hand_over(self, runner: RunnerLike, request: Request) -> None:
        """Give ``request`` to the runner; a runner that takes sinks gets the flight's."""
        flight = self._flights.get(request.request_id)
        if flight is None or not self._takes_sinks:
            runner.submit(request)
            return
        runner.submit(request, sink=flight.handle.deliver)  # type: ignore[call-arg]
        if flight.handle.finished:  # answered at once (a plan, a pin)
            self._flights.pop(request.request_id, None)

    def _sink(self, request: Request, screen: MessagePump, began: asyncio.Event) -> Sink:
        """Where the request's events go: typed messages to ``screen`` (runner's thread);
        the one that shows it under way (``StartWatch``) also sets ``began`` (on the UI
        thread's loop)."""
        mark_began = _setter_from_any_thread(began)
        start = StartWatch(request)
        tokens: TokenGate | None = None
        if isinstance(request, ChatRequest):
            chat = request

            def wake(_waiting: Event) -> None:
                screen.post_message(ReplyTokens(chat, gate.take))

            gate = tokens = TokenGate(wake)
        pool_events = screen is not self.pool_screen  # the pool's screen has them already

        def sink(event: Event) -> None:
            if start.waiting and start.started_by(event):
                mark_began()
            if isinstance(event, TokenEvent):
                if tokens is not None:
                    tokens.offer(event)
                return
            if tokens is not None:
                tokens.release()  # the text before this event is taken before it
            if request.is_final(event):
                self._flights.pop(request.request_id, None)
            message = request_message(event, request, pool_events=pool_events)
            if message is not None:
                screen.post_message(message)

        return sink

    # ----------------------------------------------------------------- back (runner thread)

    def _on_event(self, event: Event) -> None:
        """The runner's callback: pool events to the pool's screen. A runner without sinks
        reports a request's events here only: they go to its handle from here."""
        pool = pool_message(event, self.in_flight(event.request_id))
        if pool is not None:
            self.pool_screen.post_message(pool)
        if not self._takes_sinks and event.request_id is not None:
            flight = self._flights.get(event.request_id)
            if flight is not None:
                flight.handle.deliver(event)

    def _fail(self, handle: RequestHandle, reason: str) -> None:
        failure = _failure(handle.request, reason)
        pool = pool_message(failure, handle.request)
        if pool is not None:
            self.pool_screen.post_message(pool)
        handle.deliver(failure)

    # ----------------------------------------------------------------- the end

    def engine_ended(self, error: BaseException | None) -> None:
        """The runner's thread ended (with ``error``, or normally): say so, answer all."""
        if error is not None:
            reason = one_line(error)
            self.pool_screen.post_message(EngineFailed(reason, thread_died=True))
            self.fail_all(f"the engine failed: {reason}")
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
            self._fail(flight.handle, reason)

    def in_flight(self, request_id: int | None) -> Request | None:
        """The request with this id, if it has not ended yet."""
        flight = self._flights.get(request_id) if request_id is not None else None
        return flight.handle.request if flight is not None else None

    def asked_by(self, screen: MessagePump) -> list[Request]:
        """The requests in flight whose answers go to ``screen``."""
        flights = list(self._flights.values())
        return [f.handle.request for f in flights if f.screen is screen]

    def stop(self) -> None:
        """Stop the runner (or prevent it from starting); safe to call more than once."""
        with self._lock:
            self._stopping = True
            runner = self._runner
        for flight in list(self._flights.values()):
            flight.handle.cancel()
        if runner is not None:
            runner.stop()


def _setter_from_any_thread(event: asyncio.Event) -> Callable[[], None]:
    """A function that sets ``event`` from any thread (through the loop running now)."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:  # no loop (a test driving the bridge by hand): set it directly
        return event.set

    def mark() -> None:
        with suppress(RuntimeError):  # the loop has closed (the app is gone): nobody waits
            loop.call_soon_threadsafe(event.set)

    return mark


def _failure(request: Request, reason: str) -> RequestFailed:
    model_id = getattr(request, "model_id", None)
    return RequestFailed(request.request_id, reason, "WorkbenchError", model_id=model_id)


class StartWatch:
    """Tells, event by event, when the runner is under way on a request: a chat's prompt
    read past its first slice (the second progress report: the first comes before any
    work), its first text, or any answer at all. The pool's events on the way (a lease,
    a reorder) come before the work and are not a start. ``waiting`` is True until the
    start has been seen (a plain attribute: the sink checks it on every token)."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.progress_reports = 0
        self.waiting = True

    def started_by(self, event: Event) -> bool:
        """Whether ``event`` is the start (True once; then ``waiting`` is False)."""
        if self.waiting and self._starts(event):
            self.waiting = False
            return True
        return False

    def _starts(self, event: Event) -> bool:
        if isinstance(event, PromptProgress):
            self.progress_reports += 1
            return self.progress_reports > 1
        if isinstance(event, TokenEvent) or self.request.is_final(event):
            return True
        return not isinstance(self.request, ChatRequest)
