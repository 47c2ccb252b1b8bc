"""Column widths for the workbench's tables, worked out from the cells they will show.

A DataTable left to size its columns measures the cells when it is next idle, after the
rows are added. A frame drawn in between caches the header at the labels' widths, and that
cache is keyed by an update count the measuring does not change: the narrow header can stay
on screen until the table's next edit. The tables here pass widths with their columns.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from rich.cells import cell_len
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey


def column_widths(
    labels: Sequence[str], rows: Iterable[Iterable[object]], minimums: Sequence[int] = ()
) -> tuple[int, ...]:
    """Each column's width in cells: its label, its widest line or its minimum, the widest.

    A cell is measured as ``str(cell)`` shows it (a ``Text`` by its plain text); ``minimums``
    may name only the first columns, the rest have none.
    """
    widths = [cell_len(label) for label in labels]
    for column, minimum in enumerate(minimums):
        widths[column] = max(widths[column], minimum)
    for row in rows:
        for column, cell in enumerate(row):
            widths[column] = max(
                widths[column], *(cell_len(line) for line in str(cell).split("\n"))
            )
    return tuple(widths)


def set_columns(
    table: DataTable[Any], labels: Sequence[str], widths: Sequence[int], keys: Sequence[str] = ()
) -> list[ColumnKey]:
    """Clear ``table`` (rows and columns), then add columns ``widths`` cells wide."""
    table.clear(columns=True)
    column_keys: Sequence[str | None] = keys or [None] * len(labels)
    named = zip(labels, column_keys, widths, strict=True)
    return [table.add_column(label, key=key, width=width) for label, key, width in named]
