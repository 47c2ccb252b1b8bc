"""The models in the pool, least recently used first (the next to be evicted on top).

Each row: markers (📌 pinned, ▶ in use, … loading), name, measured size, the estimate made
before loading, and how long the load took. A model sharded over a cluster adds a line per
rank under its name: host and share (sizes are this machine's part).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from workbench.core.protocol import PoolEntryView, PoolSnapshot
from workbench.core.units import format_bytes
from workbench.tui.format import human_seconds
from workbench.tui.widths import column_widths, set_columns

COLUMNS = ("", "Loaded (LRU first)", "Size", "Est.", "Load")
MINIMUM_WIDTHS = (3,)  # "📌▶": a lease at a reply's start and end keeps the layout


def markers(entry: PoolEntryView) -> str:
    """📌 pinned, ▶ in use (leased), … still loading."""
    marks = ""
    if entry.pinned:
        marks += "📌"
    if entry.leases:
        marks += "▶"
    if entry.state == "loading":
        marks += "…"
    return marks


def cluster_lines(entry: PoolEntryView) -> list[str]:
    """One line per rank of a sharded model: its host and share ([] for a local model)."""
    if entry.cluster is None:
        return []
    return [
        f"  rank {r.rank} {r.host}{' (here)' if r.local else ''}: {format_bytes(r.share_bytes)}"
        for r in entry.cluster.ranks
    ]


def entry_row(entry: PoolEntryView) -> tuple[str, ...]:
    load = "loading" if entry.state == "loading" else human_seconds(entry.load_seconds)
    if entry.state != "loading" and entry.load_seconds is None:
        load = ""
    measured = format_bytes(entry.measured_bytes) if entry.measured_bytes is not None else "…"
    name = "\n".join([entry.name, *cluster_lines(entry)])
    return (markers(entry), name, measured, format_bytes(entry.estimated_bytes), load)


def _heights(rows: tuple[tuple[str, ...], ...]) -> list[int]:
    """Each row's height: its name and a line per rank (``entry_row``)."""
    return [row[1].count("\n") + 1 for row in rows]


class LoadedModels(DataTable):
    """Rows keyed by model id, from each pool snapshot (keeping the cursor).

    A snapshot with the same models in the same order and widths (a lease taken or given
    back, as at the start and end of every reply) changes only the cells that differ;
    rebuilding the rows would lay the screen out again while a reply starts to stream.
    Cells are plain text (a model's name is not markup).
    """

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Use model")]

    DEFAULT_CSS = """
    LoadedModels {
        height: auto;
        max-height: 10;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False, show_cursor=True)
        self.model_ids: tuple[str, ...] = ()
        self._shown: tuple[tuple[str, ...], ...] = ()  # each row's cells, as shown
        self._columns: list[ColumnKey] = []
        self._widths: tuple[int, ...] = ()

    def on_mount(self) -> None:
        self._set_columns(column_widths(COLUMNS, (), MINIMUM_WIDTHS))

    def _set_columns(self, widths: tuple[int, ...]) -> None:
        self._columns = set_columns(self, COLUMNS, widths)
        self._widths = widths

    def show_snapshot(self, snapshot: PoolSnapshot) -> None:
        """Show the snapshot's entries (in its LRU order)."""
        rows = tuple(entry_row(entry) for entry in snapshot.entries)
        ids = tuple(e.model_id for e in snapshot.entries)
        widths = column_widths(COLUMNS, rows, MINIMUM_WIDTHS)
        same_layout = widths == self._widths and _heights(rows) == _heights(self._shown)
        if ids == self.model_ids and same_layout:
            self._update_cells(rows)
        else:
            self._rebuild(ids, rows, widths)
        self._shown = rows

    def _update_cells(self, rows: tuple[tuple[str, ...], ...]) -> None:
        for model_id, row, shown in zip(self.model_ids, rows, self._shown, strict=True):
            for column, value, before in zip(self._columns, row, shown, strict=True):
                if value != before:
                    self.update_cell(model_id, column, Text(value))

    def _rebuild(
        self, ids: tuple[str, ...], rows: tuple[tuple[str, ...], ...], widths: tuple[int, ...]
    ) -> None:
        current = self.current_model_id
        self._set_columns(widths)
        for model_id, row, height in zip(ids, rows, _heights(rows), strict=True):
            self.add_row(*map(Text, row), key=model_id, height=height)
        self.model_ids = ids
        if current in self.model_ids:
            self.move_cursor(row=self.model_ids.index(current), animate=False)

    @property
    def current_model_id(self) -> str | None:
        """The model under the cursor (None when the pool is empty)."""
        if not self.model_ids or not 0 <= self.cursor_row < len(self.model_ids):
            return None
        return self.model_ids[self.cursor_row]
