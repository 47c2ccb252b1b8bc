"""The pool's memory against its budget, with the pinned share visible.

Two lines: a bar (pinned | other loaded | free) and the figures, e.g.
"1.2 GB / 8.0 GB · pinned 0.5 GB · cache 12 MB · 2/4 models" — "used" counts the models'
prompt caches too, since they hold memory like the weights do; a third line explains an
over-budget pool (pinned or in-use models above a lowered budget). Until the engine
reports its first pool snapshot the second line says what the engine is doing
("starting engine…").
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from workbench.core.protocol import PoolSnapshot
from workbench.core.units import format_bytes


def bar_cells(snapshot: PoolSnapshot, width: int) -> tuple[int, int, int]:
    """Cells for (pinned, other used, free) out of ``width``; over-budget fills the bar."""
    budget = max(snapshot.budget_bytes, 1)
    used = min(round(snapshot.used_bytes / budget * width), width)
    pinned = min(round(snapshot.pinned_bytes / budget * width), used)
    if snapshot.used_bytes > 0 and used == 0:
        used = 1
    return pinned, used - pinned, width - used


def memory_text(snapshot: PoolSnapshot) -> str:
    """ "1.2 GB / 8.0 GB · pinned 0.5 GB · cache 12 MB · 2/4 models"."""
    cache = f" · cache {format_bytes(snapshot.cache_bytes)}" if snapshot.cache_bytes else ""
    text = (
        f"{format_bytes(snapshot.used_bytes)} / {format_bytes(snapshot.budget_bytes)}"
        f" · pinned {format_bytes(snapshot.pinned_bytes)}{cache}"
        f" · {len(snapshot.entries)}/{snapshot.max_models} models"
    )
    return f"{text}\n{snapshot.over_budget}" if snapshot.over_budget else text


class MemoryBar(Widget):
    """Used / budget memory of the model pool."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "memory-bar--pinned",
        "memory-bar--used",
        "memory-bar--free",
        "memory-bar--over",
    }

    DEFAULT_CSS = """
    MemoryBar {
        height: auto;
    }
    MemoryBar > .memory-bar--pinned { color: $warning; }
    MemoryBar > .memory-bar--used { color: $accent; }
    MemoryBar > .memory-bar--free { color: $foreground 25%; }
    MemoryBar > .memory-bar--over { color: $error; text-style: bold; }
    """

    snapshot: reactive[PoolSnapshot | None] = reactive(None)
    """The latest pool snapshot (None until the engine sends one)."""

    status: reactive[str] = reactive("starting engine…")
    """What to show instead of figures while there is no snapshot."""

    def render(self) -> Text:
        width = max(self.size.width, 1)
        free_style = self.get_component_rich_style("memory-bar--free")
        snapshot = self.snapshot
        if snapshot is None:
            return Text.assemble(("░" * width, free_style), "\n", self.status)
        pinned, used, free = bar_cells(snapshot, width)
        over = snapshot.used_bytes > snapshot.budget_bytes
        used_style = self.get_component_rich_style(
            "memory-bar--over" if over else "memory-bar--used"
        )
        bar = Text.assemble(
            ("█" * pinned, self.get_component_rich_style("memory-bar--pinned")),
            ("█" * used, used_style),
            ("░" * free, free_style),
        )
        figures = Text(memory_text(snapshot), style=used_style if over else "")
        return Text.assemble(bar, "\n", figures)
