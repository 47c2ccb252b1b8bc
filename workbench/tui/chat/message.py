"""One turn in the transcript: who spoke, the text as Markdown, images, and its stats.

A user turn with images shows a thumbnail of each (read from the session's image folder
on a thread worker, so resuming a long session never stalls the screen) and its size.

A reply being generated gets a ``ReplyStream`` over its Markdown body; finished turns are
plain Markdown set once.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Markdown, Static

from workbench.core.types import TurnStats
from workbench.tui.chat.image_preview import ImagePreview
from workbench.tui.chat.streaming import ReplyStream
from workbench.tui.chat.turn_stats import TurnStatsView

ROLES = ("user", "assistant", "error")
THUMB_COLS, THUMB_ROWS = 16, 6


@cache
def chat_markdown_parser() -> MarkdownIt:
    """GitHub-like Markdown where a single newline is a line break, as in chat apps.

    One parser serves every message: Textual asks the factory for a parser on every
    ``update`` and on every streamed ``append``, and building one (compiling its rules)
    costs the UI thread a millisecond or two each time. A parser keeps no state between
    ``parse`` calls, so sharing it is safe.

    Models often write poems, lists and addresses with single newlines; plain Markdown
    would run those lines together.
    """
    parser = MarkdownIt("gfm-like", {"breaks": True})
    parser.core.ruler.push("soft_breaks_are_hard", _soft_breaks_are_hard)
    return parser


def _soft_breaks_are_hard(state: StateCore) -> None:
    """Turn soft line breaks into hard ones (the widget draws only hard ones as newlines)."""
    for token in state.tokens:
        for child in token.children or ():
            if child.type == "softbreak":
                child.type = "hardbreak"


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
    ChatMessageView > .images { height: auto; margin-bottom: 1; }
    ChatMessageView > .images > ImagePreview { margin-right: 2; }
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
            with Horizontal(classes="images"):
                for path in self.images:
                    yield ImagePreview(
                        path=path, max_cols=THUMB_COLS, max_rows=THUMB_ROWS, caption=True
                    )
        yield Markdown(self.content, parser_factory=chat_markdown_parser)
        yield TurnStatsView()

    def on_mount(self) -> None:
        # none when the view was removed before its mount ran (a chat cleared meanwhile)
        for view in self.query(TurnStatsView):
            view.show_stats(self.stats)

    def start_stream(self) -> ReplyStream:
        """Stream into this message's body (call once, on a mounted, empty reply)."""
        self.stream = ReplyStream(self.query_one(Markdown))
        return self.stream

    def recipe(self) -> Callable[[], ChatMessageView]:
        """What builds this message again once its widget is gone (with the text shown now)."""
        content = self.query_one(Markdown).source if self.is_mounted else self.content
        return partial(
            ChatMessageView,
            self.role,
            content,
            label=self.label,
            stats=self.stats,
            images=self.images,
        )

    async def fill(self, content: str) -> None:
        """Show ``content`` as this message's text (a pre-mounted view taking a question)."""
        self.content = content
        markdown = self.query_one(Markdown)
        if markdown.source or markdown.children:
            await markdown.update(content)
        else:  # empty: parsed here and mounted, with no trip to a thread pool and back
            await markdown.append(content)

    def set_label(self, label: str) -> None:
        self.label = label
        self.query_one(".role", Static).update(label)

    def show_stats(self, stats: TurnStats | None) -> None:
        self.stats = stats
        self.query_one(TurnStatsView).show_stats(stats)
