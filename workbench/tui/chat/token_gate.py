"""Streamed tokens cross from the runner thread in batches, not one message each.

A GPU decodes hundreds of tokens a second. One message per token wakes the UI thread (and
takes the GIL from the generating thread) hundreds of times a second for almost no work.
The gate keeps tokens in a list on the runner's side and posts one ``TokensWaiting`` wake-up;
the UI thread takes everything waiting at once, and the gate stays shut for ``gap``
seconds after each take, so wake-ups come at most ``1 / gap`` times a second. The first
token of a reply passes at once (the gate starts open), and any other event of a request
(its end, a failure) first releases the tokens before it, so order is kept.

A consumer that comes back for tokens on its own schedule (the chat takes them when it can
draw them) takes with ``reopen=False``: the gate then stays shut and wakes nobody until the
request's next other event releases what is waiting.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass

from workbench.core.protocol import Event, TokenEvent

DEFAULT_GAP_S = 0.02


@dataclass(frozen=True)
class TokensWaiting(Event):
    """Tokens are waiting in the gate: take them with ``TokenGate.take`` (UI-side only)."""


class TokenGate:
    """Batches ``TokenEvent``s from one producer thread for one consumer (the UI thread)."""

    def __init__(self, post: Callable[[Event], None], gap: float = DEFAULT_GAP_S) -> None:
        self._post = post
        self.gap = gap
        self._lock = threading.Lock()
        self._waiting: list[TokenEvent] = []
        self._open = True  # no wake-up posted and none due
        self._reopen: asyncio.TimerHandle | None = None

    def offer(self, event: TokenEvent) -> None:
        """Producer side: keep ``event``; post a wake-up if the gate is open."""
        with self._lock:
            self._waiting.append(event)
            wake, self._open = self._open, False
        if wake:
            self._post(TokensWaiting(None))

    def release(self) -> None:
        """Producer side, before any other event: wake the consumer for what is waiting."""
        with self._lock:
            if not self._waiting:
                return
            self._open = False
        self._post(TokensWaiting(None))

    def take(self, reopen: bool = True) -> list[TokenEvent]:
        """Consumer side: everything waiting, merged per request, in order; the gate
        reopens ``gap`` seconds later, or (``reopen=False``) stays shut."""
        with self._lock:
            waiting, self._waiting = self._waiting, []
        if reopen:
            self._schedule_reopen()
        runs: list[tuple[int | None, list[str], int]] = []  # request, texts, tokens so far
        for event in waiting:
            if runs and runs[-1][0] == event.request_id:
                runs[-1][1].append(event.text)
                runs[-1] = (event.request_id, runs[-1][1], event.generated)
            else:
                runs.append((event.request_id, [event.text], event.generated))
        return [TokenEvent(rid, "".join(texts), generated) for rid, texts, generated in runs]

    def _schedule_reopen(self) -> None:
        if self._reopen is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._on_reopen()
            return
        self._reopen = loop.call_later(self.gap, self._on_reopen)

    def _on_reopen(self) -> None:
        self._reopen = None
        with self._lock:
            wake = bool(self._waiting)
            self._open = not wake
        if wake:
            self._post(TokensWaiting(None))
