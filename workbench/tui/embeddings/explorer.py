"""The embeddings explorer: texts in, a similarity heatmap and nearest neighbours out.

The pane never embeds anything itself. "Compute" posts ``ComputeRequested`` (when a query
is given it rides along as the last text, so one request embeds everything); the app runs
it on the model thread and answers with ``show_result`` or ``show_error``. Everything
after that — cosine matrix, neighbours, query ranking — is cheap numpy on the UI thread.
Row and column numbers on screen are 1-based, like the TextArea's line numbers.

Results on show always say what they were computed from: editing the texts, loading a
file, changing the query or the model marks them stale (dimmed, titled so) until the
next compute. Below ``COMPACT_WIDTH`` columns the inputs column narrows and scrolls so the
heatmap keeps room for its numbers; ``x`` on the heatmap exports the matrix as CSV.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Select, Static, TextArea

from workbench.core.embeddings.similarity import cosine_matrix, rank_against, top_k_neighbours
from workbench.core.embeddings.similarity_csv import export_matrix_csv
from workbench.core.errors import WorkbenchError
from workbench.core.models.kinds import can_embed
from workbench.core.types import EmbeddingResult, ModelInfo
from workbench.tui.embeddings.heatmap import Heatmap
from workbench.tui.embeddings.neighbours import RankedEntry, RankedList
from workbench.tui.embeddings.scale_legend import ScaleLegend
from workbench.tui.embeddings.texts import (
    MAX_TEXTS,
    read_texts_file,
    split_texts,
    truncate,
)

NEIGHBOURS_K = 10
COMPACT_WIDTH = 100
_REMEMBERED_REQUESTS = 8
_NEIGHBOURS_HINT = "Select a row in the heatmap (Enter or click its label) to list its neighbours."
_RANKING_HINT = "Type a query and compute to rank the texts against it."


class EmbeddingsPane(Widget):
    """Enter or load texts, pick an embedding model, explore their similarities."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+r", "compute", "Compute"),
        Binding("x", "export_csv", "Export CSV"),
    ]

    DEFAULT_CSS = """
    EmbeddingsPane { layout: horizontal; height: 1fr; }
    EmbeddingsPane #embed-inputs { width: 38; padding: 0 1 0 0; scrollbar-size-vertical: 1; }
    EmbeddingsPane.-compact #embed-inputs { width: 40%; min-width: 24; max-width: 32; }
    EmbeddingsPane .embed-caption { color: $text-muted; margin-top: 1; }
    EmbeddingsPane.-compact .embed-caption { margin-top: 0; }
    EmbeddingsPane #embed-model { width: 1fr; }
    EmbeddingsPane #embed-model Static#label { text-wrap: nowrap; text-overflow: ellipsis; }
    EmbeddingsPane #embed-texts { height: 1fr; min-height: 5; }
    EmbeddingsPane #embed-file-row { height: auto; }
    EmbeddingsPane #embed-file { width: 1fr; }
    EmbeddingsPane #embed-load { min-width: 8; width: auto; }
    EmbeddingsPane #embed-compute { width: 1fr; margin-top: 1; }
    EmbeddingsPane #embed-message { height: auto; min-height: 1; padding: 0 1; }
    EmbeddingsPane #embed-message.-error { color: $error; }
    EmbeddingsPane #embed-message.-busy { color: $warning; }
    EmbeddingsPane #embed-results { width: 1fr; }
    EmbeddingsPane #embed-heatmap { border: round $panel-lighten-2; height: 2fr; min-height: 6; }
    EmbeddingsPane #embed-heatmap:focus { border: round $accent; }
    EmbeddingsPane #embed-results.-stale #embed-heatmap { border-title-color: $warning; }
    EmbeddingsPane #embed-results.-stale RankedList { opacity: 60%; }
    EmbeddingsPane #embed-cell { height: 3; padding: 0 1; }
    EmbeddingsPane #embed-lists { height: 1fr; min-height: 6; }
    """

    class ComputeRequested(Message):
        """Embed ``texts`` with ``model_id``; if ``query`` is set it is the last text."""

        def __init__(
            self,
            model_id: str,
            texts: tuple[str, ...],
            query: str | None,
            pane: EmbeddingsPane | None = None,
        ) -> None:
            super().__init__()
            self.model_id = model_id
            self.texts = texts
            self.query = query
            self.pane = pane

        @property
        def control(self) -> EmbeddingsPane | None:
            """The pane that asked."""
            return self.pane

    def __init__(
        self,
        models: Sequence[ModelInfo] = (),
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """A pane offering the embedding models among ``models``."""
        super().__init__(name=name, id=id, classes=classes)
        self._models: dict[str, ModelInfo] = {}
        self._initial_models = tuple(models)
        self._requests: dict[tuple[str, ...], str | None] = {}
        self._texts: tuple[str, ...] = ()
        self._message = ""
        self._shown_from: tuple[object, ...] | None = None  # (model, texts, query) on show
        self.export_dir: Path | None = None  # where ``x`` writes the CSV (None: cwd)

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="embed-inputs", can_focus=False):
            yield Label("Embedding model", classes="embed-caption")
            yield Select[str]([], prompt="Choose a model", id="embed-model")
            yield Label("Texts, one per line", classes="embed-caption")
            yield TextArea(
                id="embed-texts",
                soft_wrap=True,
                show_line_numbers=True,
                placeholder="Paste or type texts here, one per line.",
            )
            yield Label("…or load a text file", classes="embed-caption")
            with Horizontal(id="embed-file-row"):
                yield Input(placeholder="path/to/texts.txt", id="embed-file")
                yield Button("Load", id="embed-load")
            yield Label("Query (optional)", classes="embed-caption")
            yield Input(placeholder="rank the texts against…", id="embed-query")
            yield Button("Compute  ctrl+r", id="embed-compute", variant="primary")
            yield Static(id="embed-message")
        with Vertical(id="embed-results"):
            heatmap = Heatmap("Enter texts, choose a model and compute.", id="embed-heatmap")
            heatmap.border_title = "Cosine similarity"
            yield heatmap
            yield ScaleLegend(id="embed-legend")
            yield Static(id="embed-cell")
            with Horizontal(id="embed-lists"):
                yield RankedList("Neighbours", _NEIGHBOURS_HINT, id="embed-neighbours")
                yield RankedList("Query ranking", _RANKING_HINT, id="embed-ranking")

    def on_mount(self) -> None:
        self.set_models(self._initial_models)

    # ------------------------------------------------------------------ public API

    @property
    def message(self) -> str:
        """The inline message currently shown (status or error)."""
        return self._message

    @property
    def texts(self) -> tuple[str, ...]:
        """The texts of the matrix on show (without the query)."""
        return self._texts

    @property
    def stale(self) -> bool:
        """Results are on show but the texts, query or model changed since."""
        return self._shown_from is not None and self._shown_from != self._inputs()

    def set_models(self, models: Sequence[ModelInfo]) -> None:
        """Offer the usable embedding models among ``models``; keep the choice if still there."""
        usable = [m for m in models if can_embed(m.kind) and m.usable]
        self._models = {m.id: m for m in usable}
        select: Select[str] = self.query_one("#embed-model", Select)
        current = select.value
        select.set_options((m.name, m.id) for m in usable)
        if isinstance(current, str) and current in self._models:
            select.value = current
        elif len(usable) == 1:
            select.value = usable[0].id
        select.prompt = "Choose a model" if usable else "No embedding models found"

    def show_result(self, texts: tuple[str, ...], result: EmbeddingResult) -> None:
        """Show the answer to a ``ComputeRequested`` for ``texts`` (query last, if any).

        The last text is taken as the query only when the pane itself asked for exactly
        these ``texts`` with a query (it remembers its last few requests); otherwise every
        text is a row of the matrix. ``result.vectors`` must have one vector per text.
        """
        query = self._requests.pop(tuple(texts), None)
        if len(result.vectors) != len(texts):
            self.show_error(
                f"the model returned {len(result.vectors)} vectors for {len(texts)} texts"
            )
            return
        corpus = tuple(texts[:-1]) if query is not None else tuple(texts)
        vectors = np.asarray(result.vectors, dtype=np.float64)
        if not corpus:
            self.show_error("there are no texts to compare")
            return
        try:
            matrix = cosine_matrix(vectors[: len(corpus)])
            ranking = rank_against(vectors[-1], vectors[: len(corpus)]) if query else []
        except WorkbenchError as exc:
            self.show_error(str(exc))
            return
        self._texts = corpus
        self._shown_from = (result.model_id, corpus, query)
        self._show_matrix(matrix, corpus)
        self._show_query_ranking(query, ranking)
        self._say(self._summary(result, len(corpus)), "info")
        self._mark_stale()

    def show_error(self, message: str) -> None:
        """Show ``message`` inline as an error; results already on screen stay."""
        self._say(message, "error")

    # ------------------------------------------------------------------ actions and events

    def action_compute(self) -> None:
        """Validate the inputs and post ``ComputeRequested``, or say what is missing."""
        select: Select[str] = self.query_one("#embed-model", Select)
        texts = split_texts(self.query_one("#embed-texts", TextArea).text)
        if not texts:
            self._say("Enter at least one text (one per line) or load a file.", "error")
            return
        if len(texts) > MAX_TEXTS:
            self._say(f"{len(texts)} texts is too many; the limit is {MAX_TEXTS}.", "error")
            return
        if not isinstance(select.value, str) or select.value not in self._models:
            self._say("Choose an embedding model first.", "error")
            return
        query = self.query_one("#embed-query", Input).value.strip() or None
        request = (*texts, query) if query else texts
        self._remember_request(request, query)
        self.post_message(self.ComputeRequested(select.value, request, query, self))
        name = self._models[select.value].name
        self._say(f"Embedding {len(texts)} text{'s' * (len(texts) != 1)} with {name}…", "busy")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "embed-compute":
            self.action_compute()
        elif event.button.id == "embed-load":
            self._load_file()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.input.id == "embed-file":
            self._load_file()
        elif event.input.id == "embed-query":
            self.action_compute()

    def on_resize(self) -> None:
        self.set_class(self.size.width < COMPACT_WIDTH, "-compact")

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        self._mark_stale()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "embed-query":
            self._mark_stale()

    def on_select_changed(self, event: Select.Changed) -> None:
        self._mark_stale()

    def action_export_csv(self) -> None:
        """Write the matrix on show to a CSV file and say where (or why not)."""
        heatmap = self.query_one(Heatmap)
        if not heatmap.labels:
            self._say("Nothing to export yet: compute the similarities first.", "error")
            return
        folder = self.export_dir or Path.cwd()
        try:
            path = export_matrix_csv(heatmap.labels, heatmap.matrix, folder)
        except OSError as exc:
            self._say(f"could not export: {exc.strerror or exc}", "error")
            return
        note = " (stale: computed from earlier texts)" if self.stale else ""
        self._say(f"Exported {len(heatmap.labels)}×{len(heatmap.labels)} to {path}{note}", "info")
        self.notify(
            self._message, title="Similarity matrix"
        )  # the inline line may be scrolled away

    def on_heatmap_cell_highlighted(self, event: Heatmap.CellHighlighted) -> None:
        event.stop()
        width = max(8, self.query_one("#embed-cell", Static).content_size.width - 6)
        info = Text(no_wrap=True, overflow="ellipsis")
        info.append(f"#{event.row + 1} × #{event.col + 1}  ", style="bold")
        info.append(f"similarity {event.value:+.3f}", style="bold")
        for index in (event.row, event.col):
            info.append(f"\n#{index + 1}  ", style="dim")
            info.append(truncate(self._texts[index], width))
        self.query_one("#embed-cell", Static).update(info)

    def on_heatmap_row_selected(self, event: Heatmap.RowSelected) -> None:
        event.stop()
        lists = self.query_one("#embed-neighbours", RankedList)
        title = f"Neighbours of #{event.row + 1}"
        if len(self._texts) < 2:
            lists.show_hint(title, "Only one text: there is nothing to compare it with.")
            return
        found = top_k_neighbours(event.heatmap.matrix, event.row, NEIGHBOURS_K)
        entries = [
            RankedEntry(rank, n.index, n.score, self._texts[n.index])
            for rank, n in enumerate(found, start=1)
        ]
        lists.show_ranking(title, entries, event.heatmap.scale)

    def on_heatmap_scale_changed(self, event: Heatmap.ScaleChanged) -> None:
        event.stop()
        self.query_one(ScaleLegend).scale = event.scale
        for lists in self.query(RankedList):
            if lists.entries:
                lists.recolour(event.scale)

    # ------------------------------------------------------------------ helpers

    def _inputs(self) -> tuple[object, ...]:
        select: Select[str] = self.query_one("#embed-model", Select)
        texts = split_texts(self.query_one("#embed-texts", TextArea).text)
        query = self.query_one("#embed-query", Input).value.strip() or None
        return (select.value, texts, query)

    def _mark_stale(self) -> None:
        """Dim and retitle results that no longer match the inputs (or undo it)."""
        stale = self.stale
        self.query_one("#embed-results").set_class(stale, "-stale")
        title = "Cosine similarity"
        if stale:
            title += " · stale: inputs changed, ctrl+r recomputes"
        self.query_one(Heatmap).border_title = title

    def _say(self, message: str, kind: str) -> None:
        self._message = message
        widget = self.query_one("#embed-message", Static)
        widget.set_classes(f"-{kind}")
        widget.update(message)

    def _remember_request(self, texts: tuple[str, ...], query: str | None) -> None:
        self._requests.pop(texts, None)
        self._requests[texts] = query
        while len(self._requests) > _REMEMBERED_REQUESTS:
            self._requests.pop(next(iter(self._requests)))

    def _load_file(self) -> None:
        raw = self.query_one("#embed-file", Input).value.strip()
        if not raw:
            self._say("Enter the path of a text file to load.", "error")
            return
        path = Path(raw).expanduser()
        try:
            texts = read_texts_file(path)
        except WorkbenchError as exc:
            self._say(str(exc), "error")
            return
        self.query_one("#embed-texts", TextArea).text = "\n".join(texts)
        self._say(f"Loaded {len(texts)} text{'s' * (len(texts) != 1)} from {path.name}.", "info")

    def _show_matrix(self, matrix: np.ndarray, corpus: tuple[str, ...]) -> None:
        heatmap = self.query_one(Heatmap)
        heatmap.set_data(matrix, corpus)
        # no taller than its rows (border, header, one line each): the lists get the rest
        heatmap.styles.max_height = max(6, len(corpus) + 3)
        self.query_one("#embed-neighbours", RankedList).show_hint("Neighbours", _NEIGHBOURS_HINT)
        heatmap.focus()

    def _show_query_ranking(self, query: str | None, ranking: list) -> None:
        lists = self.query_one("#embed-ranking", RankedList)
        lists.display = query is not None
        if query is None:
            lists.show_hint("Query ranking", _RANKING_HINT)
            return
        entries = [
            RankedEntry(rank, n.index, n.score, self._texts[n.index])
            for rank, n in enumerate(ranking, start=1)
        ]
        scale = self.query_one(Heatmap).scale
        lists.show_ranking(f"Ranking for “{truncate(query, 30)}”", entries, scale)

    def _summary(self, result: EmbeddingResult, count: int) -> str:
        dims = result.dimensions or (len(result.vectors[0]) if result.vectors else 0)
        model = self._models.get(result.model_id)
        parts = [f"{count} text{'s' * (count != 1)}", f"{dims} dimensions"]
        if result.token_counts:
            parts.append(f"{sum(result.token_counts)} tokens")
        if model is not None:
            parts.append(model.name)
        return " · ".join(parts)
