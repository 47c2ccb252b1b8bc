"""Coalesce streamed tokens into a Markdown widget without stalling the UI.

Tokens arrive in batches; re-rendering per token grows to hundreds of milliseconds on long
replies. Here text is only appended to a buffer, and the stream's own one-shot timer
drains the buffer into ``Markdown.get_stream()`` when a ``DrainPacer`` says the UI thread
can afford the redraw (``drain_pacer``: a fixed share of the UI thread's time; it also
learns how fast the text comes from the characters that arrive). The timer
sleeps until that moment rather than ticking at a fixed rate and asking, and a stream that
``follow``s a source takes the text from it at each drain: while a reply streams, the UI
thread wakes about once per redraw, not once per batch of tokens.

The first text is written with ``flush`` (the chat shows it at once, then releases its first
frame). Ending a stream flushes the buffer before stopping it: stopping with fragments still
queued raises. A lock keeps a drain and the final flush from interleaving (timer callbacks
run in their own task).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from textual.timer import Timer
from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownStream

from workbench.tui.chat.drain_pacer import DrainPacer


class ReplyStream:
    """A buffer in front of one Markdown widget's ``MarkdownStream``.

    ``on_drawn`` runs after each drain that wrote text (the chat draws its progress line
    in the same frame; a compare lane scrolls to its end).
    """

    def __init__(
        self,
        markdown: Markdown,
        on_drawn: Callable[[], None] | None = None,
        pacer: DrainPacer | None = None,
    ) -> None:
        self.markdown = markdown
        self._stream: MarkdownStream = Markdown.get_stream(markdown)
        self._buffer: list[str] = []
        self._lock = asyncio.Lock()
        self._closed = False
        self._written = False  # nothing has reached the widget yet
        self._drawn_chars = 0  # characters written to the widget so far (for the pacer)
        self._arrived_chars = 0  # characters fed or taken so far, drawn or not
        self._pacer = pacer or DrainPacer()
        self._pieces: list[str] = []  # everything fed so far (joined on demand)
        self._source: Callable[[], str] | None = None
        self._timer: Timer | None = None
        self._on_drawn = on_drawn

    @property
    def closed(self) -> bool:
        return self._closed

    def feed(self, text: str) -> None:
        """Queue text for the next drain (cheap: no rendering here)."""
        if not self._closed and text:
            self._keep(text)
            self._schedule()

    def follow(self, source: Callable[[], str]) -> None:
        """Take more text from ``source`` whenever a drain is due, until the stream ends."""
        self._source = source
        self._schedule()

    @property
    def text(self) -> str:
        """Everything fed so far."""
        if len(self._pieces) > 1:
            self._pieces[:] = ["".join(self._pieces)]
        return self._pieces[0] if self._pieces else ""

    async def drain(self) -> bool:
        """Write what is buffered to the stream, if the pacer says a redraw is affordable
        now; True if anything was written."""
        if not self._buffer or not self._pacer.due():
            return False
        return await self.flush()

    async def flush(self) -> bool:
        """Write what is buffered now, pacer or not (after any write under way); True if
        anything was written."""
        async with self._lock:
            written = await self._write_buffer()
        if written:
            self._pacer.drained(self._drawn_chars)
            if self._on_drawn is not None:
                self._on_drawn()
        return written

    def _schedule(self) -> None:
        """Wake once, when the pacer says the next drain will be affordable (with nothing
        buffered, only to ask the source: not more often than the pacer's top rate)."""
        if self._timer is None and not self._closed and (self._buffer or self._source):
            delay = self._pacer.delay()
            if not self._buffer:
                delay = max(delay, self._pacer.min_interval)
            self._timer = self.markdown.set_timer(delay, self._due, name="reply drain")

    async def _due(self) -> None:
        self._timer = None
        if self._closed:
            return
        self._take_more()
        await self.drain()
        self._schedule()

    def _take_more(self) -> None:
        if self._source is not None and (more := self._source()):
            self._keep(more)

    def _keep(self, text: str) -> None:
        self._buffer.append(text)
        self._pieces.append(text)
        self._arrived_chars += len(text)
        self._pacer.arrived(self._arrived_chars)

    async def _write_buffer(self) -> bool:
        if self._closed or not self._buffer:
            return False
        chunk = "".join(self._buffer)
        self._buffer.clear()
        self._drawn_chars += len(chunk)
        if self._written:
            await self._stream.write(chunk)
        else:  # the first text is in the widget when this returns (the stream is idle)
            self._written = True
            await self.markdown.append(chunk)
        return True

    async def close(self, final_text: str | None = None) -> None:
        """Flush, stop the stream, and (if it differs) show ``final_text`` instead."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        async with self._lock:
            if self._closed:
                return
            self._take_more()
            await self._write_buffer()
            self._closed = True
            # Let the stream's task take its first step: one cancelled before it ever ran
            # raises CancelledError from ``stop`` (a reply that fails at once does this).
            await asyncio.sleep(0)
            await self._stream.stop()
        if final_text is not None and final_text != self.text:
            await self.markdown.update(final_text)
            self._pieces[:] = [final_text]
