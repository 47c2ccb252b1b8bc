"""One request in flight, as its caller holds it: its events, in order, until the final one.

``Runner.submit`` returns a ``RequestHandle`` (as mlx-lm's server gives each request its own
response queue). The runner delivers to the handle every event that names the request, on
the thread that made the event (the owner thread, or the caller's for the bookkeeping
requests). The caller reads them one of two ways:

- **queued** (the CLI, tests): ``next`` blocks for the next event, ``events`` iterates until
  the final one, ``result`` returns the final event or raises the exception the failure
  carries — the real class, never a name looked up again;
- **pushed** (the TUI posts messages, the server hands events to its asyncio loop): with a
  ``sink``, each event goes to ``sink(event)`` as it is delivered, on the delivering thread,
  so the sink must be quick and thread-safe (``post_message``, ``call_soon_threadsafe``).

Which event is final is the request's own declaration (``Request.is_final``, in the
protocol); ``RequestFailed`` ends any request. Nothing is delivered after the final event.
The runner's callback still receives every event besides; that one is for what no request
owns (pool snapshots, loads and evictions seen by a pool view or a server's subscribers).
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator

from workbench.core.protocol import Event, Request, RequestFailed

Sink = Callable[[Event], None]


class RequestHandle:
    """The caller's side of one request: read its events, wait for its end, or cancel it."""

    def __init__(self, request: Request, sink: Sink | None = None) -> None:
        self.request = request
        self._sink = sink
        self._queue: queue.SimpleQueue[Event] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._final: Event | None = None
        self._read_final = False

    # ------------------------------------------------------------------ runner side

    def deliver(self, event: Event) -> bool:
        """Hand ``event`` to the caller (thread-safe); ``False`` once the request has ended.

        The sink is called under the handle's lock, so events reach it in order and never
        after the final one.
        """
        with self._lock:
            if self._done.is_set():
                return False
            final = self.request.is_final(event)
            if final:
                self._final = event
            try:
                if self._sink is not None:
                    self._sink(event)
                else:
                    self._queue.put(event)
            finally:  # a failing sink still ends the request
                if final:
                    self._done.set()
        return True

    # ------------------------------------------------------------------ caller side

    @property
    def finished(self) -> bool:
        """Whether the final event has been delivered (it may not have been read yet).

        True too once the caller has read it: the runner's thread queues the final event
        before it marks the end, and a caller woken by the event in between must not take
        its request for one still running (and cancel it, or wait for more)."""
        return self._read_final or self._done.is_set()

    @property
    def final(self) -> Event | None:
        """The final event once delivered, else ``None``."""
        return self._final

    def next(self, timeout: float | None = None) -> Event:
        """The next event, blocking; ``TimeoutError`` after ``timeout`` seconds without one.

        After the final event has been read, nothing more comes: ``RuntimeError``.
        """
        if self._sink is not None:
            raise RuntimeError("this request's events go to its sink")
        if self._read_final:
            raise RuntimeError(f"request {self.request.request_id} has already ended")
        try:
            event = self._queue.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no event for request {self.request.request_id}") from None
        if event is self._final:
            self._read_final = True
        return event

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Every event still to come, the final one included (``timeout`` per event)."""
        while not self._read_final:
            yield self.next(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the final event is delivered; ``False`` if ``timeout`` passed first."""
        return self._done.wait(timeout)

    def result(self, timeout: float | None = None) -> Event:
        """The final event; the carried exception is raised when the request failed.

        Queued events before the final one are consumed. ``TimeoutError`` if the request
        has not ended within ``timeout`` seconds.
        """
        if self._sink is not None:
            if not self._done.wait(timeout):
                raise TimeoutError(f"request {self.request.request_id} has not ended")
        else:
            deadline = None if timeout is None else time.monotonic() + timeout
            while not self._read_final:
                left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
                self.next(left)
        final = self._final
        assert final is not None
        if isinstance(final, RequestFailed):
            raise final.exception
        return final

    def cancel(self) -> None:
        """Ask the runner to stop this request early (its final event still comes)."""
        self.request.cancel.set()
