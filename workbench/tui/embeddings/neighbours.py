"""A titled, ranked list of texts with scores: nearest neighbours, or a query's ranking.

Both lists answer "which texts are closest to this one?", so one widget serves both. Until
there is something to rank it shows a hint saying how to get there, instead of an empty
table that looks broken.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.color import Color as RichColor
from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from workbench.tui.embeddings.colour_scale import ColourScale, text_colour
from workbench.tui.embeddings.texts import truncate
from workbench.tui.widths import column_widths, set_columns

COLUMNS = ("", "#", "score", "text")
COLUMN_KEYS = ("rank", "index", "score", "text")
TEXT_WIDTH = 80


@dataclass(frozen=True)
class RankedEntry:
    """One row: ``rank`` (1 = closest), the text's 0-based ``index``, its ``score``.

    The table shows the index 1-based, like the heatmap's labels.
    """

    rank: int
    index: int
    score: float
    text: str


def _cells(entry: RankedEntry, scale: ColourScale | None) -> tuple[str | Text, ...]:
    """Rank, the text's number, its score (coloured by ``scale``) and the text."""
    score = _score_cell(entry.score, scale)
    text = Text(truncate(entry.text, TEXT_WIDTH))  # as written, not markup
    return (f"{entry.rank}.", str(entry.index + 1), score, text)


def _score_cell(score: float, scale: ColourScale | None) -> Text:
    label = f" {score:+.3f} "
    if scale is None:
        return Text(label)
    background = scale.colour(score)
    style = Style(
        color=RichColor.from_rgb(*text_colour(background)),
        bgcolor=RichColor.from_rgb(*background),
    )
    return Text(label, style=style)


class RankedList(Vertical):
    """A border-titled table of ``RankedEntry`` rows, or a one-line hint when empty."""

    DEFAULT_CSS = """
    RankedList {
        border: round $panel-lighten-2;
        border-title-color: $text;
        height: 1fr;
    }
    RankedList:focus-within { border: round $accent; }
    RankedList > .ranked--hint { color: $text-muted; text-style: italic; padding: 0 1; }
    RankedList > DataTable { height: 1fr; background: transparent; }
    """

    def __init__(
        self,
        title: str,
        hint: str,
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """A list titled ``title`` that shows ``hint`` until it has entries."""
        super().__init__(name=name, id=id, classes=classes)
        self.border_title = title
        self._hint = hint
        self._entries: tuple[RankedEntry, ...] = ()

    def compose(self) -> ComposeResult:
        yield Static(self._hint, classes="ranked--hint")
        table: DataTable[str | Text] = DataTable(cursor_type="row", zebra_stripes=True)
        table.display = False
        yield table

    def on_mount(self) -> None:
        set_columns(self.table, COLUMNS, column_widths(COLUMNS, ()), keys=COLUMN_KEYS)

    @property
    def table(self) -> DataTable[str | Text]:
        return self.query_one(DataTable)

    @property
    def entries(self) -> tuple[RankedEntry, ...]:
        """The entries on show, best first (empty while the hint shows)."""
        return self._entries

    def show_ranking(
        self, title: str, entries: Sequence[RankedEntry], scale: ColourScale | None = None
    ) -> None:
        """Replace the rows with ``entries`` (already ranked) under a new ``title``.

        With a ``scale`` each score is coloured the way the heatmap colours it.
        """
        self.border_title = title
        self._entries = tuple(entries)
        self.recolour(scale)

    def recolour(self, scale: ColourScale | None) -> None:
        """Redraw the current entries with score colours from ``scale``."""
        rows = [_cells(entry, scale) for entry in self._entries]
        set_columns(self.table, COLUMNS, column_widths(COLUMNS, rows), keys=COLUMN_KEYS)
        for row in rows:
            self.table.add_row(*row)
        self._show_table(bool(self._entries))

    def show_hint(self, title: str, hint: str) -> None:
        """Clear the rows and show ``hint`` under ``title``."""
        self.border_title = title
        self._hint = hint
        self._entries = ()
        self.table.clear()
        self.query_one(".ranked--hint", Static).update(hint)
        self._show_table(False)

    def _show_table(self, visible: bool) -> None:
        self.table.display = visible
        self.query_one(".ranked--hint", Static).display = not visible
