"""One line above the chat editor: what the model is doing with the turn right now.

A long prompt used to show only "generating" for most of a minute. While the prompt is
read this line says "reading the prompt: 1,536 / 4,096 tokens (37 %)" (from mlx-lm's
prompt-progress callback, cached tokens counted as read), then "generating: 52 tokens"
as the reply streams, and it hides when the turn ends. The token count and the reading
progress are stored as they come and drawn by a 4 Hz timer until the reply's text flows;
from then on the chat draws the line with each redraw of the reply (``draw``), in the same
frame, so streaming costs one store per event and no repaint of its own, and a short prompt
(read in a few milliseconds, while the runner also needs the GIL for the first token) costs
no redraw at all.

The chat header's "context used / context length" comes from here too: used is the last
reply's prompt plus its generated tokens, the length the model's own (reported with the
prompt progress).
"""

from __future__ import annotations

from textual.timer import Timer
from textual.widgets import Static

from workbench.core.sessions.store import Session

REFRESH_HZ = 4


def reading_text(processed: int, total: int) -> str:
    """ "reading the prompt: 1,536 / 4,096 tokens (37 %)"."""
    share = f" ({100 * processed // total} %)" if total else ""
    return f"reading the prompt: {processed:,} / {total:,} tokens{share}"


def generating_text(generated: int) -> str:
    """ "generating: 52 tokens" ("generating…" before the first count arrives)."""
    if generated <= 0:
        return "generating…"
    return f"generating: {generated:,} token{'s' * (generated != 1)}"


class ChatStatus(Static):
    """The turn's progress; blank while no turn runs.

    Its line is kept, not removed, between turns: showing a removed line would shorten the
    transcript above it, and every message in it would be laid out again for the new height
    (at a send, when the first token is due: 100–170 ms on our 2-core VM, against 30–50 ms
    when the line stays).
    """

    DEFAULT_CSS = """
    ChatStatus {
        height: 1;
        padding: 0 1;
        color: $text-muted;
        visibility: hidden;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.generated = 0  # set as the reply's text is taken; drawn by the timer or ``draw``
        self._reading: tuple[int, int] | None = None
        self._timer: Timer | None = None
        self._shown = ""

    def on_mount(self) -> None:
        self._timer = self.set_interval(1 / REFRESH_HZ, self._draw, pause=True)

    @property
    def text(self) -> str:
        """What the line says now."""
        if self._reading is not None:
            return reading_text(*self._reading)
        return generating_text(self.generated)

    def begin(self) -> None:
        """A turn was sent: show the line until ``end``."""
        self.generated, self._reading = 0, None
        self.visible = True  # a style of its own: no stylesheet matching, unlike a class
        self._draw()
        if self._timer is not None:
            self._timer.resume()

    def reading(self, processed: int, total: int) -> None:
        """The prompt is being read (the last report, ``processed == total``, ends it);
        the next tick of the timer draws it."""
        self._reading = (processed, total) if processed < total else None

    def draw(self) -> None:
        """Draw the line now; the reply's redraws pace it from here (the timer stops)."""
        if self._timer is not None:
            self._timer.pause()
        self._draw()

    def end(self) -> None:
        self.visible = False
        self._reading = None
        if self._timer is not None:
            self._timer.pause()

    def _draw(self) -> None:
        # One line of fixed height: a new text never changes the layout, so only this
        # line is repainted (a layout pass costs the whole screen several milliseconds).
        text = self.text
        if text != self._shown:
            self._shown = text
            self.update(text, layout=False)


def context_used(session: Session) -> int | None:
    """Tokens the conversation fills: the last reply's prompt plus what it generated."""
    for message in reversed(session.messages):
        if message.role == "assistant" and message.stats is not None:
            return message.stats.prompt_tokens + message.stats.generation_tokens
    return None


def context_text(used: int | None, length: int | None) -> str:
    """ "context 1,234 / 8,192 (15 %)", "context 1,234 tokens", or "" before any reply."""
    if used is None:
        return f"context 0 / {length:,}" if length else ""
    if not length:
        return f"context {used:,} tokens"
    return f"context {used:,} / {length:,} ({100 * used // length} %)"
