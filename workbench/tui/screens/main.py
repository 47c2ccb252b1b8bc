"""The workbench screen: pool pane on the left, chat and embeddings tabs on the right.

This is where widget messages become runner requests and runner events become widget
updates. Widgets never see the runner; the runner never sees a widget. Chat rules (what is
saved, what a failure gives back) live in ``ChatController``; event routing lives in
``EventRouter`` — this screen wires them together and owns the user's commands.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, TabbedContent, TabPane

from workbench.core import app_state
from workbench.core.errors import InputError, WorkbenchError
from workbench.core.images.prepare import DEFAULT_MAX_SIDE, PreparedImage
from workbench.core.protocol import (
    EmbedRequest,
    PoolSnapshot,
)
from workbench.core.runner.handlers import check_chat
from workbench.core.sessions.export import export_markdown
from workbench.core.sessions.guard import SessionForked
from workbench.core.types import ChatMessage, ModelInfo, ModelKind
from workbench.tui.bridge import RunnerBridge
from workbench.tui.chat.controller import ChatController
from workbench.tui.chat.extras import ChatExtras
from workbench.tui.chat.pane import ChatPane
from workbench.tui.chat.sessions_screen import SessionsOutcome, SessionsScreen
from workbench.tui.chat.settings_screen import ChatSettings, SettingsScreen
from workbench.tui.chat.status import context_text, context_used
from workbench.tui.compare import CompareScreen
from workbench.tui.embeddings.explorer import EmbeddingsPane
from workbench.tui.messages import RunnerEvent
from workbench.tui.pool.commands import ModelCommands
from workbench.tui.pool.pane import PoolPane
from workbench.tui.pool.pane_layout import PaneLayout
from workbench.tui.router import EventRouter
from workbench.tui.screens.prompt import TextPromptScreen


class MainScreen(ChatExtras, ModelCommands, Screen[None]):
    """Pool, chat, embeddings. Commands here are also offered in the command palette."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "focus_models", "Models"),
        Binding("ctrl+n", "new_session", "New chat"),
        Binding("ctrl+o", "sessions", "Sessions"),
        Binding("ctrl+g", "settings", "Chat settings"),
        Binding("f4", "export", "Export .md", show=False),
        # priority: the text areas bind F5 to "select word"; the tab switch wins everywhere
        Binding("f5", "toggle_tab", "Chat/Embeddings", show=False, priority=True),
        Binding("ctrl+b", "toggle_pool", "Models pane", show=False),
        Binding("f8", "edit_last", "Edit last question", show=False),
        Binding("f9", "copy_reply", "Copy reply", show=False),
        Binding("f10", "copy_code", "Copy code block", show=False),
        # priority: the text areas bind F6/F7 to "select line"/"select all"
        Binding("f6", "compare", "Compare", show=False, priority=True),
        Binding("f7", "toggle_completion", "Completion mode", show=False, priority=True),
    ]

    def __init__(
        self,
        catalog: list[ModelInfo],
        bridge: RunnerBridge,
        controller: ChatController,
        export_dir: Path,
        *,
        image_max_side: int = DEFAULT_MAX_SIDE,
    ) -> None:
        super().__init__()
        self.image_max_side = image_max_side
        self.catalog = {m.id: m for m in catalog}
        self.names = {m.id: m.name for m in catalog}
        self.bridge = bridge
        self.controller = controller
        controller.on_save_error = self.save_failed
        self.export_dir = export_dir
        self.snapshot: PoolSnapshot | None = None
        self.embed_texts: dict[int, tuple[str, ...]] = {}
        self.router = EventRouter(self)
        self.panes = PaneLayout(self)
        self.context_lengths: dict[str, int] = {}  # per model, learned from prompt progress

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="workbench"):
            yield PoolPane(list(self.catalog.values()), id="pool")
            with TabbedContent(id="tabs", initial="tab-chat"):
                with TabPane("Chat", id="tab-chat"):
                    yield ChatPane(image_max_side=self.image_max_side, id="chat")
                with TabPane("Embeddings", id="tab-embeddings"):
                    yield EmbeddingsPane(list(self.catalog.values()), id="embeddings")
        yield Footer()

    async def on_mount(self) -> None:
        self.panes.apply()
        self.embeddings.export_dir = self.export_dir
        self.reopen_last_session()
        self.chat.set_model_name(self.names.get(self.controller.model_id or ""))
        await self.chat.show_session(self.controller.session, self.names)
        self.update_header()
        if self.panes.pool_visible:
            self.query_one("#model-list").focus()
        else:
            self.show_tab("tab-chat")

    def reopen_last_session(self) -> None:
        """With the setting on, start in the session the last run ended in (if it still exists)."""
        last = app_state.setting(app_state.LAST_SESSION, "")
        if not last or not app_state.setting(app_state.REOPEN_LAST_SESSION, False):
            return
        try:
            self.controller.resume(last)
        except WorkbenchError as exc:
            self.notify(f"could not reopen the last session: {exc}", severity="warning")

    def remember_session(self) -> None:
        """Note the session on show as the one to reopen next time (if it has messages)."""
        session = self.controller.session
        if session.messages:  # a failed write only costs the convenience: the session is saved
            with suppress(WorkbenchError):
                app_state.remember(app_state.LAST_SESSION, session.id)

    async def on_runner_event(self, message: RunnerEvent) -> None:
        """Show what the runner reports (the app forwards every ``RunnerEvent`` here)."""
        await self.router.route(message.event)

    # ----------------------------------------------------------------- parts

    @property
    def pool(self) -> PoolPane:
        return self.query_one(PoolPane)

    @property
    def chat(self) -> ChatPane:
        return self.query_one(ChatPane)

    @property
    def embeddings(self) -> EmbeddingsPane:
        return self.query_one(EmbeddingsPane)

    def kind_of(self, model_id: str) -> ModelKind | None:
        if model_id in self.catalog:
            return self.catalog[model_id].kind
        entries = self.snapshot.entries if self.snapshot else ()
        return next((e.kind for e in entries if e.model_id == model_id), None)

    def update_header(self) -> None:
        session = self.controller.session
        model = self.names.get(self.controller.model_id or "", self.controller.model_id)
        s = session.sampling
        length = self.context_lengths.get(self.controller.model_id or "")
        context = context_text(context_used(session), length)
        self.chat.set_header(
            f"{model or 'no model chosen'} · {session.display_title} · "
            f"temp {s.temperature} · top_p {s.top_p} · max {s.max_tokens}"
            + (f" · {context}" if context else "")
            + (" · completion mode (F7)" if self.controller.completion else "")
        )

    def save_failed(self, error: WorkbenchError) -> None:
        """The chat goes on from memory; the next save that works writes it all."""
        if isinstance(error, SessionForked):  # saved, under a new id
            self.notify(str(error), title="Open in another window", severity="warning", timeout=10)
            return
        self.notify(
            f"could not save session: {error}", title="Not saved", severity="error", timeout=10
        )

    # ----------------------------------------------------------------- model commands

    def choose_model(self, model_id: str) -> None:
        """Use a model: embeddings models open the explorer, others become the chat model."""
        if self.kind_of(model_id) is ModelKind.EMBEDDINGS:
            self.show_tab("tab-embeddings")
            select = getattr(self.embeddings, "select_model", None)
            if callable(select):
                select(model_id)
            return
        self.controller.set_model(model_id)
        info = self.catalog.get(model_id)
        self.controller.completion = info is not None and info.is_base  # base models continue
        self.update_header()
        self.chat.set_model_name(self.names.get(model_id, model_id))
        if not self.pool.is_loaded(model_id) and model_id not in self.pool.activity.loading:
            self.load_model(model_id)
        self.show_tab("tab-chat")

    def on_pool_pane_model_chosen(self, message: PoolPane.ModelChosen) -> None:
        self.choose_model(message.model_id)

    # ----------------------------------------------------------------- chat

    async def on_chat_pane_send_requested(self, message: ChatPane.SendRequested) -> None:
        try:
            self.check_model_can_answer(message.text, message.images)
            request, question = self.controller.send(message.text, message.images)
        except InputError as exc:
            self.notify(str(exc), severity="warning")
            return
        except WorkbenchError as exc:
            self.notify(str(exc), title="Not sent", severity="error", timeout=8)
            return
        await self.chat.clear_draft()
        await self.chat.add_messages([question], self.names)
        await self.chat.begin_reply(self.names.get(request.model_id, request.model_id))
        self.chat.status.begin()
        self.bridge.submit(request)
        self.update_header()
        self.remember_session()

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

    def on_chat_pane_cancel_requested(self) -> None:
        if self.controller.cancel():
            self.notify("Cancelling…", timeout=2)

    async def action_regenerate(self) -> None:
        try:
            request = self.controller.regenerate()
        except WorkbenchError as exc:
            self.notify(str(exc), severity="warning")
            return
        if self.controller.pending and self.controller.pending.replaces:
            await self.chat.remove_last()
        await self.chat.begin_reply(self.names.get(request.model_id, request.model_id))
        self.chat.status.begin()
        self.bridge.submit(request)

    async def on_chat_pane_regenerate_requested(self) -> None:
        await self.action_regenerate()

    # ----------------------------------------------------------------- embeddings

    def on_embeddings_pane_compute_requested(
        self, message: EmbeddingsPane.ComputeRequested
    ) -> None:
        texts = tuple(message.texts)  # the query, if any, is already the last text
        request = self.bridge.submit(EmbedRequest(model_id=message.model_id, texts=texts))
        self.embed_texts[request.request_id] = texts

    # ----------------------------------------------------------------- session commands

    def _idle(self) -> bool:
        if self.controller.pending is not None:
            self.notify("A reply is being generated: wait, or press Esc to cancel it.")
            return False
        return True

    async def action_new_session(self) -> None:
        if self._idle():
            self.controller.new_session()
            await self.chat.show_session(self.controller.session, self.names)
            self.update_header()

    def action_sessions(self) -> None:
        if self._idle():
            screen = SessionsScreen(self.controller.store, self.names, self.export_dir)
            self.app.push_screen(screen, self._sessions_closed)

    async def _sessions_closed(self, outcome: SessionsOutcome | None) -> None:
        if outcome is None:
            return
        current = self.controller.session
        if current.id in outcome.deleted:
            self.controller.new_session()
        elif current.id in outcome.renamed:
            self.controller.session = replace(current, title=outcome.renamed[current.id])
        if outcome.resume:
            try:
                self.controller.resume(outcome.resume)
            except WorkbenchError as exc:
                self.notify(str(exc), title="Cannot open session", severity="error")
        await self.chat.show_session(self.controller.session, self.names)
        self.update_header()

    def action_export(self) -> None:
        session = self.controller.session
        if not session.messages:
            self.notify("Nothing to export yet.", severity="warning")
            return
        try:
            path = export_markdown(session, self.export_dir)
        except OSError as exc:
            self.notify(str(exc), title="Export failed", severity="error")
            return
        self.notify(str(path), title="Exported")

    def action_settings(self) -> None:
        session = self.controller.session
        reopen = app_state.setting(app_state.REOPEN_LAST_SESSION, False)
        current = ChatSettings(session.system_prompt, session.sampling, reopen)
        self.app.push_screen(SettingsScreen(current), self._settings_closed)

    def _settings_closed(self, settings: ChatSettings | None) -> None:
        if settings is not None:
            self.controller.update_settings(settings.system_prompt, settings.sampling)
            self.update_header()
            try:
                app_state.remember(app_state.REOPEN_LAST_SESSION, settings.reopen_last_session)
            except WorkbenchError as exc:
                self.notify(str(exc), severity="warning")

    def action_toggle_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        self.show_tab("tab-embeddings" if tabs.active == "tab-chat" else "tab-chat")

    def action_focus_models(self) -> None:
        """Jump to the model list, showing the models pane (over the tabs when narrow)."""
        if not self.panes.shown:
            self.panes.set_shown(True)
        self.panes.unfold()
        self.query_one("#model-list").focus()

    def action_toggle_pool(self) -> None:
        """Show / hide the models pane; the choice is remembered for the next start."""
        had_focus = self.pool.has_focus_within
        visible = self.panes.pool_visible
        self.panes.set_shown(not visible)
        if visible and had_focus:
            self.show_tab(self.query_one(TabbedContent).active)
        elif not visible:
            self.query_one("#model-list").focus()

    def show_tab(self, tab_id: str) -> None:
        """Switch tabs and focus the new tab's first input.

        Focus is moved explicitly: left on a widget of the tab being hidden, it would land
        on another widget of that tab, which switches the tab straight back.
        """
        self.set_focus(None)
        self.panes.fold_if_narrow()
        self.query_one(TabbedContent).active = tab_id
        if tab_id == "tab-chat":
            target: Widget | None = self.chat.input
        else:
            target = next((w for w in self.embeddings.query("*") if w.focusable), None)
        if target is not None:
            self.call_after_refresh(target.focus)

    def action_rename_session(self) -> None:
        def renamed(title: str | None) -> None:
            if title and title.strip():
                self.controller.rename(title)
                self.update_header()

        title = self.controller.session.display_title
        self.app.push_screen(TextPromptScreen("Session title", title), renamed)

    def action_export_csv(self) -> None:
        self.embeddings.action_export_csv()

    def action_compare(self) -> None:
        """Open the compare view, model A preset to the chat's model."""
        session = self.controller.session
        screen = CompareScreen(
            list(self.catalog.values()),
            self.bridge,
            self.controller.store,
            sampling=session.sampling,
            system_prompt=session.system_prompt,
            model_a=self.controller.model_id,
        )
        self.app.push_screen(screen)

    def action_toggle_completion(self) -> None:
        """Raw completion (the text continued, no chat template) on or off."""
        self.controller.completion = not self.controller.completion
        state = "on: the model continues your text" if self.controller.completion else "off"
        self.notify(f"Completion mode {state}", timeout=3)
        self.update_header()

    def command(self, action: str) -> Callable[[], object]:
        """A palette callback that runs one of this screen's actions."""
        return lambda: self.run_action(action)
