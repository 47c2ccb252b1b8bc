"""Snapshots of the embeddings explorer at 120×40 with fixed, hand-picked embeddings.

Update after an intended visual change with ``pytest --snapshot-update`` on this file, then
look at the SVGs before committing them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Footer, Input, TextArea

from workbench.core.types import EmbeddingResult, Family, ModelInfo, ModelKind
from workbench.tui.embeddings.explorer import EmbeddingsPane
from workbench.tui.theming import setup_themes

SIZE = (120, 40)
MODEL = ModelInfo(
    id="demo:all-MiniLM-L6-v2",
    name="all-MiniLM-L6-v2",
    path=Path("/nowhere/minilm"),
    kind=ModelKind.EMBEDDINGS,
    family=Family.OTHER,
    source="demo",
)
# Three topics (cats, markets, food), two texts each, plus a query near "food".
VECTORS = {
    "The cat sat on the mat": (0.9, 0.1, 0.0, 0.3),
    "A kitten sleeps on a warm rug": (0.8, 0.0, 0.2, 0.4),
    "Stock markets fell sharply today": (0.0, 0.9, 0.1, -0.2),
    "Investors sold shares as prices dropped": (0.1, 0.8, 0.0, -0.3),
    "I love pizza with extra cheese": (0.1, 0.0, 0.9, 0.2),
    "Pasta and pizza are Italian classics": (0.0, 0.2, 0.8, 0.1),
    "melted cheese": (0.2, 0.0, 0.9, 0.3),
}
TEXTS = tuple(list(VECTORS)[:6])


class SnapshotApp(App[None]):
    """The pane with the shipped themes and an instant, fixed-vector "model"."""

    def __init__(self, theme: str = "mlxbench-dark") -> None:
        super().__init__()
        self._theme_name = theme

    def compose(self) -> ComposeResult:
        yield EmbeddingsPane([MODEL])
        yield Footer()

    def on_mount(self) -> None:
        setup_themes(self)
        self.theme = self._theme_name

    def on_embeddings_pane_compute_requested(
        self, message: EmbeddingsPane.ComputeRequested
    ) -> None:
        vectors = tuple(VECTORS[t] for t in message.texts)
        result = EmbeddingResult(vectors, tuple(len(t.split()) for t in message.texts), MODEL.id, 4)
        assert message.control is not None
        message.control.show_result(message.texts, result)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


async def compute_and_explore(pilot: Pilot, query: str = "melted cheese") -> None:
    pilot.app.query_one("#embed-texts", TextArea).text = "\n".join(TEXTS)
    pilot.app.query_one("#embed-query", Input).value = query
    await pilot.press("ctrl+r")
    await pilot.pause()
    await pilot.press("down", "right", "right", "right", "enter")
    await pilot.pause()


def test_snapshot_empty_explorer(snap_compare) -> None:
    assert snap_compare(SnapshotApp(), terminal_size=SIZE)


def test_snapshot_heatmap_neighbours_and_query_ranking(snap_compare) -> None:
    assert snap_compare(SnapshotApp(), terminal_size=SIZE, run_before=compute_and_explore)


async def stretched_without_query(pilot: Pilot) -> None:
    await compute_and_explore(pilot, query="")
    await pilot.press("s")
    await pilot.pause()


def test_snapshot_light_theme_stretched_scale_no_query(snap_compare) -> None:
    app = SnapshotApp(theme="mlxbench-light")
    assert snap_compare(app, terminal_size=SIZE, run_before=stretched_without_query)
