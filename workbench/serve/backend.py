"""The runner as the server's asynchronous code sees it: tickets in, events out.

The runner works on its owner thread; the server lives on an asyncio loop. A ``Ticket`` is
one request in flight, a thin adapter over the runner's ``RequestHandle``: the handle's sink
hands each event of the request to the loop with ``call_soon_threadsafe`` (cheap, never
blocks generation) and the route reads them in order from the ticket. Which event ends a
request is the request's own declaration (``Request.is_final``). Closing a ticket before its
final event sets the request's cancel ``Event`` — the engine stops within a token step and
the model's lease is returned. Pool events (snapshots, loads, evictions) reach the runner's
callback, which hands them to every events-stream subscriber.

Requests reach the runner's one queue in arrival order, so concurrent clients are served
first come, first served, and none is lost: each gets its final event.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from workbench.core.pool.budget import Budget
from workbench.core.protocol import (
    Event,
    LoadProgress,
    LoadStarted,
    ModelEvicted,
    ModelLoaded,
    PoolChanged,
    PoolSnapshot,
    Request,
    RequestFailed,
    RunnerReady,
)
from workbench.core.runner.client import RunnerClient
from workbench.core.runner.handle import RequestHandle
from workbench.core.runner.loop import IMMEDIATE  # answered on the submitting thread
from workbench.core.types import ModelInfo

BROADCAST = (PoolChanged, LoadStarted, LoadProgress, ModelLoaded, ModelEvicted)
SUBSCRIBER_QUEUE = 256


class Ticket:
    """One request in flight: its events, in order, until the final one."""

    def __init__(self, request: Request, loop: asyncio.AbstractEventLoop) -> None:
        self.request = request
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.finished = False
        self.handle: RequestHandle | None = None  # set once submitted
        self._loop = loop

    def sink(self, event: Event) -> None:
        """The handle's sink, called on the runner's threads: hand the event to the loop."""
        if self._loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            self._loop.call_soon_threadsafe(self.queue.put_nowait, event)

    async def next(self) -> Event:
        """The next event (after the final one, nothing more comes: do not call again)."""
        event = await self.queue.get()
        if self.request.is_final(event):
            self.finished = True
        return event

    async def result(self) -> Event:
        """The final event; ``WorkbenchError`` if the runner reported a failure."""
        while True:
            event = await self.next()
            if isinstance(event, RequestFailed):
                raise event.user_error
            if self.finished:
                return event

    def close(self) -> None:
        """Stop listening; a request that has not finished is cancelled."""
        if not self.finished:
            self.request.cancel.set()


class Backend:
    """Owns the runner thread (through ``RunnerClient``) and hands its events to the loop."""

    def __init__(self, *, catalog: Sequence[ModelInfo], budget: Budget, **options: Any) -> None:
        self.client = RunnerClient(
            catalog=catalog, budget=budget, on_event=self._on_event, **options
        )
        self.catalog = list(catalog)
        self.ready: RunnerReady | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: set[asyncio.Queue[Event]] = set()

    async def start(self) -> None:
        """Start the owner thread (MLX is imported there) and remember the loop."""
        self._loop = asyncio.get_running_loop()
        self.ready = await asyncio.to_thread(self.client.start)

    async def close(self) -> None:
        """Stop the runner: cancels the current request, fails the queued ones, unloads
        every model."""
        await asyncio.to_thread(self.client.close)

    # ------------------------------------------------------------------ requests

    async def open(self, request: Request) -> Ticket:
        """Submit ``request``; read its events from the returned ticket, then close it."""
        ticket = Ticket(request, asyncio.get_running_loop())
        submit = self.client.runner.submit
        if isinstance(request, IMMEDIATE):  # bookkeeping runs on the caller's thread
            ticket.handle = await asyncio.to_thread(submit, request, ticket.sink)
        else:
            ticket.handle = submit(request, ticket.sink)
        return ticket

    async def call(self, request: Request) -> Event:
        """Submit and wait for the final event (``WorkbenchError`` on failure)."""
        ticket = await self.open(request)
        try:
            return await ticket.result()
        finally:
            ticket.close()

    def snapshot(self) -> PoolSnapshot:
        return self.client.snapshot()

    def register(self, info: ModelInfo) -> None:
        """Let the pool load a model named by path (not in the scanned catalog)."""
        if info not in self.catalog:
            self.catalog.append(info)
            self.client.register([info])

    # ------------------------------------------------------------------ events

    def subscribe(self) -> asyncio.Queue[Event]:
        """A queue that receives every pool event from now on (``unsubscribe`` it after)."""
        queue: asyncio.Queue[Event] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self._subscribers.discard(queue)

    def _on_event(self, event: Event) -> None:
        """The runner's callback: pool events go to the loop for subscribers, never block."""
        loop = self._loop
        if not isinstance(event, BROADCAST) or loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._broadcast, event)

    def _broadcast(self, event: Event) -> None:
        for queue in list(self._subscribers):
            if queue.full():  # a slow reader misses old events, never blocks others
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait(event)
