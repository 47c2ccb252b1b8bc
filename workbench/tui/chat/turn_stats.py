"""What a reply cost: time to first token, tokens/s, tokens, peak memory, how it ended."""

from __future__ import annotations

from textual.widgets import Static

from workbench.core.sessions.export import stats_line
from workbench.core.types import TurnStats


class TurnStatsView(Static):
    """One dim line under a reply; hidden until the reply is done."""

    DEFAULT_CSS = """
    TurnStatsView {
        color: $text-muted;
        height: auto;
        display: none;
    }
    TurnStatsView.-shown { display: block; }
    """

    def show_stats(self, stats: TurnStats | None) -> None:
        """Show (or hide, for None) the stats of a finished turn."""
        self.set_class(stats is not None, "-shown")
        self.update(stats_line(stats) if stats is not None else "")
