"""The message editor: multi-line, with send on a key that terminals deliver.

Enter inserts a newline (messages are often several lines). Ctrl+S sends everywhere;
Ctrl+Enter also sends in terminals that report it (those with the kitty keyboard protocol).
A paste that is an image — a ``data:image/…`` URI, or the path of an image file, as a
terminal pastes a file dragged onto it — becomes an attachment instead of text.
"""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.widgets import TextArea

from workbench.tui.chat.attachments import pasted_image_sources


class ChatInput(TextArea):
    """A TextArea that posts ``Submitted`` with its text on Ctrl+S.

    The binding has priority: the app acts on it as the key arrives, where an ordinary one
    is found only after the key has bubbled, unhandled, through every container up to the
    screen and back to the app (a turn of the event loop each, before the send starts). The
    text is read after the keys that came before it, which may still be queued here.
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s,ctrl+enter", "submit", "Send", priority=True)
    ]

    DEFAULT_CSS = """
    ChatInput {
        height: 6;
        border: round $secondary 50%;
    }
    ChatInput:focus { border: round $secondary; }
    """

    class Submitted(Message):
        """The user asked to send the text."""

        def __init__(self, chat_input: ChatInput, text: str) -> None:
            super().__init__()
            self.chat_input = chat_input
            self.text = text

        @property
        def control(self) -> ChatInput:
            return self.chat_input

    class ImagesPasted(Message):
        """The user pasted images (data URIs or image file paths) rather than text."""

        def __init__(self, chat_input: ChatInput, sources: list[str]) -> None:
            super().__init__()
            self.chat_input = chat_input
            self.sources = sources

        @property
        def control(self) -> ChatInput:
            return self.chat_input

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(
            id=id,
            soft_wrap=True,
            show_line_numbers=False,
            tab_behavior="focus",
            placeholder="Message… (Ctrl+S sends, Enter adds a line, F3 attaches an image)",
        )

    async def _on_paste(self, event: events.Paste) -> None:
        """Images pasted become attachments; anything else is inserted by ``TextArea``."""
        if self.read_only:
            return
        sources = pasted_image_sources(event.text)
        if sources:
            event.prevent_default()  # keeps TextArea's own paste handler from inserting it
            event.stop()
            self.post_message(self.ImagesPasted(self, sources))

    def action_submit(self) -> None:
        # The binding runs as the key reaches the app; keys typed just before it may still
        # wait in this editor's queue. The text is read behind them, not now.
        self.call_later(self._submit)

    def _submit(self) -> None:
        self.post_message(self.Submitted(self, self.text))

    def restore(self, draft: str) -> None:
        """Give back a draft, keeping anything typed since (draft first)."""
        current = self.text
        if not draft.strip():  # an images-only question: nothing to give back here
            return
        if current.strip() and current != draft:
            draft = f"{draft}\n{current}"
        self.text = draft
        self.move_cursor(self.document.end)
