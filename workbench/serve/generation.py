"""One chat request seen from a route: wait for its first token, then its text, then its end.

A route must know whether a request failed *before* it answers: a 503 (no room in the pool)
or a 400 cannot be sent once a stream has begun. So ``start`` reads events until the first
piece of text or the end — load events pass by — and raises the failure as an ``ApiError``.
While waiting, a client that goes away cancels the request at once (Starlette does not
tell a handler that is not sending, so a task waits for the disconnect message). Once
streaming, the SSE response notices a disconnect and closes the generator, which cancels
the request the same way.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starlette.requests import Request as HttpRequest

from workbench.core.protocol import ChatDone, ChatRequest, Event, RequestFailed, TokenEvent
from workbench.core.types import TurnStats
from workbench.serve.backend import Backend, Ticket
from workbench.serve.errors import from_workbench
from workbench.serve.stops import StopScanner

FINISH = {"stop": "stop", "length": "length", "cancelled": "stop"}


class ClientGone(Exception):
    """The HTTP client disconnected before the reply began."""


class Generation:
    """A ``ChatRequest`` in flight, read as text pieces (stop strings applied)."""

    def __init__(self, backend: Backend, request: ChatRequest, stops: list[str]) -> None:
        self.backend, self.request = backend, request
        self.scanner = StopScanner(stops)
        self.done: ChatDone | None = None
        self._ticket: Ticket | None = None
        self._first: list[Event] = []
        self._gone: asyncio.Future[None] | None = None

    async def start(self, http: HttpRequest) -> None:
        """Submit, then wait for the first text or the end; failures raise ``ApiError``."""
        self._ticket = await self.backend.open(self.request)
        try:
            while True:
                event = await self._next_or_gone(http)
                if isinstance(event, RequestFailed):
                    raise from_workbench(event.user_error)
                if isinstance(event, TokenEvent | ChatDone):
                    self._first.append(event)
                    return
        except BaseException:
            self.close()
            raise
        finally:
            self._stop_watching()

    async def pieces(self) -> AsyncIterator[str]:
        """The reply's text as it comes; ``done`` is set when it ends. Closes the ticket."""
        assert self._ticket is not None, "start() first"
        try:
            while self.done is None:
                event = self._first.pop(0) if self._first else await self._ticket.next()
                text = self._apply(event)
                if text:
                    yield text
        finally:
            self.close()

    async def text(self, http: HttpRequest) -> str:
        """The whole reply (for non-streamed answers), cancelled if the client goes away."""
        assert self._ticket is not None, "start() first"
        parts = []
        try:
            while self.done is None:
                event = self._first.pop(0) if self._first else await self._next_or_gone(http)
                parts.append(self._apply(event))
        finally:
            self._stop_watching()
            self.close()
        return "".join(parts)

    @property
    def finish_reason(self) -> str:
        if self.scanner.hit or self.done is None:
            return "stop"
        return FINISH.get(self.done.stats.finish_reason, "stop")

    def close(self) -> None:
        if self._ticket is not None:
            self._ticket.close()

    def _apply(self, event: Event) -> str:
        if isinstance(event, RequestFailed):  # after text was sent: end the reply there
            self.done = ChatDone(event.request_id, "", TurnStats(0, 0, 0.0, 0.0, 0.0, 0, "stop"))
            return self.scanner.flush()
        if isinstance(event, TokenEvent):
            text = self.scanner.feed(event.text)
            if self.scanner.hit:
                self.request.cancel.set()
            return text
        if isinstance(event, ChatDone):
            self.done = event
            return self.scanner.flush()
        return ""

    async def _next_or_gone(self, http: HttpRequest) -> Event:
        """The next event, or ``ClientGone`` as soon as the client disconnects."""
        assert self._ticket is not None
        if self._gone is None:
            self._gone = asyncio.ensure_future(_disconnected(http))
        getter = asyncio.ensure_future(self._ticket.next())
        await asyncio.wait({getter, self._gone}, return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            return getter.result()
        getter.cancel()  # the event stays queued: Queue.get gives nothing up when cancelled
        raise ClientGone

    def _stop_watching(self) -> None:
        """Stop reading the client's messages (the SSE response listens for itself)."""
        if self._gone is not None:
            self._gone.cancel()
            self._gone = None


async def _disconnected(http: HttpRequest) -> None:
    """Return when the client has gone (the body was read already: nothing else comes)."""
    while (await http.receive())["type"] != "http.disconnect":
        pass
