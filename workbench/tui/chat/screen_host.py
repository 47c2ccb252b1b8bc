"""What the chat feature's screen mixins may use of the screen they are mixed into.

``ChatExtras`` (copy, edit) and ``SessionCommands`` (new, open, export, settings) are
mixins of ``MainScreen``. They need its controller, names, export folder, chat pane and a
few of its methods, but must not import the screen (that would be a cycle). This one
declaration says what the screen provides, for both, and for the type checker.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App

if TYPE_CHECKING:
    from workbench.tui.chat.controller import ChatController
    from workbench.tui.chat.pane import ChatPane


class ChatScreenHost:
    """The parts of the main screen that its chat mixins rely on."""

    app: App
    controller: ChatController
    names: dict[str, str]
    export_dir: Path

    if TYPE_CHECKING:  # provided by the screen

        @property
        def chat(self) -> ChatPane: ...

        def notify(self, message: str, **options: Any) -> None: ...

        def update_header(self) -> None: ...

        def show_tab(self, tab_id: str) -> None: ...
