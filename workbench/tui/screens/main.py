"""The workbench screen: pool pane on the left, chat and embeddings tabs on the right.

This is where widget messages become runner requests and the runner's messages become
widget updates. Widgets never see the runner; the runner never sees a widget. The bridge
posts typed messages (``tui.messages``) straight here; each ``@on`` handler delegates to the
controller of its feature: ``ChatTurns`` (chat; its rules are ``ChatController``'s),
``PoolController`` (pool pane), ``EmbeddingsController`` (explorer). This screen wires
them together and owns the user's commands.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import ClassVar, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Header, TabbedContent, TabPane

from workbench.core.images.prepare import DEFAULT_MAX_SIDE
from workbench.core.models.kinds import can_embed
from workbench.core.protocol import EmbedRequest, PoolSnapshot
from workbench.core.types import ModelInfo, ModelKind
from workbench.tui import messages as runner
from workbench.tui.bridge import RunnerBridge
from workbench.tui.chat.attach_screen import AttachScreen
from workbench.tui.chat.controller import ChatController
from workbench.tui.chat.extras import ChatExtras
from workbench.tui.chat.pane import ChatPane
from workbench.tui.chat.session_commands import SessionCommands
from workbench.tui.chat.turns import ChatTurns
from workbench.tui.compare import CompareScreen
from workbench.tui.embeddings.controller import EmbeddingsController
from workbench.tui.embeddings.explorer import EmbeddingsPane
from workbench.tui.pool.commands import ModelCommands
from workbench.tui.pool.controller import PoolController
from workbench.tui.pool.pane import PoolPane
from workbench.tui.pool.pane_layout import PaneLayout

PaneT = TypeVar("PaneT", bound=Widget)


class MainScreen(ChatExtras, SessionCommands, ModelCommands, Screen[None]):
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
        self.turns = ChatTurns(self, controller, bridge, lambda: self.chat, self.catalog)
        self.pool_control = PoolController(self, lambda: self.pool, self.names)
        self.embed_control = EmbeddingsController(bridge, self, lambda: self.embeddings)
        self.panes = PaneLayout(self)
        self._panes: dict[str, Widget] = {}

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

    # ----------------------------------------------------------------- the runner's messages

    @on(runner.ReplyTokens)
    def _reply_tokens(self, message: runner.ReplyTokens) -> None:
        self.turns.tokens(message)

    @on(runner.PromptRead)
    def _prompt_read(self, message: runner.PromptRead) -> None:
        self.turns.prompt_read(message)

    @on(runner.ReplyDone)
    async def _reply_done(self, message: runner.ReplyDone) -> None:
        await self.turns.done(message)

    @on(runner.RequestFailure)
    async def _request_failed(self, message: runner.RequestFailure) -> None:
        if self.turns.is_ours(message.request):
            await self.turns.failed(message)
        elif isinstance(message.request, EmbedRequest):
            self.embed_control.failed(message)
        self.notify(message.failure.message, title=message.title, severity="error", timeout=8)

    @on(runner.EmbeddingsDone)
    def _embeddings_done(self, message: runner.EmbeddingsDone) -> None:
        self.embed_control.done(message)

    @on(runner.EngineReady)
    def _engine_ready(self, message: runner.EngineReady) -> None:
        self.pool_control.engine_ready(message)

    @on(runner.EngineFailed)
    def _engine_failed(self, message: runner.EngineFailed) -> None:
        self.pool_control.engine_failed(message)

    @on(runner.EngineStopped)
    def _engine_stopped(self) -> None:
        self.pool_control.engine_stopped()

    @on(runner.PoolUpdated)
    def _pool_updated(self, message: runner.PoolUpdated) -> None:
        show = partial(self.pool_control.pool_updated, message)
        self.turns.first_frame.when_drawn("pool", show)  # not in the way of a reply's start

    @on(runner.LoadBegan)
    def _load_began(self, message: runner.LoadBegan) -> None:
        self.pool_control.load_began(message)

    @on(runner.LoadProgressed)
    def _load_progressed(self, message: runner.LoadProgressed) -> None:
        self.pool_control.load_progressed(message)

    @on(runner.LoadFinished)
    def _load_finished(self, message: runner.LoadFinished) -> None:
        self.pool_control.load_finished(message)

    @on(runner.LoadFailed)
    def _load_failed(self, message: runner.LoadFailed) -> None:
        self.pool_control.load_failed(message)

    @on(runner.ModelDropped)
    def _model_dropped(self, message: runner.ModelDropped) -> None:
        self.pool_control.model_dropped(message)

    @on(runner.LoadPlanReady)
    def _plan_ready(self, message: runner.LoadPlanReady) -> None:
        self.pool_control.plan_ready(message)

    # ----------------------------------------------------------------- parts

    # Each pane is composed once and stays: found once, not searched for in a DOM that
    # grows with the transcript on every message.

    @property
    def pool(self) -> PoolPane:
        return self._pane("pool", PoolPane)

    @property
    def chat(self) -> ChatPane:
        return self._pane("chat", ChatPane)

    @property
    def embeddings(self) -> EmbeddingsPane:
        return self._pane("embeddings", EmbeddingsPane)

    def _pane(self, pane_id: str, kind: type[PaneT]) -> PaneT:
        found = self._panes.get(pane_id)
        if not isinstance(found, kind) or not found.is_attached:
            found = self._panes[pane_id] = self.query_one(f"#{pane_id}", kind)
        return found

    @property
    def snapshot(self) -> PoolSnapshot | None:
        """The pool as last reported (None until the engine's first report)."""
        return self.pool_control.snapshot

    def kind_of(self, model_id: str) -> ModelKind | None:
        if model_id in self.catalog:
            return self.catalog[model_id].kind
        entries = self.snapshot.entries if self.snapshot else ()
        return next((e.kind for e in entries if e.model_id == model_id), None)

    def update_header(self) -> None:
        self.turns.update_header()

    # ----------------------------------------------------------------- model commands

    def choose_model(self, model_id: str) -> None:
        """Use a model: embeddings models open the explorer, others become the chat model."""
        kind = self.kind_of(model_id)
        if kind is not None and can_embed(kind):
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
        await self.turns.send(message.text, message.images)

    def on_chat_pane_cancel_requested(self) -> None:
        self.turns.cancel()

    async def action_regenerate(self) -> None:
        await self.turns.regenerate()

    async def on_chat_pane_regenerate_requested(self) -> None:
        await self.action_regenerate()

    def on_chat_pane_attach_requested(self, message: ChatPane.AttachRequested) -> None:
        self.app.push_screen(AttachScreen(message.folder), message.pane.attach_chosen)

    # ----------------------------------------------------------------- embeddings

    def on_embeddings_pane_compute_requested(
        self, message: EmbeddingsPane.ComputeRequested
    ) -> None:
        self.embed_control.compute(message)

    # ----------------------------------------------------------------- tabs and panes

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
