"""The chat's state and rules, apart from any widget: the session, the model, the turn.

Widgets show things; this decides what a send, a regenerate, a reply or a failure does to
the conversation and what is saved. The question is saved while its reply streams (the app
writes it just after the reply's first text is drawn; a crash keeps it); when the turn
fails, or is cancelled before any text came back, the question is taken out again and
handed back as a draft so nothing typed is lost — text and images.

Attached images are stored next to the session (``SessionStore.images_dir``), named by
content hash, when the question is sent; the session file lists them. The prepared images
stay in the draft, so a question taken back can be sent again even if its session file (and
with it the image folder) was removed.

The session in memory is the truth; the file follows it. A save that fails (a full disk, a
sessions folder that is not a folder) changes nothing in memory — the turn goes on, the
reply is kept — and is handed to ``on_save_error``; the next save that works writes it all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from workbench.core.errors import InputError
from workbench.core.images.prepare import PreparedImage, save_prepared
from workbench.core.protocol import ChatDone, ChatRequest
from workbench.core.sessions.store import (
    Session,
    SessionError,
    SessionForked,
    SessionMessage,
    SessionStore,
)
from workbench.core.types import ChatMessage, SamplingSettings
from workbench.tui.chat.draft import Draft


@dataclass(frozen=True)
class PendingTurn:
    """A chat request in flight. ``draft`` is what to give back on failure."""

    request: ChatRequest
    draft: Draft | None = None
    replaces: SessionMessage | None = None  # the reply a regenerate will replace


class ChatController:
    """One conversation at a time, saved to ``store`` after every change that matters."""

    def __init__(
        self,
        store: SessionStore,
        *,
        on_save_error: Callable[[SessionError], None] | None = None,
    ) -> None:
        self.store = store
        # Told when the session cannot be written (the change stays in memory); without
        # it the error is raised — after the change, so memory is still consistent.
        self.on_save_error = on_save_error
        self.session: Session = store.new_session()
        self.model_id: str | None = None
        self.pending: PendingTurn | None = None
        self.completion = False  # raw completion: the last question's text continued as is
        self._sent: tuple[tuple[SessionMessage, ...], tuple[ChatMessage, ...]] = ((), ())

    # ----------------------------------------------------------------- session level

    def new_session(self) -> Session:
        """Start an empty conversation with the same model and settings."""
        self.session = self.store.new_session(
            model_id=self.model_id,
            system_prompt=self.session.system_prompt,
            sampling=self.session.sampling,
        )
        return self.session

    def resume(self, session_id: str) -> Session:
        """Load a saved conversation (``SessionError`` if it cannot be read)."""
        self.session = self.store.resume(session_id)
        if self.session.model_id:
            self.model_id = self.session.model_id
        return self.session

    def set_model(self, model_id: str) -> None:
        self.model_id = model_id
        self.session = replace(self.session, model_id=model_id)
        self._save_if_started()

    def update_settings(self, system_prompt: str, sampling: SamplingSettings) -> None:
        self.session = replace(self.session, system_prompt=system_prompt, sampling=sampling)
        self._save_if_started()

    def rename(self, title: str) -> None:
        title = " ".join(title.split())
        if not title and self.session.messages:
            raise InputError("a session title cannot be empty")
        self.session = replace(self.session, title=title)
        self._save_if_started()

    def _save_if_started(self) -> None:
        if self.session.messages:
            self._save(self.session)

    def _save(self, session: Session) -> bool:
        """Make ``session`` current and write it; False (and reported) when the write fails."""
        self.session = session
        try:
            self.session = self.store.save(session)
        except SessionError as exc:
            self._report(exc)
            return False
        if self.session.id != session.id:  # another window saved this session meanwhile
            self._report(
                SessionForked(
                    f"session {session.id} was also saved in another window; this "
                    f"conversation continues as a new session, {self.session.id}",
                    self.session.id,
                )
            )
        return True

    def _report(self, exc: SessionError) -> None:
        if self.on_save_error is None:
            raise exc
        self.on_save_error(exc)

    # ----------------------------------------------------------------- turns

    def _check_ready(self) -> str:
        if self.pending is not None:
            raise InputError("a reply is still being generated (Esc cancels it)")
        if self.model_id is None:
            raise InputError("choose a chat model first: highlight it in Models and press Enter")
        return self.model_id

    def _request(self, model_id: str, session: Session) -> ChatRequest:
        if self.completion:  # no template, no history: the model continues the text
            text = session.messages[-1].content
            return ChatRequest(
                model_id=model_id,
                messages=(ChatMessage("user", text),),
                sampling=session.sampling,
                raw=True,
            )
        return ChatRequest(
            model_id=model_id,
            messages=self._chat_messages(session),
            sampling=session.sampling,
            session_id=session.id,
        )

    def _chat_messages(self, session: Session) -> tuple[ChatMessage, ...]:
        """``session.chat_messages()``, reusing what was built for the turns sent before.

        A long chat would otherwise rebuild a thousand engine messages on every send; the
        turns it shares (the same objects) with the last request are taken as they were.
        """
        turns, (sent, built) = session.messages, self._sent
        shared = 0
        for old, new in zip(sent, turns, strict=False):
            if old is not new:
                break
            shared += 1
        chat = built[:shared] + tuple(m.to_chat() for m in turns[shared:])
        self._sent = (turns, chat)
        system = (ChatMessage("system", session.system_prompt),) if session.system_prompt else ()
        return system + chat

    def send(
        self, text: str, images: Sequence[PreparedImage] = (), *, save: bool = True
    ) -> tuple[ChatRequest, SessionMessage]:
        """Store the images, add the question, save, and return the request to submit.

        ``InputError`` when there is nothing to send or no model; ``ImageError`` when an
        image cannot be stored. Nothing is written unless the checks pass. ``save=False``
        leaves the session file to ``save_session`` (the app submits the request first,
        then writes: the reply need not wait for the disk).
        """
        if not text.strip() and not images:
            raise InputError("type a message first")
        model_id = self._check_ready()
        paths = self.store_images(images)
        question = SessionMessage("user", text, images=paths, created=self.store.now())
        session = replace(self.session, model_id=model_id).with_message(question)
        request = self._request(model_id, session)
        if save:
            self._save(session)
        else:
            self.session = session
        self.pending = PendingTurn(request, draft=Draft(text, tuple(images)))
        return request, question

    def save_session(self) -> bool:
        """Write the session as it is now; False (and reported) when the write fails."""
        return self._save(self.session)

    def store_images(self, images: Sequence[PreparedImage]) -> tuple[str, ...]:
        """Save prepared images into this session's image folder; their paths, in order."""
        folder = self.store.images_dir(self.session.id)
        return tuple(str(save_prepared(image, folder)) for image in images)

    def regenerate(self) -> ChatRequest:
        """Ask again for the last question's reply (the old reply stays until the new one)."""
        model_id = self._check_ready()
        messages = self.session.messages
        replaces = messages[-1] if messages and messages[-1].role == "assistant" else None
        history = self.session.without_last() if replaces else self.session
        if not history.messages or history.messages[-1].role != "user":
            raise InputError("there is no question to answer again")
        request = self._request(model_id, history)
        self.pending = PendingTurn(request, replaces=replaces)
        return request

    def cancel(self) -> bool:
        """Cancel the turn in flight; False when there is none."""
        if self.pending is None:
            return False
        self.pending.request.cancel.set()
        return True

    @staticmethod
    def records(done: ChatDone) -> bool:
        """Whether ``finish`` keeps this reply: not when cancelled before any text came."""
        return bool(done.text) or done.stats.finish_reason != "cancelled"

    def finish(self, done: ChatDone) -> Draft | None:
        """Record the reply; returns a draft to restore when nothing came back."""
        pending, self.pending = self.pending, None
        if pending is None:
            return None
        if not self.records(done):
            return self._undo(pending)
        reply = SessionMessage(
            "assistant",
            done.text,
            model_id=pending.request.model_id,
            stats=done.stats,
            created=self.store.now(),
        )
        base = self.session.without_last() if pending.replaces else self.session
        self._save(base.with_message(reply))
        return None

    def fail(self) -> Draft | None:
        """The turn failed: take the question back out; returns the draft to restore."""
        pending, self.pending = self.pending, None
        return self._undo(pending) if pending is not None else None

    def _undo(self, pending: PendingTurn) -> Draft | None:
        if pending.draft is None:
            return None
        last = self.session.messages[-1] if self.session.messages else None
        if last is not None and last.role == "user":
            session = self.session.without_last()
            if not session.messages:
                self.session = session
                self._delete_file()
            elif self._save(session):  # a file still listing the images keeps them
                self._forget_images(last.images)
        return pending.draft

    def take_last_question(self) -> SessionMessage:
        """Edit and resend: the last question and the reply to it leave the conversation,
        and the question is returned for the editor.

        The shorter conversation is saved when something remains; when nothing does, the
        file keeps the old turns until the edited question is sent (quitting in between
        loses nothing). Refused while a reply is generated.
        """
        if self.pending is not None:
            raise InputError("a reply is still being generated (Esc cancels it)")
        messages = self.session.messages
        users = [i for i, message in enumerate(messages) if message.role == "user"]
        if not users:
            raise InputError("there is no question to edit yet")
        question = messages[users[-1]]
        session = replace(self.session, messages=messages[: users[-1]])
        if session.messages:
            self._save(session)
        else:
            self.session = session
        return question

    def _delete_file(self) -> None:
        try:
            self.store.delete(self.session.id)
        except SessionError as exc:
            self._report(exc)

    def _forget_images(self, images: tuple[str, ...]) -> None:
        """Delete stored images no remaining message refers to (the draft keeps the data)."""
        kept = {path for message in self.session.messages for path in message.images}
        folder = self.store.images_dir(self.session.id)
        for image in set(images) - kept:
            path = Path(image)
            if path.parent == folder:
                path.unlink(missing_ok=True)
