"""The chat pane: a header, the transcript, and the editor.

It shows a conversation and streams a reply into it; what a send or a cancel means is
decided above it (the screen and its chat controller). Tokens are fed into a buffer and a
~25 Hz timer drains it into the reply's ``MarkdownStream``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Static

from workbench.core.sessions import Session, SessionMessage
from workbench.core.types import TurnStats
from workbench.tui.streaming import DRAIN_HZ
from workbench.tui.widgets.chat_input import ChatInput
from workbench.tui.widgets.chat_log import MAX_MOUNTED, ChatLog
from workbench.tui.widgets.chat_message import ChatMessageView

EMPTY_TEXT = "No messages yet. Choose a chat model in Models (Enter), type below, Ctrl+S sends."


def message_view(message: SessionMessage, names: Mapping[str, str]) -> ChatMessageView:
    """The widget for a stored turn."""
    if message.role == "user":
        label = "You"
    else:
        label = names.get(message.model_id or "", message.model_id or "assistant")
    return ChatMessageView(
        message.role, message.content, label=label, stats=message.stats, images=message.images
    )


class ChatPane(Vertical):
    """Transcript and editor for one session."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel reply"),
        Binding("ctrl+r", "regenerate", "Regenerate"),
    ]

    DEFAULT_CSS = """
    ChatPane { height: 1fr; }
    ChatPane > #chat-header {
        height: auto;
        padding: 0 1;
        background: $boost;
        color: $text-muted;
    }
    """

    class SendRequested(Message):
        """Send this text as the next question."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class CancelRequested(Message):
        """Stop the reply being generated."""

    class RegenerateRequested(Message):
        """Answer the last question again."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._reply: ChatMessageView | None = None
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static("no model chosen", id="chat-header")
        yield ChatLog(id="chat-log")
        yield ChatInput(id="chat-input")

    def on_mount(self) -> None:
        self._timer = self.set_interval(1 / DRAIN_HZ, self._drain, pause=True)

    @property
    def log_view(self) -> ChatLog:
        return self.query_one(ChatLog)

    @property
    def input(self) -> ChatInput:
        return self.query_one(ChatInput)

    @property
    def streaming(self) -> bool:
        return self._reply is not None

    def set_header(self, text: str) -> None:
        self.query_one("#chat-header", Static).update(text)

    # ----------------------------------------------------------------- keys and input

    def on_chat_input_submitted(self, event: ChatInput.Submitted) -> None:
        event.stop()
        self.post_message(self.SendRequested(event.text))

    def action_cancel(self) -> None:
        self.post_message(self.CancelRequested())

    def action_regenerate(self) -> None:
        self.post_message(self.RegenerateRequested())

    def restore_draft(self, draft: str) -> None:
        self.input.restore(draft)

    # ----------------------------------------------------------------- transcript

    async def show_session(self, session: Session, names: Mapping[str, str]) -> None:
        """Replace the transcript with a stored session (only the last turns mounted)."""
        await self._abandon_reply()
        messages = session.messages
        hidden = max(len(messages) - MAX_MOUNTED, 0)
        log = self.log_view
        await log.clear_messages(hidden, "" if messages else EMPTY_TEXT)
        await log.add(*(message_view(m, names) for m in messages[hidden:]))
        log.scroll_end(animate=False)

    async def add_messages(self, messages: Iterable[SessionMessage], names: Mapping) -> None:
        await self.log_view.add(*(message_view(m, names) for m in messages))

    async def remove_last(self) -> None:
        await self.log_view.remove_last()

    async def add_error(self, text: str) -> None:
        await self.log_view.add(ChatMessageView("error", text, label="Error"))

    # ----------------------------------------------------------------- streaming a reply

    async def begin_reply(self, label: str) -> None:
        """Add an empty reply and start streaming into it."""
        await self._abandon_reply()
        view = ChatMessageView("assistant", label=f"{label} · generating")
        await self.log_view.add(view)
        view.start_stream()
        self._reply = view
        if self._timer is not None:
            self._timer.resume()

    def feed(self, text: str) -> None:
        """Queue streamed text for the next drain."""
        if self._reply is not None and self._reply.stream is not None:
            self._reply.stream.feed(text)

    async def _drain(self) -> None:
        reply = self._reply
        if reply is not None and reply.stream is not None and await reply.stream.drain():
            self.log_view.scroll_end(animate=False)

    async def finish_reply(self, label: str, text: str, stats: TurnStats) -> None:
        """Flush, stop the stream, show the final text and the stats."""
        reply, self._reply = self._reply, None
        self._pause()
        if reply is None:
            return
        if reply.stream is not None:
            await reply.stream.close(final_text=text)
        reply.set_label(label)
        reply.show_stats(stats)
        self.log_view.scroll_end(animate=False)

    async def drop_reply(self) -> None:
        """Remove the reply being streamed (the turn failed)."""
        reply, self._reply = self._reply, None
        self._pause()
        if reply is not None:
            if reply.stream is not None:
                await reply.stream.close()
            await reply.remove()

    async def _abandon_reply(self) -> None:
        if self._reply is not None:
            await self.drop_reply()

    def _pause(self) -> None:
        if self._timer is not None:
            self._timer.pause()
