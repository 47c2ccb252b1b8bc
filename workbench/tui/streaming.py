"""Coalesce streamed tokens into a Markdown widget without stalling the UI.

Tokens arrive one message each; re-rendering per token grows to hundreds of milliseconds on
long replies. Here tokens are only appended to a buffer, and a timer (~25 Hz) drains the
buffer into ``Markdown.get_stream()``, whose cost stays flat. Ending a stream flushes the
buffer before stopping it: stopping with fragments still queued raises. A lock keeps the
timer's drain and the final flush from interleaving (timer callbacks run in their own task).
"""

from __future__ import annotations

import asyncio

from textual.widgets import Markdown
from textual.widgets.markdown import MarkdownStream

DRAIN_HZ = 25


class ReplyStream:
    """A buffer in front of one Markdown widget's ``MarkdownStream``."""

    def __init__(self, markdown: Markdown) -> None:
        self.markdown = markdown
        self._stream: MarkdownStream = Markdown.get_stream(markdown)
        self._buffer: list[str] = []
        self._lock = asyncio.Lock()
        self._closed = False
        self.text = ""  # everything fed so far

    @property
    def closed(self) -> bool:
        return self._closed

    def feed(self, text: str) -> None:
        """Queue text for the next drain (cheap: no rendering here)."""
        if not self._closed:
            self._buffer.append(text)
            self.text += text

    async def drain(self) -> bool:
        """Write what is buffered to the stream; True if anything was written."""
        async with self._lock:
            return await self._write_buffer()

    async def _write_buffer(self) -> bool:
        if self._closed or not self._buffer:
            return False
        chunk = "".join(self._buffer)
        self._buffer.clear()
        await self._stream.write(chunk)
        return True

    async def close(self, final_text: str | None = None) -> None:
        """Flush, stop the stream, and (if it differs) show ``final_text`` instead."""
        async with self._lock:
            if self._closed:
                return
            await self._write_buffer()
            self._closed = True
            await self._stream.stop()
        if final_text is not None and final_text != self.text:
            await self.markdown.update(final_text)
            self.text = final_text
