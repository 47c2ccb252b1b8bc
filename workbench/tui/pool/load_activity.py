"""Loads in progress: which model, what step, and how long it should take.

Kept to plain text (no spinner, no running clock) so that what is on screen changes only
when the engine says something new.
"""

from __future__ import annotations

from textual.widgets import Static

from workbench.tui.format import human_seconds


class LoadActivity(Static):
    """One line per model being loaded; hidden when nothing is loading."""

    DEFAULT_CSS = """
    LoadActivity {
        height: auto;
        color: $accent;
        display: none;
    }
    LoadActivity.-active { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self._loads: dict[str, tuple[str, str, float | None]] = {}

    def started(self, model_id: str, name: str, estimated_seconds: float | None) -> None:
        self._loads[model_id] = (name, "starting", estimated_seconds)
        self._show()

    def progress(self, model_id: str, message: str) -> None:
        if model_id in self._loads:
            name, _, eta = self._loads[model_id]
            self._loads[model_id] = (name, message, eta)
            self._show()

    def finished(self, model_id: str) -> None:
        self._loads.pop(model_id, None)
        self._show()

    @property
    def loading(self) -> tuple[str, ...]:
        return tuple(self._loads)

    def _show(self) -> None:
        lines = []
        for name, step, eta in self._loads.values():
            estimate = f" (≈ {human_seconds(eta)})" if eta else ""
            lines.append(f"Loading {name}{estimate}: {step.rstrip('.… ')}…")
        self.set_class(bool(lines), "-active")
        self.update("\n".join(lines))
