"""The chat pane: a header, the transcript, the images to attach, and the editor.

It shows a conversation and streams a reply into it; what a send or a cancel means is
decided above it (the screen and its chat controller). A reply's text is fed into its
``ReplyStream``, which draws it when the UI can afford a redraw, taking the rest of the
reply from the runner's token gate itself (``follow``).

Images are attached with F3 (a dialog the screen opens: path, URL, data URI or a file tree;
this pane only asks for it, with ``AttachRequested``) or by pasting a
data URI or an image path into the editor. Each is read and prepared on a thread worker —
a URL may take seconds, and neither the UI thread nor the MLX owner thread may wait for
it — which reports back with a message; a failure is one notification and the draft stays.
The same worker makes the card's thumbnail (a resize the UI thread must not wait for).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from pathlib import Path
from typing import ClassVar

from PIL.Image import Image
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from workbench.core.errors import WorkbenchError, one_line
from workbench.core.images.prepare import DEFAULT_MAX_SIDE, PreparedImage, prepare_image
from workbench.core.sessions.store import Session, SessionMessage
from workbench.core.types import TurnStats
from workbench.tui.chat.attachments import AttachmentStrip, short_source
from workbench.tui.chat.draft import Draft
from workbench.tui.chat.image_preview import make_thumbnail
from workbench.tui.chat.input import ChatInput
from workbench.tui.chat.log import MAX_MOUNTED, ChatLog
from workbench.tui.chat.message import ChatMessageView
from workbench.tui.chat.status import ChatStatus

SHORT_HEIGHT = 30  # rows below which the editor and the image strip shrink
EMPTY_TEXT = (
    "No messages yet. Choose a chat model in Models (Enter), type below, Ctrl+S sends. "
    "F3 attaches an image (vision models)."
)


def empty_text(model_name: str | None) -> str:
    """The empty chat's hint: how to start, naming the model when one is chosen."""
    if not model_name:
        return EMPTY_TEXT
    return (
        f"No messages yet. Type below to chat with {model_name}; Ctrl+S sends. "
        "F3 attaches an image (vision models)."
    )


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
        Binding("f3", "attach", "Attach"),
    ]

    DEFAULT_CSS = """
    ChatPane { height: 1fr; }
    ChatPane.-short #attachments { max-height: 5; }
    ChatPane.-short #chat-input { height: 4; }
    ChatPane.-short AttachmentCard > .details { width: 22; }
    ChatPane > #chat-header {
        height: 2;  /* fixed: a new title or context must not relay the transcript */
        text-wrap: nowrap;
        text-overflow: ellipsis;
        padding: 0 1;
        background: $boost;
        color: $text-muted;
    }
    """

    class SendRequested(Message):
        """Send this text, with these images, as the next question."""

        def __init__(self, text: str, images: tuple[PreparedImage, ...] = ()) -> None:
            super().__init__()
            self.text = text
            self.images = images

    class ImagePrepared(Message):
        """An image is ready to attach (posted from the preparing thread)."""

        def __init__(self, token: int, prepared: PreparedImage, thumbnail: Image) -> None:
            super().__init__()
            self.token = token
            self.prepared = prepared
            self.thumbnail = thumbnail

    class ImageFailed(Message):
        """An image cannot be attached; ``reason`` is one line (posted from the thread)."""

        def __init__(self, token: int, reason: str) -> None:
            super().__init__()
            self.token = token
            self.reason = reason

    class CancelRequested(Message):
        """Stop the reply being generated."""

    class RegenerateRequested(Message):
        """Answer the last question again."""

    class AttachRequested(Message):
        """Open the attach dialog in ``folder``; give the choice to ``attach_chosen``."""

        def __init__(self, pane: ChatPane, folder: Path | None) -> None:
            super().__init__()
            self.pane = pane
            self.folder = folder

        @property
        def control(self) -> ChatPane:
            return self.pane

    def __init__(self, *, image_max_side: int = DEFAULT_MAX_SIDE, id: str | None = None) -> None:
        super().__init__(id=id)
        self._reply: ChatMessageView | None = None
        self._tokens = itertools.count(1)
        self._preparing: dict[Worker, tuple[int, str]] = {}
        self.image_max_side = image_max_side  # longest side of images sent to a model
        self.attach_folder: Path | None = None  # where the file picker opens next
        self.model_name: str | None = None  # the chosen model, named by the empty chat's hint

    def compose(self) -> ComposeResult:
        yield Static("no model chosen", id="chat-header")
        yield ChatLog(id="chat-log")
        yield ChatStatus(id="chat-status")
        yield AttachmentStrip(id="attachments")
        yield ChatInput(id="chat-input")

    def on_mount(self) -> None:
        self.call_after_refresh(self.log_view.prepare_spare)

    @property
    def log_view(self) -> ChatLog:
        return self.query_one(ChatLog)

    @property
    def input(self) -> ChatInput:
        return self.query_one(ChatInput)

    @property
    def attachments(self) -> AttachmentStrip:
        return self.query_one(AttachmentStrip)

    @property
    def status(self) -> ChatStatus:
        return self.query_one(ChatStatus)

    def on_resize(self) -> None:
        """A short pane gives the transcript the rows: smaller editor and image strip."""
        self.set_class(self.size.height < SHORT_HEIGHT, "-short")

    def set_model_name(self, name: str | None) -> None:
        """Name the chosen model in the empty chat's hint (if that hint is on show)."""
        self.model_name = name
        for hint in self.log_view.query_children(".empty"):
            if isinstance(hint, Static):
                hint.update(empty_text(name))

    @property
    def streaming(self) -> bool:
        return self._reply is not None

    def set_header(self, text: str) -> None:
        """Show ``text`` in the chat header (an unchanged text costs no layout pass)."""
        header = self.query_one("#chat-header", Static)
        if str(header.content) != text:
            header.update(text)

    # ----------------------------------------------------------------- keys and input

    def on_chat_input_submitted(self, event: ChatInput.Submitted) -> None:
        event.stop()
        waiting = self.attachments.preparing
        if waiting:
            plural = "s are" if waiting > 1 else " is"
            self.notify(f"{waiting} image{plural} still being prepared", severity="warning")
            return
        # to the screen that sends it, not bubbled through the containers between (a turn
        # of the event loop each, all before the request is submitted)
        self.screen.post_message(self.SendRequested(event.text, self.attachments.attachments))

    def action_cancel(self) -> None:
        self.post_message(self.CancelRequested())

    def action_regenerate(self) -> None:
        self.post_message(self.RegenerateRequested())

    def restore_draft(self, draft: Draft) -> None:
        """Give a question back to the editor: its text and its images."""
        self.input.restore(draft.text)
        self.attachments.restore(draft.images)

    async def clear_draft(self) -> None:
        """Empty the editor and the attachments (the question was sent)."""
        self.input.clear()
        if self.attachments.attachments:
            await self.attachments.clear()

    # ----------------------------------------------------------------- attachments

    def action_attach(self) -> None:
        """Ask for the attach dialog (the screen opens it and hands back what is chosen)."""
        self.post_message(self.AttachRequested(self, self.attach_folder))

    def attach_chosen(self, source: str | None) -> None:
        """The attach dialog closed: prepare what it returned (if anything)."""
        if source:
            self.attach(source)
        self.input.focus()

    def attach(self, source: str) -> None:
        """Prepare ``source`` (path, URL or data URI) on a thread worker and attach it."""
        token = next(self._tokens)
        self.attachments.add_pending(token, source)
        worker = self.run_worker(
            lambda: self._prepare(token, source),
            name="attach-image",
            group="attach",
            thread=True,
            exit_on_error=False,
        )
        self._preparing[worker] = (token, source)

    def _prepare(self, token: int, source: str) -> None:
        """On the worker thread: read, check, normalise and shrink; report back by message."""
        try:
            prepared = prepare_image(source, self.image_max_side)
        except WorkbenchError as exc:
            self.post_message(self.ImageFailed(token, str(exc)))
        else:
            thumbnail = make_thumbnail(prepared.image)
            self.post_message(self.ImagePrepared(token, prepared, thumbnail))

    async def on_chat_pane_image_prepared(self, message: ImagePrepared) -> None:
        message.stop()
        prepared = message.prepared
        if not await self.attachments.resolve(message.token, prepared, message.thumbnail):
            self.notify(f"{short_source(prepared.source)} is already attached", timeout=3)
        elif prepared.source[:5].lower() not in ("data ", "http:", "https"):
            self.attach_folder = Path(prepared.source).expanduser().absolute().parent

    async def on_chat_pane_image_failed(self, message: ImageFailed) -> None:
        message.stop()
        await self.attachments.drop_pending(message.token)
        self.notify(message.reason, title="Cannot attach image", severity="error", timeout=8)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """An unexpected failure while preparing is reported like a bad image, not raised."""
        job = self._preparing.get(event.worker)
        if job is None or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        event.stop()
        del self._preparing[event.worker]
        if event.state is WorkerState.ERROR:
            token, source = job
            reason = f"{short_source(source)}: {one_line(event.worker.error)}"
            self.post_message(self.ImageFailed(token, reason))

    def on_chat_input_images_pasted(self, event: ChatInput.ImagesPasted) -> None:
        event.stop()
        for source in event.sources:
            self.attach(source)

    def on_attachment_strip_emptied(self, message: AttachmentStrip.Emptied) -> None:
        message.stop()
        self.input.focus()

    # ----------------------------------------------------------------- transcript

    async def show_session(self, session: Session, names: Mapping[str, str]) -> None:
        """Replace the transcript with a stored session (only the last turns mounted)."""
        await self._abandon_reply()
        messages = session.messages
        hidden = max(len(messages) - MAX_MOUNTED, 0)
        log = self.log_view
        earlier = (partial(message_view, m, names) for m in messages[:hidden])
        await log.clear_messages(earlier, "" if messages else empty_text(self.model_name))
        await log.add(*(message_view(m, names) for m in messages[hidden:]))
        log.scroll_end(animate=False)
        self.call_after_refresh(log.prepare_spare)  # for the next send, once this is drawn

    async def add_messages(self, messages: Iterable[SessionMessage], names: Mapping) -> None:
        await self.log_view.add(*(message_view(m, names) for m in messages))

    async def remove_last(self) -> None:
        await self.log_view.remove_last()

    async def add_error(self, text: str) -> None:
        await self.log_view.add(ChatMessageView("error", text, label="Error"))

    # ----------------------------------------------------------------- streaming a reply

    async def begin_reply(
        self,
        label: str,
        *,
        after: Iterable[SessionMessage] = (),
        names: Mapping[str, str] | None = None,
    ) -> None:
        """Add an empty reply and start streaming into it.

        ``after``: turns to add first (the question just sent), in the same batch: the
        screen lays out once for the question and its reply.
        """
        await self._abandon_reply()
        reply_label = f"{label} · generating"
        questions = list(after)
        turn = None
        if len(questions) == 1 and questions[0].role == "user" and not questions[0].images:
            turn = await self.log_view.add_turn(questions[0].content, reply_label)
        if turn is not None:  # the pre-mounted pair (see ``ChatLog.prepare_spare``)
            view = turn[1]
        else:
            view = ChatMessageView("assistant", label=reply_label)
            before = (message_view(m, names or {}) for m in questions)
            await self.log_view.add(*before, view)
        view.start_stream(on_drawn=self._drawn)
        self._reply = view
        # A blinking cursor repaints the editor (and the containers behind it) twice a
        # second, taking the GIL from the model each time; it holds still while text streams.
        self.input.cursor_blink = False

    def feed(self, text: str) -> None:
        """Queue streamed text for the next drain."""
        if self._reply is not None and self._reply.stream is not None:
            first = not self._reply.stream.text
            self._reply.stream.feed(text)
            if first and text:  # show the first text now, not when the pacer would
                self.call_later(self._reply.stream.flush)

    def follow(self, take: Callable[[], tuple[str, int]]) -> None:
        """Take the rest of the reply from ``take`` (text, tokens so far) at each drain."""
        if self._reply is None or self._reply.stream is None:
            return

        def more() -> str:
            text, generated = take()
            if generated:
                self.status.generated = generated
            return text

        self._reply.stream.follow(more)

    def _drawn(self) -> None:
        """New text was drawn: draw the progress line with it. (The transcript follows its
        end by itself, anchored, unless the user has scrolled up to read: then it stays.)"""
        self.status.draw()

    async def finish_reply(self, label: str, text: str, stats: TurnStats) -> None:
        """Flush, stop the stream, show the final text and the stats."""
        reply, self._reply = self._reply, None
        self.input.cursor_blink = True
        if reply is None:
            return
        if reply.stream is not None:
            await reply.stream.close(final_text=text)
        reply.set_label(label)
        reply.show_stats(stats)
        self.call_after_refresh(self.log_view.prepare_spare)

    async def drop_reply(self) -> None:
        """Remove the reply being streamed (the turn failed)."""
        reply, self._reply = self._reply, None
        self.input.cursor_blink = True
        if reply is not None:
            if reply.stream is not None:
                await reply.stream.close()
            await self.log_view.remove_message(reply)
            self.call_after_refresh(self.log_view.prepare_spare)

    async def _abandon_reply(self) -> None:
        if self._reply is not None:
            await self.drop_reply()
