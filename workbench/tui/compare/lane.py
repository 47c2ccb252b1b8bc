"""One side of the compare view: which model, its streaming reply, and what it cost.

The reply streams through the same ``ReplyStream`` as the chat (a buffer drained into
``Markdown.get_stream()`` when the UI can afford it), so a long reply costs the UI no more here
than in the chat. Under it one line: time to first token, tokens/s, peak memory and the
model's size in the pool.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Markdown, Static

from workbench.core.types import TurnStats
from workbench.core.units import format_bytes
from workbench.tui.chat.markdown_body import MessageMarkdown
from workbench.tui.chat.message import chat_markdown_parser
from workbench.tui.chat.streaming import ReplyStream


def lane_stats(stats: TurnStats, size_bytes: int | None) -> str:
    """ "first token 0.42 s · 12.5 tok/s · peak memory 180 MB · size 92 MB · 8 tokens · stop" """
    return (
        f"first token {stats.time_to_first_token_s:.2f} s · {stats.generation_tps:.1f} tok/s · "
        f"peak memory {format_bytes(stats.peak_memory_bytes)} · size {format_bytes(size_bytes)} · "
        f"{stats.generation_tokens} tokens · {stats.finish_reason}"
    )


class CompareLane(Vertical):
    """A titled reply with its stats line; ``begin``, ``feed``, ``finish``."""

    DEFAULT_CSS = """
    CompareLane {
        width: 1fr;
        height: 1fr;
        border: round $primary 50%;
        border-title-color: $accent;
        padding: 0 1;
    }
    CompareLane > VerticalScroll { height: 1fr; }
    CompareLane Markdown { margin: 0; padding: 0; }
    CompareLane > .lane-stats { height: auto; color: $text-muted; }
    CompareLane.-failed { border: round $error; }
    """

    def __init__(self, side: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.side = side
        self.stream: ReplyStream | None = None
        self.border_title = f"{side} · no model chosen"

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield MessageMarkdown("", parser_factory=chat_markdown_parser)
        yield Static("", classes="lane-stats")

    @property
    def markdown(self) -> Markdown:
        return self.query_one(Markdown)

    @property
    def text(self) -> str:
        return self.stream.text if self.stream is not None else self.markdown.source

    def set_title(self, name: str, mode: str = "") -> None:
        self.border_title = f"{self.side} · {name}" + (f" ({mode})" if mode else "")

    async def begin(self, status: str) -> None:
        """Empty the lane and start a new stream; ``status`` shows until text comes."""
        await self.close_stream()
        self.remove_class("-failed")
        await self.markdown.update("")
        self.stream = ReplyStream(self.markdown, on_drawn=self._scroll_end)
        self.show_status(status)

    def show_status(self, text: str) -> None:
        self.query_one(".lane-stats", Static).update(text)

    def feed(self, text: str) -> None:
        if self.stream is not None:
            self.stream.feed(text)

    def _scroll_end(self) -> None:
        self.query_one(VerticalScroll).scroll_end(animate=False)

    async def finish(self, text: str, stats: TurnStats, size_bytes: int | None) -> None:
        """Flush and stop the stream, show the final text and the stats line."""
        stream, self.stream = self.stream, None
        if stream is not None:
            await stream.close(final_text=text)
        self.show_status(lane_stats(stats, size_bytes))

    async def fail(self, message: str) -> None:
        await self.close_stream()
        self.add_class("-failed")
        self.show_status(f"failed: {message}")

    async def close_stream(self) -> None:
        stream, self.stream = self.stream, None
        if stream is not None:
            await stream.close()
