"""One turn in the transcript: who spoke, the text as Markdown, images, and its stats.

A user turn with images shows a thumbnail of each (read from the session's image folder
on a thread worker, so resuming a long session never stalls the screen) and its size.

A reply being generated gets a ``ReplyStream`` over its Markdown body; finished turns are
plain Markdown set once. The spare question (see ``ChatLog.prepare_spare``) also holds a
hidden plain-text body: a question with nothing Markdown would draw differently (most of
them) is shown there with one ``update``, where Markdown would parse it and mount a block,
which the stylesheet must then style, while the model reads the prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache, partial
from itertools import pairwise

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Markdown, Static

from workbench.core.types import TurnStats
from workbench.tui.chat.image_preview import ImagePreview
from workbench.tui.chat.markdown_body import MessageMarkdown
from workbench.tui.chat.streaming import ReplyStream
from workbench.tui.chat.turn_stats import TurnStatsView

ROLES = ("user", "assistant", "error")
THUMB_COLS, THUMB_ROWS = 16, 6
# characters Markdown draws as they are (with the chat parser: no typographer)
PLAIN_PUNCTUATION = frozenset(" ,.;:?!'\"()%$+=/-")


def is_plain_text(text: str) -> bool:
    """Whether Markdown would draw ``text`` exactly as written: one line starting with a
    letter (no list, heading or quote), single spaces, nothing it would turn into a link
    (a dot or an at sign right before a letter), and no character with a meaning in
    Markdown or HTML."""
    if not text or "\n" in text or not text[0].isalpha() or "  " in text:
        return False
    if text[-1] == " " or any(a in ".@" and b.isalnum() for a, b in pairwise(text)):
        return False  # "example.com", "a@b.org": linked by the parser
    return all(c.isalnum() or c in PLAIN_PUNCTUATION for c in text)


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
    ChatMessageView > .plain { margin: 0 0 1 0; color: $foreground; }
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
        plain_body: bool = False,
    ) -> None:
        """``plain_body``: also hold a hidden plain-text body that ``fill`` may use."""
        super().__init__(classes=f"-{role}" if role in ROLES else "")
        self.role = role
        self.content = content
        self.label = label
        self.stats = stats
        self.images = images
        self.stream: ReplyStream | None = None
        self._plain: Static | None = None
        if plain_body:
            self._plain = Static("", classes="plain", markup=False)
            self._plain.display = False  # its own style: showing it matches no stylesheet

    def compose(self) -> ComposeResult:
        yield Static(self.label, classes="role")
        if self.images:
            with Horizontal(classes="images"):
                for path in self.images:
                    yield ImagePreview(
                        path=path, max_cols=THUMB_COLS, max_rows=THUMB_ROWS, caption=True
                    )
        if self._plain is not None:
            yield self._plain
        yield MessageMarkdown(self.content, parser_factory=chat_markdown_parser)
        yield TurnStatsView()

    def on_mount(self) -> None:
        # none when the view was removed before its mount ran (a chat cleared meanwhile)
        for view in self.query(TurnStatsView):
            view.show_stats(self.stats)

    def start_stream(self, on_drawn: Callable[[], None] | None = None) -> ReplyStream:
        """Stream into this message's body (call once, on a mounted, empty reply);
        ``on_drawn`` runs after each redraw of new text."""
        self.stream = ReplyStream(self.query_one(Markdown), on_drawn=on_drawn)
        return self.stream

    @property
    def text(self) -> str:
        """What the message says now (a reply being streamed: what reached the widget)."""
        if not self.is_mounted or (self._plain is not None and self._plain.display):
            return self.content
        return self.query_one(Markdown).source

    def recipe(self) -> Callable[[], ChatMessageView]:
        """What builds this message again once its widget is gone (with the text shown now)."""
        return partial(
            ChatMessageView,
            self.role,
            self.text,
            label=self.label,
            stats=self.stats,
            images=self.images,
        )

    async def fill(self, content: str) -> None:
        """Show ``content`` as this message's text (a pre-mounted view taking a question)."""
        self.content = content
        if self._plain is not None and is_plain_text(content):
            self._plain.update(content)
            self._plain.display = True
            return
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
