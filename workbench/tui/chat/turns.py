"""The chat feature's controller on screen: a turn from the send to its reply, shown.

The workbench screen's ``@on`` handlers for the chat delegate here: a send or a regenerate
from the chat pane, then the runner's messages for that request (``ReplyTokens``,
``PromptRead``, ``ReplyDone``, ``RequestFailure``). The rules — what is saved, what a
failure gives back — are ``ChatController``'s; this applies them to the chat pane.

The request leaves first. A send checks the question, builds the request and submits it,
waits (idle, at most ``RUNNER_HEAD_START_S``) for the runner to have read the prompt's first
slice, and only then empties the editor and mounts the question and the reply, with the
redraw held until the reply's first text (``first_frame``): the runner applies the template
and builds the prompt's graph with the GIL to itself, and the mount runs while the model
works out the first token. The session file is written
just after the reply's first text is drawn (``save_question``), so no disk write stands
between the key and the first token. The runner's answers queue behind this handler on the
screen, so none can arrive before the reply they stream into is mounted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from functools import partial

from textual.screen import Screen

from workbench.core import app_state
from workbench.core.errors import InputError, WorkbenchError
from workbench.core.images.prepare import PreparedImage
from workbench.core.models.kinds import check_chat
from workbench.core.protocol import ChatRequest
from workbench.core.types import ChatMessage, ModelInfo
from workbench.tui.bridge import RunnerBridge
from workbench.tui.chat.controller import ChatController
from workbench.tui.chat.first_frame import FirstFrame
from workbench.tui.chat.pane import ChatPane
from workbench.tui.chat.status import context_text, context_used
from workbench.tui.messages import PromptRead, ReplyDone, ReplyTokens, RequestFailure

# How long a send waits, idle, for the runner to be under way before mounting the turn: the
# runner prepares the prompt (template, cache, the first graph) with the GIL to itself, and
# the mount runs while the model works. About 10 ms for a short prompt to a loaded model on a
# GPU; the cap bounds the wait for a load, a long prompt, or an engine that reports nothing.
RUNNER_HEAD_START_S = 0.02


class ChatTurns:
    """Sends the chat's questions and shows their replies in ``pane()``."""

    def __init__(
        self,
        screen: Screen,
        controller: ChatController,
        bridge: RunnerBridge,
        pane: Callable[[], ChatPane],
        catalog: Mapping[str, ModelInfo],
    ) -> None:
        self.screen = screen
        self.controller = controller
        self.bridge = bridge
        self.pane = pane
        self.catalog = catalog
        self.names = {model_id: info.name for model_id, info in catalog.items()}
        self.context_lengths: dict[str, int] = {}  # per model, learned from prompt progress
        self.unsaved_question = False  # sent, shown, not yet written to the session file
        self._first_frame: FirstFrame | None = None

    @property
    def first_frame(self) -> FirstFrame:
        """The redraw hold from a send to its reply's first text (see ``first_frame``)."""
        if self._first_frame is None:
            self._first_frame = FirstFrame(self.screen.app)
        return self._first_frame

    def name(self, model_id: str | None) -> str:
        return self.names.get(model_id or "", model_id or "?")

    # ----------------------------------------------------------------- out

    async def send(self, text: str, images: tuple[PreparedImage, ...]) -> None:
        """Check, submit, then show: the question, an empty reply, the status line."""
        try:
            self.check_model_can_answer(text, images)
            request, question = self.controller.send(text, images, save=False)
        except InputError as exc:
            self.screen.notify(str(exc), severity="warning")
            return
        except WorkbenchError as exc:
            self.screen.notify(str(exc), title="Not sent", severity="error", timeout=8)
            return
        self.bridge.submit(request, to=self.screen)
        self.first_frame.hold()
        await self.bridge.began(request, within=RUNNER_HEAD_START_S)
        chat = self.pane()
        chat.status.begin()
        await chat.clear_draft()
        await chat.begin_reply(self.name(request.model_id), after=[question], names=self.names)
        self.update_header()
        self.unsaved_question = True  # written once the first text is on screen

    def check_model_can_answer(self, text: str, images: tuple[PreparedImage, ...]) -> None:
        """The runner's own rule, applied before anything is stored or sent.

        A text model given images (in this question or earlier ones) is refused here with
        the same one line the runner would give, so the draft and its images simply stay.
        """
        info = self.catalog.get(self.controller.model_id or "")
        if info is None:
            return
        names = tuple(image.sha256 for image in images)  # only their presence matters
        question = ChatMessage("user", text, images=names)
        check_chat(info, (*self.controller.session.chat_messages(), question))

    async def regenerate(self) -> None:
        """Answer the last question again (the old reply stays until the new one comes)."""
        try:
            request = self.controller.regenerate()
        except WorkbenchError as exc:
            self.screen.notify(str(exc), severity="warning")
            return
        self.bridge.submit(request, to=self.screen)
        self.first_frame.hold()
        chat = self.pane()
        chat.status.begin()
        if self.controller.pending and self.controller.pending.replaces:
            await chat.remove_last()
        await chat.begin_reply(self.name(request.model_id))

    def cancel(self) -> None:
        if self.controller.cancel():
            self.screen.notify("Cancelling…", timeout=2)

    # ----------------------------------------------------------------- back

    def tokens(self, message: ReplyTokens) -> None:
        """The reply's first text (or, after that, text released before its end): show it,
        and let the pane take the rest from the gate as it draws (one wake-up per redraw,
        not one per batch of tokens)."""
        text, generated = message.take(reopen=False)
        chat = self.pane()
        if self.is_ours(message.chat):
            chat.follow(partial(message.take, reopen=False))
        if text:
            chat.feed(text)
            chat.status.generated = generated
            if self.first_frame.held:  # draw once the pane has put the text in the reply
                chat.call_later(self.first_frame.release)
            if self.unsaved_question:  # after the first text is drawn, not before
                self.screen.call_after_refresh(self.save_question)

    def save_question(self) -> None:
        """Write the session with the question just sent, and note it as the one to reopen.

        Deferred from the send to just after the reply's first text is drawn: the disk
        writes (a few milliseconds) stay off the path to the first token, and the question
        is on disk while the rest of the reply streams. A turn that ends or fails first is
        saved (or taken back) by ``done`` / ``failed``.
        """
        if self.unsaved_question:
            self.unsaved_question = False
            self.controller.save_session()
            self.remember_session()

    def prompt_read(self, message: PromptRead) -> None:
        self.pane().status.reading(message.processed, message.total)
        if message.context_length:
            self.context_lengths[message.chat.model_id] = message.context_length

    async def done(self, message: ReplyDone) -> None:
        self.first_frame.release()
        first_save, self.unsaved_question = self.unsaved_question, False  # finish saves
        chat, done = self.pane(), message.done
        chat.status.end()
        await chat.finish_reply(self.name(message.chat.model_id), done.text, done.stats)
        recorded = self.controller.records(done)
        draft = self.controller.finish(done)
        if not recorded:  # cancelled before any text: show what the session still holds
            await chat.show_session(self.controller.session, self.names)
        if draft is not None:  # and give a new question back
            chat.restore_draft(draft)
        elif first_save:
            self.remember_session()
        self.update_header()

    async def failed(self, message: RequestFailure) -> None:
        self.first_frame.release()
        self.unsaved_question = False  # the question goes back to the editor, not the file
        chat = self.pane()
        chat.status.end()
        await chat.drop_reply()
        draft = self.controller.fail()
        await chat.show_session(self.controller.session, self.names)
        await chat.add_error(message.failure.message)
        if draft is not None:
            chat.restore_draft(draft)
        chat.input.focus()

    # ----------------------------------------------------------------- the header

    def update_header(self) -> None:
        controller = self.controller
        session = controller.session
        model = self.names.get(controller.model_id or "", controller.model_id)
        s = session.sampling
        length = self.context_lengths.get(controller.model_id or "")
        context = context_text(context_used(session), length)
        settings = f"temp {s.temperature} · top_p {s.top_p} · max {s.max_tokens}"
        self.pane().set_header(  # two lines of fixed height, each cut to fit
            f"{model or 'no model chosen'} · {session.display_title}\n"
            + (f"{context} · " if context else "")
            + settings
            + (" · completion mode (F7)" if controller.completion else "")
        )

    def remember_session(self) -> None:
        """Note the session on show as the one to reopen next time (if it has messages)."""
        session = self.controller.session
        if session.messages:  # a failed write only costs the convenience: the session is saved
            with suppress(WorkbenchError):
                app_state.remember(app_state.LAST_SESSION, session.id)

    def is_ours(self, request: object) -> bool:
        """Whether ``request`` is the chat turn in flight (a failure may be anyone's)."""
        pending = self.controller.pending
        if not isinstance(request, ChatRequest) or pending is None:
            return False
        return pending.request.request_id == request.request_id
