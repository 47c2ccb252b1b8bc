"""One turn in the transcript: who spoke, the text as Markdown, images, and its stats.

A reply being generated gets a ``ReplyStream`` over its Markdown body; finished turns are
plain Markdown set once.
"""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Markdown, Static

from workbench.core.types import TurnStats
from workbench.tui.streaming import ReplyStream
from workbench.tui.widgets.turn_stats import TurnStatsView

ROLES = ("user", "assistant", "error")


class ChatMessageView(Vertical):
    """A user question, an assistant reply, or an inline error."""

    DEFAULT_CSS = """
    ChatMessageView {
        height: auto;
        padding: 0 1;
        margin-bottom: 1;
    }
    ChatMessageView > .role { text-style: bold; color: $text-muted; }
    ChatMessageView.-user > .role { color: $secondary; }
    ChatMessageView.-assistant > .role { color: $accent; }
    ChatMessageView.-error > .role { color: $error; }
    ChatMessageView.-error { border-left: thick $error; }
    ChatMessageView.-user { border-left: thick $secondary 50%; }
    ChatMessageView > Markdown { margin: 0; padding: 0; }
    ChatMessageView > .images { color: $text-muted; }
    """

    def __init__(
        self,
        role: str,
        content: str = "",
        *,
        label: str,
        stats: TurnStats | None = None,
        images: tuple[str, ...] = (),
    ) -> None:
        super().__init__(classes=f"-{role}" if role in ROLES else "")
        self.role = role
        self.content = content
        self.label = label
        self.stats = stats
        self.images = images
        self.stream: ReplyStream | None = None

    def compose(self) -> ComposeResult:
        yield Static(self.label, classes="role")
        if self.images:
            names = ", ".join(Path(p).name for p in self.images)
            yield Static(f"📎 {names}", classes="images")
        yield Markdown(self.content)
        yield TurnStatsView()

    def on_mount(self) -> None:
        self.query_one(TurnStatsView).show_stats(self.stats)

    def start_stream(self) -> ReplyStream:
        """Stream into this message's body (call once, on a mounted, empty reply)."""
        self.stream = ReplyStream(self.query_one(Markdown))
        return self.stream

    def set_label(self, label: str) -> None:
        self.label = label
        self.query_one(".role", Static).update(label)

    def show_stats(self, stats: TurnStats | None) -> None:
        self.stats = stats
        self.query_one(TurnStatsView).show_stats(stats)
