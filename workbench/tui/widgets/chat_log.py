"""The transcript: a scrolling column that keeps only the last turns mounted.

A column of thousands of widgets makes every new message slow, so at most
``MAX_MOUNTED`` messages are widgets; older ones stay in the session data and a line at
the top says how many are not shown.
"""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Static

from workbench.tui.widgets.chat_message import ChatMessageView

MAX_MOUNTED = 40


class ChatLog(VerticalScroll):
    """Chat messages, newest at the bottom, scrolled to the end while it grows."""

    DEFAULT_CSS = """
    ChatLog {
        height: 1fr;
        padding: 0 1;
    }
    ChatLog > .earlier { color: $text-muted; text-style: italic; display: none; }
    ChatLog > .earlier.-shown { display: block; }
    ChatLog > .empty { color: $text-muted; padding: 1 0; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.hidden_count = 0

    def on_mount(self) -> None:
        self.anchor()

    @property
    def messages(self) -> list[ChatMessageView]:
        return list(self.query_children(ChatMessageView))

    async def clear_messages(self, hidden: int = 0, empty_text: str = "") -> None:
        """Remove every message; ``hidden`` older messages exist only as data."""
        await self.remove_children()
        self.hidden_count = hidden
        await self.mount(Static("", classes="earlier"))
        if empty_text:
            await self.mount(Static(empty_text, classes="empty"))
        self._show_hidden()

    async def add(self, *views: ChatMessageView) -> None:
        """Mount messages at the bottom, unmounting the oldest beyond ``MAX_MOUNTED``."""
        if not views:
            return
        await self.query_children(".empty").remove()
        await self.mount_all(views)
        mounted = self.messages
        excess = len(mounted) - MAX_MOUNTED
        if excess > 0:
            await self.remove_children(mounted[:excess])
            self.hidden_count += excess
            self._show_hidden()
        self.anchor()

    async def remove_last(self) -> None:
        mounted = self.messages
        if mounted:
            await mounted[-1].remove()

    def _show_hidden(self) -> None:
        label = self.query_children(".earlier").first(Static)
        count = self.hidden_count
        label.set_class(count > 0, "-shown")
        plural = "s" if count != 1 else ""
        label.update(f"… {count} earlier message{plural} not shown (kept in the session)")
