"""Every model the catalog found: kind, family, quantization, size and pool status.

Unusable models are listed too (dimmed, status "unusable") so a user sees why a model they
expected is not loadable; the plan line below the list gives the reason.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import DataTable

from workbench.core.protocol import PoolSnapshot
from workbench.core.types import ModelInfo
from workbench.core.units import format_bytes
from workbench.tui.widths import column_widths, set_columns

COLUMNS = ("Model", "Kind", "Family", "Size", "Status")
KIND_LABELS = {"text": "text", "vision": "vision", "embeddings": "embed"}
STATUS_COLUMN = "status"
COLUMN_KEYS = ("model", "kind", "family", "size", STATUS_COLUMN)
MINIMUM_WIDTHS = (0, 0, 0, 0, len("loading"))  # the widest status a load can set


def pool_status(model_id: str, snapshot: PoolSnapshot | None) -> str:
    """ "pinned", "loaded", "loading" or "" for one model."""
    if snapshot is None:
        return ""
    for entry in snapshot.entries:
        if entry.model_id == model_id:
            if entry.state == "loading":
                return "loading"
            return "pinned" if entry.pinned else "loaded"
    return ""


class ModelList(DataTable):
    """The catalog as a table keyed by model id; only the status column changes."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Use model")]

    DEFAULT_CSS = """
    ModelList {
        height: 1fr;
    }
    """

    def __init__(self, models: list[ModelInfo], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self.models = list(models)
        self.by_id = {m.id: m for m in self.models}

    def on_mount(self) -> None:
        rows = [self._cells(model) for model in self.models]
        set_columns(self, COLUMNS, column_widths(COLUMNS, rows, MINIMUM_WIDTHS), keys=COLUMN_KEYS)
        for model, row in zip(self.models, rows, strict=True):
            self.add_row(*row, key=model.id)

    def _cells(self, model: ModelInfo) -> tuple[Text | str, ...]:
        style = "" if model.usable else "dim"
        status = "" if model.usable else "unusable"
        cells = (
            model.name,
            KIND_LABELS.get(model.kind.value, model.kind.value),
            model.family.value,
            format_bytes(model.estimated_bytes) if model.estimated_bytes else "?",
            status,
        )
        return tuple(Text(c, style=style) for c in cells)

    def show_snapshot(self, snapshot: PoolSnapshot | None) -> None:
        """Refresh each usable model's pool status (only the cells that change)."""
        for model in self.models:
            if model.usable:
                status = pool_status(model.id, snapshot)
                if str(self.get_cell(model.id, STATUS_COLUMN)) != status:
                    self.update_cell(model.id, STATUS_COLUMN, status)

    @property
    def current_model(self) -> ModelInfo | None:
        """The catalog entry under the cursor."""
        if not self.models or not 0 <= self.cursor_row < len(self.models):
            return None
        return self.models[self.cursor_row]
