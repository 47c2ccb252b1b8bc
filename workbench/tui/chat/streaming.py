"""Coalesce streamed tokens into a Markdown widget without stalling the UI.

Tokens arrive in batches (see ``token_gate``); re-rendering per token grows to hundreds of
milliseconds on long replies. Here tokens are only appended to a buffer, and a timer
(30 Hz) drains the buffer into ``Markdown.get_stream()`` when a ``DrainPacer`` says the UI
thread can afford the redraw (``drain_pacer``: a fixed share of the UI thread's time).
Ending a stream flushes the buffer before stopping it: stopping with fragments still
queued raises. A lock keeps the timer's drain and the final flush from interleaving (timer
callbacks run in their own task).
"""

from __future__ import annotations

import asyncio

from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownStream

from workbench.tui.chat.drain_pacer import MIN_INTERVAL_S, DrainPacer

DRAIN_HZ = round(1 / MIN_INTERVAL_S)


class ReplyStream:
    """A buffer in front of one Markdown widget's ``MarkdownStream``."""

    def __init__(self, markdown: Markdown) -> None:
        self.markdown = markdown
        self._stream: MarkdownStream = Markdown.get_stream(markdown)
        self._buffer: list[str] = []
        self._lock = asyncio.Lock()
        self._closed = False
        self._written = False  # nothing has reached the widget yet
        self._pacer = DrainPacer()
        self._pieces: list[str] = []  # everything fed so far (joined on demand)

    @property
    def closed(self) -> bool:
        return self._closed

    def feed(self, text: str) -> None:
        """Queue text for the next drain (cheap: no rendering here)."""
        if not self._closed:
            self._buffer.append(text)
            self._pieces.append(text)

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
        async with self._lock:
            written = await self._write_buffer()
        self._pacer.drained()
        return written

    async def _write_buffer(self) -> bool:
        if self._closed or not self._buffer:
            return False
        chunk = "".join(self._buffer)
        self._buffer.clear()
        if self._written:
            await self._stream.write(chunk)
        else:  # the first text is in the widget when this returns (the stream is idle)
            self._written = True
            await self.markdown.append(chunk)
        return True

    async def close(self, final_text: str | None = None) -> None:
        """Flush, stop the stream, and (if it differs) show ``final_text`` instead."""
        async with self._lock:
            if self._closed:
                return
            await self._write_buffer()
            self._closed = True
            # Let the stream's task take its first step: one cancelled before it ever ran
            # raises CancelledError from ``stop`` (a reply that fails at once does this).
            await asyncio.sleep(0)
            await self._stream.stop()
        if final_text is not None and final_text != self.text:
            await self.markdown.update(final_text)
            self._pieces[:] = [final_text]
