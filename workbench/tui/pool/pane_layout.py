"""Where the models pane goes: beside the tabs when there is room, over them when not.

Whether the pane is shown is the user's setting (Ctrl+B, F2), remembered between runs and
kept across Chat / Embeddings switches. Below the screen's narrow breakpoint the pane and
the tabs do not share the width (a 40-column model table loses its Size and Status
columns, a 40-column explorer its numbers): a shown pane takes the whole width, and
choosing a model, or switching tab, folds it away again without changing the setting.
"""

from __future__ import annotations

from textual.screen import Screen

from workbench.core import app_state
from workbench.core.errors import WorkbenchError


class PaneLayout:
    """Shows and hides the models pane (``#pool``) of ``screen`` inside ``#workbench``."""

    def __init__(self, screen: Screen) -> None:
        self.screen = screen
        self.shown = app_state.setting(app_state.MODELS_PANE, True)

    @property
    def narrow(self) -> bool:
        return self.screen.has_class("-narrow")

    @property
    def pool_visible(self) -> bool:
        """The pane is on screen now (shown, and not folded away on a narrow screen)."""
        return self.screen.query_one("#workbench").has_class("-pool-shown")

    def apply(self) -> None:
        """Draw the setting: the pane beside the tabs, over them (narrow), or hidden."""
        self.screen.query_one("#workbench").set_class(self.shown, "-pool-shown")

    def set_shown(self, shown: bool, *, remember: bool = True) -> None:
        """Show or hide the pane; ``remember`` makes it the setting for the next start."""
        self.shown = shown
        self.apply()
        if remember:
            try:
                app_state.remember(app_state.MODELS_PANE, shown)
            except WorkbenchError as exc:
                self.screen.notify(str(exc), severity="warning")

    def fold_if_narrow(self) -> None:
        """On a narrow screen, make way for the tabs (the setting itself is kept)."""
        if self.narrow and self.pool_visible:
            self.screen.query_one("#workbench").set_class(False, "-pool-shown")

    def unfold(self) -> None:
        """Bring a folded pane back (F2 on a narrow screen)."""
        self.screen.query_one("#workbench").set_class(True, "-pool-shown")
