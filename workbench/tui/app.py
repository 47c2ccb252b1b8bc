"""The workbench app: builds the parts and starts the runner.

Deliberately small. The runner comes from a factory the caller passes in (the command line
builds the real one, tests a fake), so this layer never imports MLX. The runner starts
after the first frame is drawn; until it reports ready the pool pane says
"starting engine…". Layout and behaviour live in ``screens.main.MainScreen``; the runner's
messages go from the bridge straight to the screen concerned, never through here.

Keys (the footer shows those of the focused pane; Ctrl+P lists every command):

- anywhere: F2 models list · Ctrl+N new chat · Ctrl+O sessions · Ctrl+G chat settings
  (system prompt, temperature, top_p, max tokens, seed; reopen last session on start) ·
  F4 export Markdown · F5 Chat/Embeddings tab · F6 compare two models ·
  F7 completion mode on/off · Ctrl+B show/hide models pane (remembered) ·
  F8 edit the last question · F9 / F10 copy the last reply / code block · Ctrl+P palette ·
  Ctrl+Q quit
- models: Enter use (chat, or the explorer for embedding models) · l load · p pin/unpin
  (loads and pins an unloaded model) · e evict; highlighting a model shows its load plan
- chat: Ctrl+S send (Ctrl+Enter too where the terminal reports it; Enter is a newline) ·
  Esc cancel the reply · Ctrl+R regenerate the last reply
- sessions list: Enter resume · / search (Down to the list) · r rename · d delete ·
  x export · Esc close
- heatmap: Enter neighbours · s colour scale · x export the matrix as CSV
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from textual.app import App
from textual.worker import Worker, WorkerState

from workbench.core.images.prepare import DEFAULT_MAX_SIDE
from workbench.core.logs import log_failure
from workbench.core.sessions.store import SessionStore
from workbench.core.types import ModelInfo
from workbench.tui.bridge import WORKER_NAME, RunnerBridge, RunnerFactory
from workbench.tui.chat.controller import ChatController
from workbench.tui.commands import WorkbenchCommands
from workbench.tui.layout_once import install as lay_out_once
from workbench.tui.screens.main import MainScreen
from workbench.tui.theming import setup_themes


class MlxbenchApp(App[None]):
    """Pool pane, streaming chat with saved sessions, embeddings explorer."""

    TITLE = "mlxbench"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {WorkbenchCommands}
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-narrow"),
        (110, "-wide"),
    ]

    def __init__(
        self,
        catalog: list[ModelInfo],
        runner_factory: RunnerFactory,
        sessions_dir: Path,
        *,
        export_dir: Path | None = None,
        theme: str | None = None,
        clock: Callable[[], datetime] | None = None,
        image_max_side: int | None = None,
    ) -> None:
        """``theme`` forces a theme (tests); otherwise the user's saved choice is used.

        ``image_max_side`` caps the longest side of attached images (config ``image_max_side``).
        """
        super().__init__()
        lay_out_once()  # one layout per change, not two (see ``layout_once``)
        self.catalog = list(catalog)
        self.bridge = RunnerBridge(self, runner_factory)
        store = SessionStore(sessions_dir, clock=clock) if clock else SessionStore(sessions_dir)
        self.controller = ChatController(store)
        self.export_dir = export_dir or Path(sessions_dir) / "exports"
        self._forced_theme = theme
        self.main_screen = MainScreen(
            self.catalog,
            self.bridge,
            self.controller,
            self.export_dir,
            image_max_side=image_max_side or DEFAULT_MAX_SIDE,
        )
        self.bridge.pool_screen = self.main_screen  # the pool's messages go there

    def get_default_screen(self) -> MainScreen:
        return self.main_screen

    def on_mount(self) -> None:
        self._setup_themes()
        self.call_after_refresh(self.bridge.start)

    def _setup_themes(self) -> None:
        setup_themes(self)  # shipped + user themes, bad files reported, saved choice restored
        if self._forced_theme:
            self.theme = self._forced_theme

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The runner thread ended: say so (with its error) instead of failing silently."""
        if event.worker.name != WORKER_NAME or self._exit:
            return
        if event.state is WorkerState.ERROR:
            log_failure(event.worker.error)
            self.bridge.engine_ended(event.worker.error)
        elif event.state is WorkerState.SUCCESS:
            self.bridge.engine_ended(None)

    def on_unmount(self) -> None:
        self.bridge.stop()
