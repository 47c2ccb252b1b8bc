"""Runner events → the widgets that show them.

One function per event type; the request an event answers (kept by the bridge) decides
where a failure is shown: inline in the chat with the draft given back, in the embeddings
explorer, or as a notification.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.core.protocol import (
    ChatDone,
    EmbeddingsReady,
    EmbedRequest,
    Event,
    LoadProgress,
    LoadStarted,
    ModelEvicted,
    ModelLoaded,
    PlanReady,
    PoolChanged,
    PromptProgress,
    Request,
    RequestFailed,
    RunnerReady,
    TokenEvent,
)
from workbench.tui.format import human_bytes, human_seconds

if TYPE_CHECKING:
    from workbench.tui.screens.main import MainScreen

EVICT_REASONS = {"lru": "to make room", "budget": "to honour the new budget"}


class EventRouter:
    """Applies runner events to the main screen's widgets."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen

    def name(self, model_id: str | None) -> str:
        return self.screen.names.get(model_id or "", model_id or "?")

    async def route(self, event: Event) -> None:
        """Handle one event (called on the UI thread, in arrival order)."""
        request = self.screen.bridge.request_for(event)
        chat = self.screen.controller.owns(event.request_id)
        if isinstance(event, TokenEvent):
            if chat:
                self.screen.chat.feed(event.text)
                self.screen.chat.status.generated = event.generated
        elif isinstance(event, PromptProgress):
            if chat:
                self.prompt_progress(event)
        elif isinstance(event, ChatDone):
            if chat:
                await self.chat_done(event)
        elif isinstance(event, RequestFailed):
            await self.failed(event, request, chat)
        elif isinstance(event, EmbeddingsReady):
            self.embeddings_ready(event)
        else:
            self.pool_event(event)

    def pool_event(self, event: Event) -> None:
        pool = self.screen.pool
        if isinstance(event, RunnerReady):
            blas = event.blas.split(" (")[0]  # the library's path is too long for a title
            details = " · ".join(p for p in (event.device, blas) if p)
            pool.engine_ready(f"engine: {details or 'ready'}")
            pool.engine_status("engine ready")
        elif isinstance(event, PoolChanged):
            self.screen.snapshot = event.snapshot
            pool.show_snapshot(event.snapshot)
        elif isinstance(event, LoadStarted):
            name = self.name(event.model_id)
            pool.activity.started(event.model_id, name, event.estimated_seconds)
        elif isinstance(event, LoadProgress):
            pool.activity.progress(event.model_id, event.message)
        elif isinstance(event, ModelLoaded):
            pool.activity.finished(event.model_id)
            self.screen.notify(
                f"{self.name(event.model_id)}: {human_bytes(event.measured_bytes)} "
                f"in {human_seconds(event.seconds)}",
                title="Loaded",
                timeout=3,
            )
        elif isinstance(event, ModelEvicted) and event.reason in EVICT_REASONS:
            self.screen.notify(
                f"{self.name(event.model_id)} {EVICT_REASONS[event.reason]}", title="Evicted"
            )
        elif isinstance(event, PlanReady):
            for plan in event.plans:
                pool.show_plan(plan)

    def prompt_progress(self, event: PromptProgress) -> None:
        screen = self.screen
        screen.chat.status.reading(event.processed, event.total)
        pending = screen.controller.pending
        if event.context_length and pending is not None:
            screen.context_lengths[pending.request.model_id] = event.context_length

    async def chat_done(self, done: ChatDone) -> None:
        screen = self.screen
        screen.chat.status.end()
        model_id = screen.controller.pending.request.model_id if screen.controller.pending else None
        await screen.chat.finish_reply(self.name(model_id), done.text, done.stats)
        recorded = screen.controller.records(done)
        draft = screen.controller.finish(done)
        if not recorded:  # cancelled before any text: show what the session still holds
            await screen.chat.show_session(screen.controller.session, screen.names)
        if draft is not None:  # and give a new question back
            screen.chat.restore_draft(draft)
        screen.update_header()

    async def failed(self, event: RequestFailed, request: Request | None, chat: bool) -> None:
        screen = self.screen
        if event.request_id is None:  # the engine itself failed (e.g. MLX cannot start)
            screen.pool.engine_status(f"engine failed: {event.message}")
        if event.model_id:
            screen.pool.activity.finished(event.model_id)
        if chat:
            screen.chat.status.end()
            await screen.chat.drop_reply()
            draft = screen.controller.fail()
            await screen.chat.show_session(screen.controller.session, screen.names)
            await screen.chat.add_error(event.message)
            if draft is not None:
                screen.chat.restore_draft(draft)
            screen.chat.input.focus()
        elif isinstance(request, EmbedRequest):
            screen.embed_texts.pop(event.request_id or -1, None)
            screen.embeddings.show_error(event.message)
        title = event.error_type.removesuffix("Error") or "Error"
        screen.notify(event.message, title=_words(title), severity="error", timeout=8)

    def embeddings_ready(self, event: EmbeddingsReady) -> None:
        texts = self.screen.embed_texts.pop(event.request_id or -1, None)
        if texts is not None:
            self.screen.embeddings.show_result(texts, event.result)


def _words(name: str) -> str:
    """ "InsufficientMemory" → "Insufficient memory"."""
    out = "".join(f" {c.lower()}" if c.isupper() else c for c in name).strip()
    return out[:1].upper() + out[1:]
