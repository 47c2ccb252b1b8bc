"""A keyboard-navigable heatmap of a square similarity matrix.

Rendered with the line API (one ``Strip`` per visible line) so a 50×50 matrix, or a larger
one, scrolls without building 2,500 widgets. The column header and the row labels stay in
place while the cells scroll under them, so a value is never separated from the texts it
compares. Colours come from ``colour_scale``; the widget posts ``ScaleChanged`` so a legend
can follow it, including after a theme change. The label column takes the width the numbers
leave: whole texts on a wide screen, just "#n" on a narrow one, and never so much that
fewer than four columns of numbers fit (``embed_texts.fit_label_width``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np
from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.events import Click
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.theme import Theme

from workbench.tui.embeddings.colour_scale import (
    RGB,
    ColourScale,
    blend,
    diverging,
    sequential,
    text_colour,
)
from workbench.tui.embeddings.texts import fit_label_width, truncate

CELL_WIDTH = 6
LABEL_WIDTH = 24  # the label column when the width is not known yet


def _rich(colour: RGB) -> RichColor:
    return RichColor.from_rgb(*colour)


class Heatmap(ScrollView, can_focus=True):
    """Cells coloured by value, a movable cursor cell, and a selectable row."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1, 0)", "Up", show=False),
        Binding("down", "move(1, 0)", "Down", show=False),
        Binding("left", "move(0, -1)", "Left", show=False),
        Binding("right", "move(0, 1)", "Right", show=False),
        Binding("home", "jump('first')", "First column", show=False),
        Binding("end", "jump('last')", "Last column", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("enter", "select_row", "Neighbours"),
        Binding("s", "toggle_scale", "Scale"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "heatmap--header",
        "heatmap--label",
        "heatmap--cursor-label",
        "heatmap--selected-label",
        "heatmap--hint",
    }

    DEFAULT_CSS = """
    Heatmap {
        background: $surface;
        height: 1fr;
    }
    Heatmap > .heatmap--header { color: $text-muted; text-style: bold; }
    Heatmap > .heatmap--label { color: $text-muted; }
    Heatmap > .heatmap--cursor-label { color: $text; background: $accent 25%; text-style: bold; }
    Heatmap > .heatmap--selected-label { color: $accent; text-style: bold; }
    Heatmap > .heatmap--hint { color: $text-muted; text-style: italic; }
    """

    class CellHighlighted(Message):
        """The cursor moved to (``row``, ``col``) whose similarity is ``value``."""

        def __init__(self, heatmap: Heatmap, row: int, col: int, value: float) -> None:
            super().__init__()
            self.heatmap = heatmap
            self.row = row
            self.col = col
            self.value = value

        @property
        def control(self) -> Heatmap:
            return self.heatmap

    class RowSelected(Message):
        """The user picked ``row`` (Enter, or a click on its label)."""

        def __init__(self, heatmap: Heatmap, row: int) -> None:
            super().__init__()
            self.heatmap = heatmap
            self.row = row

        @property
        def control(self) -> Heatmap:
            return self.heatmap

    class ScaleChanged(Message):
        """The colour scale changed (new data, scale toggled, or a new theme)."""

        def __init__(self, heatmap: Heatmap, scale: ColourScale) -> None:
            super().__init__()
            self.heatmap = heatmap
            self.scale = scale

        @property
        def control(self) -> Heatmap:
            return self.heatmap

    def __init__(
        self,
        hint: str = "Nothing to show yet.",
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """A heatmap showing ``hint`` until ``set_data`` is called."""
        super().__init__(name=name, id=id, classes=classes)
        self.hint = hint
        self._matrix = np.zeros((0, 0))
        self._labels: tuple[str, ...] = ()
        self._cursor = (0, 0)
        self._selected: int | None = None
        self._scale_kind = "diverging"
        self._scale: ColourScale | None = None
        self._label_width = LABEL_WIDTH

    # ------------------------------------------------------------------ public API

    @property
    def matrix(self) -> np.ndarray:
        """The matrix on show (read-only view)."""
        view = self._matrix.view()
        view.flags.writeable = False
        return view

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels

    @property
    def label_width(self) -> int:
        """Cells of the row-label column at the current width."""
        return self._label_width

    @property
    def cursor(self) -> tuple[int, int]:
        """The (row, column) of the cursor cell."""
        return self._cursor

    @property
    def cursor_value(self) -> float | None:
        """The similarity under the cursor, or ``None`` when there is no data."""
        if not self._labels:
            return None
        return float(self._matrix[self._cursor])

    @property
    def selected_row(self) -> int | None:
        return self._selected

    @property
    def scale(self) -> ColourScale:
        """The colour scale in use."""
        if self._scale is None:
            self._scale = self._build_scale()
        return self._scale

    def set_data(self, matrix: np.ndarray, labels: Sequence[str]) -> None:
        """Show a square ``matrix`` whose rows and columns are ``labels``; cursor to (0, 0)."""
        matrix = np.asarray(matrix, dtype=np.float64)
        if matrix.ndim != 2 or matrix.shape != (len(labels), len(labels)):
            raise ValueError(f"matrix {matrix.shape} does not match {len(labels)} labels")
        self._matrix = matrix
        self._labels = tuple(labels)
        self._selected = None
        self._fit_labels()
        self.scroll_to(0, 0, animate=False)
        self._rescale()
        self.move_cursor(0, 0, force=True)

    def clear(self, hint: str | None = None) -> None:
        """Remove the data and show ``hint`` (or the current hint) instead."""
        if hint is not None:
            self.hint = hint
        self._matrix = np.zeros((0, 0))
        self._labels = ()
        self._selected = None
        self._cursor = (0, 0)
        self.virtual_size = Size(0, 0)
        self.refresh()

    def move_cursor(self, row: int, col: int, *, force: bool = False) -> None:
        """Move the cursor (clamped to the matrix), scroll it into view, post the new cell."""
        n = len(self._labels)
        if n == 0:
            return
        target = (min(max(row, 0), n - 1), min(max(col, 0), n - 1))
        if target == self._cursor and not force:
            return
        self._cursor = target
        self._scroll_to_cursor()
        self.refresh()
        self.post_message(self.CellHighlighted(self, *target, float(self._matrix[target])))

    def select_row(self, row: int) -> None:
        """Mark ``row`` as chosen and post ``RowSelected``."""
        if not 0 <= row < len(self._labels):
            return
        self._selected = row
        self.refresh()
        self.post_message(self.RowSelected(self, row))

    # ------------------------------------------------------------------ actions

    def action_move(self, rows: int, cols: int) -> None:
        row, col = self._cursor
        self.move_cursor(row + rows, col + cols)

    def action_jump(self, where: str) -> None:
        row, _ = self._cursor
        self.move_cursor(row, 0 if where == "first" else len(self._labels) - 1)

    def action_page(self, direction: int) -> None:
        step = max(1, self.scrollable_content_region.height - 1)
        row, col = self._cursor
        self.move_cursor(row + direction * step, col)

    def action_select_row(self) -> None:
        self.select_row(self._cursor[0])

    def action_toggle_scale(self) -> None:
        """Switch between the fixed [-1, 1] scale and one stretched over the data."""
        self._scale_kind = "sequential" if self._scale_kind == "diverging" else "diverging"
        self._rescale()

    # ------------------------------------------------------------------ events

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, self._on_theme_changed)

    def on_resize(self) -> None:
        if self._labels:
            self._fit_labels()
            self._scroll_to_cursor()

    def _on_theme_changed(self, _theme: Theme) -> None:
        self._rescale()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_click(self, event: Click) -> None:
        """Click a cell to move there; click a row label (or double-click a cell) to pick it."""
        offset = event.get_content_offset(self)
        if offset is None or not self._labels:
            return
        scroll_x, scroll_y = self.scroll_offset
        row = scroll_y + offset.y - 1 if offset.y > 0 else self._cursor[0]
        if row >= len(self._labels):
            return
        if offset.x < self._label_width:
            self.move_cursor(row, self._cursor[1])
            self.select_row(row)
            return
        self.move_cursor(row, (scroll_x + offset.x - self._label_width) // CELL_WIDTH)
        if event.chain >= 2:
            self.select_row(self._cursor[0])

    # ------------------------------------------------------------------ scale

    def _build_scale(self) -> ColourScale:
        if self._scale_kind == "diverging":
            _, _, background, foreground = self.colors
            neutral = blend(background.rgb, foreground.rgb, 0.12)
            return diverging(neutral)
        n = len(self._labels)
        values = self._matrix[~np.eye(n, dtype=bool)] if n > 1 else self._matrix.ravel()
        if values.size == 0:
            return sequential(0.0, 1.0)
        return sequential(float(values.min()), float(values.max()))

    def _rescale(self) -> None:
        self._scale = self._build_scale()
        self.refresh()
        self.post_message(self.ScaleChanged(self, self._scale))

    # ------------------------------------------------------------------ rendering

    def _fit_labels(self) -> None:
        n = len(self._labels)
        width = self.scrollable_content_region.width or (LABEL_WIDTH + n * CELL_WIDTH)
        self._label_width = fit_label_width(width, self._labels, CELL_WIDTH)
        self.virtual_size = Size(self._label_width + n * CELL_WIDTH, n + 1)
        self.refresh()

    def _scroll_to_cursor(self) -> None:
        row, col = self._cursor
        region = self.scrollable_content_region
        rows_visible = max(1, region.height - 1)
        data_width = max(CELL_WIDTH, region.width - self._label_width)
        scroll_x, scroll_y = self.scroll_offset
        if row < scroll_y:
            scroll_y = row
        elif row >= scroll_y + rows_visible:
            scroll_y = row - rows_visible + 1
        left = col * CELL_WIDTH
        if left < scroll_x:
            scroll_x = left
        elif left + CELL_WIDTH > scroll_x + data_width:
            scroll_x = left + CELL_WIDTH - data_width
        self.scroll_to(scroll_x, scroll_y, animate=False)

    def render_line(self, y: int) -> Strip:
        """Line 0 is the column header; the others are rows below the scroll position."""
        width = self.scrollable_content_region.width
        base = self.rich_style
        if not self._labels:
            if y != 0:
                return Strip.blank(width, base)
            hint = self.get_component_rich_style("heatmap--hint")
            return Strip([Segment(f" {self.hint}", base + hint)]).crop_extend(0, width, base)
        scroll_x, scroll_y = self.scroll_offset
        data_width = max(0, width - self._label_width)
        # Only the columns that show: a 500-column row costs the same as a 10-column one.
        first = scroll_x // CELL_WIDTH
        columns = range(first, min(len(self._labels), -(-(scroll_x + data_width) // CELL_WIDTH)))
        if y == 0:
            label, cells = self._header_label(base), self._header_cells(base, columns)
        else:
            row = scroll_y + y - 1
            if row >= len(self._labels):
                return Strip.blank(width, base)
            label, cells = self._row_label(base, row), self._row_cells(row, columns)
        offset = scroll_x - first * CELL_WIDTH
        data = Strip(cells).crop_extend(offset, offset + data_width, base)
        return Strip.join([Strip([label]), data]).crop_extend(0, width, base)

    def _header_label(self, base: Style) -> Segment:
        n = len(self._labels)
        style = base + self.get_component_rich_style("heatmap--header")
        return Segment(f" {n}×{n}".ljust(self._label_width)[: self._label_width], style)

    def _header_cells(self, base: Style, columns: range) -> list[Segment]:
        normal = base + self.get_component_rich_style("heatmap--header")
        cursor = base + self.get_component_rich_style("heatmap--cursor-label")
        col_now = self._cursor[1]
        return [
            Segment(f"{col + 1:^{CELL_WIDTH}}", cursor if col == col_now else normal)
            for col in columns
        ]

    def _row_label(self, base: Style, row: int) -> Segment:
        if row == self._cursor[0]:
            kind = "heatmap--cursor-label"
        elif row == self._selected:
            kind = "heatmap--selected-label"
        else:
            kind = "heatmap--label"
        digits = len(str(len(self._labels)))
        marker = "▶" if row == self._selected else " "
        prefix = f"{marker}{row + 1:>{digits}} "
        text = truncate(self._labels[row], self._label_width - len(prefix) - 1)
        label = f"{prefix}{text}".ljust(self._label_width - 1)[: self._label_width - 1] + " "
        return Segment(label, base + self.get_component_rich_style(kind))

    def _row_cells(self, row: int, columns: range) -> list[Segment]:
        scale = self.scale
        cursor_row, cursor_col = self._cursor
        segments = []
        for col in columns:
            value = self._matrix[row, col]
            background = scale.colour(float(value))
            foreground = text_colour(background)
            style = Style(color=_rich(foreground), bgcolor=_rich(background))
            if (row, col) == (cursor_row, cursor_col):
                style = self._cursor_style(background, foreground)
            segments.append(Segment(f"{round(float(value), 2) + 0.0:5.2f} ", style))
        return segments

    def _cursor_style(self, background: RGB, foreground: RGB) -> Style:
        if self.has_focus:
            return Style(color=_rich(background), bgcolor=_rich(foreground), bold=True)
        return Style(color=_rich(foreground), bgcolor=_rich(background), bold=True, underline=True)
