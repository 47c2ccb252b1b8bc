"""The runner as the server's asynchronous code sees it: tickets in, events out.

The runner calls back on its owner thread; the server lives on an asyncio loop. Every event
is handed to the loop with ``call_soon_threadsafe`` (cheap, never blocks generation) and put
on the queue of the request it answers. A ``Ticket`` is one request in flight: the route
reads its events, and closing a ticket before its final event sets the request's cancel
``Event`` — the engine stops within a token step and the model's lease is returned. Pool
events (snapshots, loads, evictions) also go to every events-stream subscriber.

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
    BudgetRequest,
    ChatDone,
    ChatRequest,
    EmbeddingsReady,
    EmbedRequest,
    Event,
    LoadProgress,
    LoadRequest,
    LoadStarted,
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
    UnloadRequest,
)
from workbench.core.runner.client import RunnerClient, error_from
from workbench.core.types import ModelInfo

FINAL_EVENT: dict[type[Request], type[Event]] = {
    LoadRequest: ModelLoaded,
    UnloadRequest: ModelEvicted,
    PinRequest: PoolChanged,
    BudgetRequest: PoolChanged,
    PlanRequest: PlanReady,
    ChatRequest: ChatDone,
    EmbedRequest: EmbeddingsReady,
}
IMMEDIATE = (PinRequest, PlanRequest)  # answered on the submitting thread (see runner.py)
BROADCAST = (PoolChanged, LoadStarted, LoadProgress, ModelLoaded, ModelEvicted)
SUBSCRIBER_QUEUE = 256


def is_final(request: Request, event: Event) -> bool:
    """Whether ``event`` is the last one ``request`` gets."""
    final = FINAL_EVENT.get(type(request))
    return isinstance(event, RequestFailed) or (final is not None and isinstance(event, final))


class Ticket:
    """One request in flight: its events, in order, until the final one."""

    def __init__(self, backend: Backend, request: Request) -> None:
        self.request = request
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.finished = False
        self._backend = backend

    async def next(self) -> Event:
        """The next event (after the final one, nothing more comes: do not call again)."""
        event = await self.queue.get()
        if is_final(self.request, event):
            self.finished = True
        return event

    async def result(self) -> Event:
        """The final event; ``WorkbenchError`` if the runner reported a failure."""
        while True:
            event = await self.next()
            if isinstance(event, RequestFailed):
                raise error_from(event)
            if self.finished:
                return event

    def close(self) -> None:
        """Stop listening; a request that has not finished is cancelled."""
        if not self.finished:
            self.request.cancel.set()
        self._backend.forget(self.request)


class Backend:
    """Owns the runner thread (through ``RunnerClient``) and routes its events to the loop."""

    def __init__(self, *, catalog: Sequence[ModelInfo], budget: Budget, **options: Any) -> None:
        self.client = RunnerClient(
            catalog=catalog, budget=budget, on_event=self._on_event, **options
        )
        self.catalog = list(catalog)
        self.ready: RunnerReady | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tickets: dict[int, Ticket] = {}
        self._subscribers: set[asyncio.Queue[Event]] = set()

    async def start(self) -> None:
        """Start the owner thread (MLX is imported there) and remember the loop."""
        self._loop = asyncio.get_running_loop()
        self.ready = await asyncio.to_thread(self.client.start)

    async def close(self) -> None:
        """Stop the runner: cancels the current request, unloads every model."""
        for ticket in list(self._tickets.values()):
            ticket.request.cancel.set()
        await asyncio.to_thread(self.client.close)

    # ------------------------------------------------------------------ requests

    async def open(self, request: Request) -> Ticket:
        """Submit ``request``; read its events from the returned ticket, then close it."""
        ticket = Ticket(self, request)
        self._tickets[request.request_id] = ticket
        if isinstance(request, IMMEDIATE):  # bookkeeping runs on the caller's thread
            await asyncio.to_thread(self.client.runner.submit, request)
        else:
            self.client.runner.submit(request)
        return ticket

    async def call(self, request: Request) -> Event:
        """Submit and wait for the final event (``WorkbenchError`` on failure)."""
        ticket = await self.open(request)
        try:
            return await ticket.result()
        finally:
            ticket.close()

    def forget(self, request: Request) -> None:
        self._tickets.pop(request.request_id, None)

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
        """Called on the runner's threads: hand the event to the loop, never block."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
            loop.call_soon_threadsafe(self._deliver, event)

    def _deliver(self, event: Event) -> None:
        if event.request_id is not None:
            ticket = self._tickets.get(event.request_id)
            if ticket is not None:
                ticket.queue.put_nowait(event)
        if isinstance(event, BROADCAST):
            for queue in list(self._subscribers):
                if queue.full():  # a slow reader misses old events, never blocks others
                    with contextlib.suppress(asyncio.QueueEmpty):
                        queue.get_nowait()
                queue.put_nowait(event)
