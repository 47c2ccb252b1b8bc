"""The embeddings explorer driven through Pilot, with a fake model answering requests.

The fake "model" maps each text to a hand-picked 2-D vector, so every similarity on
screen has a known value: north·east = 0, north·north-east = cos 45° ≈ 0.707, and so on.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from textual.app import App, ComposeResult
from textual.widgets import Input, Select, Static, TextArea

from workbench.core.types import EmbeddingResult, Family, ModelInfo, ModelKind
from workbench.tui.embeddings.colour_scale import luminance
from workbench.tui.embeddings.explorer import EmbeddingsPane
from workbench.tui.embeddings.heatmap import Heatmap
from workbench.tui.embeddings.neighbours import RankedEntry, RankedList
from workbench.tui.embeddings.scale_legend import ScaleLegend

pytestmark = pytest.mark.anyio

H = 1 / math.sqrt(2)
VECTORS = {
    "north": (0.0, 1.0),
    "north-east": (H, H),
    "east": (1.0, 0.0),
    "south": (0.0, -1.0),
    "up": (0.1, 1.0),
    "flat": (0.0, 0.0),
}
TEXTS = ("north", "north-east", "east", "south")
EXPECTED = np.array(
    [
        [1.0, H, 0.0, -1.0],
        [H, 1.0, H, -H],
        [0.0, H, 1.0, 0.0],
        [-1.0, -H, 0.0, 1.0],
    ]
)


def model(
    id: str, kind: ModelKind = ModelKind.EMBEDDINGS, usable: bool = True, name: str = ""
) -> ModelInfo:
    return ModelInfo(
        id=id,
        name=name or id.split(":")[-1],
        path=Path("/nowhere") / id,
        kind=kind,
        family=Family.OTHER,
        source="demo",
        usable=usable,
    )


MODELS = [
    model("demo:all-MiniLM-L6-v2"),
    model("demo:SmolLM2", kind=ModelKind.TEXT),
    model("folder:broken-embedder", usable=False),
]


def fake_embed(texts: tuple[str, ...], model_id: str = "demo:all-MiniLM-L6-v2") -> EmbeddingResult:
    """Embed with the hand-picked vectors; unknown texts get a vector from their length."""
    vectors = tuple(VECTORS.get(t, (1.0, float(len(t)))) for t in texts)
    return EmbeddingResult(vectors, tuple(len(t) for t in texts), model_id, 2)


class ExplorerApp(App[None]):
    """Mounts the pane alone and answers its requests the way the workbench would."""

    def __init__(
        self,
        models: list[ModelInfo] | None = None,
        answer: Callable[[EmbeddingsPane.ComputeRequested], None] | None = None,
    ) -> None:
        super().__init__()
        self.models = MODELS if models is None else models
        self.requests: list[EmbeddingsPane.ComputeRequested] = []
        self.answer = answer if answer is not None else self.answer_with_fake

    def compose(self) -> ComposeResult:
        yield EmbeddingsPane(self.models)

    def on_embeddings_pane_compute_requested(
        self, message: EmbeddingsPane.ComputeRequested
    ) -> None:
        self.requests.append(message)
        self.answer(message)

    @staticmethod
    def answer_with_fake(message: EmbeddingsPane.ComputeRequested) -> None:
        assert message.control is not None
        message.control.show_result(message.texts, fake_embed(message.texts, message.model_id))


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def shown(app: App, selector: str) -> str:
    """The plain text a Static currently renders."""
    return str(app.query_one(selector, Static).render())


async def enter_and_compute(app: ExplorerApp, pilot, texts: str, query: str = "") -> None:
    app.query_one("#embed-texts", TextArea).text = texts
    app.query_one("#embed-query", Input).value = query
    await pilot.press("ctrl+r")
    await pilot.pause()


async def test_only_usable_embedding_models_are_offered_and_a_single_one_is_chosen() -> None:
    app = ExplorerApp()
    async with app.run_test(size=(120, 40)):
        select = app.query_one("#embed-model", Select)
        assert [str(prompt) for prompt, _ in select._options if _ is not Select.NULL] == [
            "all-MiniLM-L6-v2"
        ]
        assert select.value == "demo:all-MiniLM-L6-v2"


async def test_compute_posts_texts_with_the_query_last() -> None:
    app = ExplorerApp(answer=lambda message: None)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(EmbeddingsPane)
        await enter_and_compute(app, pilot, "  north \n\n north-east\n   \neast\nsouth\n", " up ")
        assert len(app.requests) == 1
        request = app.requests[0]
        assert request.model_id == "demo:all-MiniLM-L6-v2"
        assert request.texts == (*TEXTS, "up")
        assert request.query == "up"
        assert request.control is pane
        assert "Embedding 4 texts with all-MiniLM-L6-v2" in shown(app, "#embed-message")

        await enter_and_compute(app, pilot, "north\neast")
        assert app.requests[1].texts == ("north", "east")
        assert app.requests[1].query is None


async def test_compute_button_and_query_enter_also_compute() -> None:
    app = ExplorerApp(answer=lambda message: None)
    async with app.run_test(size=(120, 40)) as pilot:
        app.query_one("#embed-texts", TextArea).text = "north\neast"
        await pilot.click("#embed-compute")
        await pilot.pause()
        app.query_one("#embed-query", Input).focus()
        await pilot.press(*"up", "enter")
        await pilot.pause()
        assert [r.query for r in app.requests] == [None, "up"]


async def test_result_renders_the_cosine_matrix() -> None:
    app = ExplorerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await enter_and_compute(app, pilot, "\n".join(TEXTS))
        heatmap = app.query_one(Heatmap)
        np.testing.assert_allclose(heatmap.matrix, EXPECTED, atol=1e-12)
        assert heatmap.labels == TEXTS
        header = heatmap.render_line(0).text
        assert header.split() == ["4×4", "1", "2", "3", "4"]
        row_2 = heatmap.render_line(2).text
        assert "2 north-east" in row_2
        assert row_2.split()[-4:] == ["0.71", "1.00", "0.71", "-0.71"]
        assert heatmap.render_line(4).text.split()[-4:] == ["-1.00", "-0.71", "0.00", "1.00"]
        assert app.focused is heatmap
        message = shown(app, "#embed-message")
        assert "4 texts" in message and "2 dimensions" in message


async def test_cells_are_coloured_by_value() -> None:
    app = ExplorerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await enter_and_compute(app, pilot, "\n".join(TEXTS))
        heatmap = app.query_one(Heatmap)
        scale = heatmap.scale
        cells = [s for s in heatmap.render_line(4) if s.text.strip() in {"-1.00", "0.00", "1.00"}]
        backgrounds = [s.style.bgcolor.get_truecolor() for s in cells]
        assert [tuple(c) for c in backgrounds] == [
            scale.colour(-1.0),
            scale.colour(0.0),
            scale.colour(1.0),
        ]
        assert len(set(backgrounds)) == 3


async def test_arrow_keys_move_the_cursor_and_show_the_cell() -> None:
    app = ExplorerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await enter_and_compute(app, pilot, "\n".join(TEXTS))
        heatmap = app.query_one(Heatmap)
        assert heatmap.cursor == (0, 0)
        assert "#1 × #1  similarity +1.000" in shown(app, "#embed-cell")

        await pilot.press("right")
        assert heatmap.cursor == (0, 1)
        cell = shown(app, "#embed-cell")
        assert "#1 × #2  similarity +0.707" in cell
        assert "#1  north\n#2  north-east" in cell

        await pilot.press("down", "down", "down", "left")
        assert heatmap.cursor == (3, 0)
        assert heatmap.cursor_value == pytest.approx(-1.0)
        assert "similarity -1.000" in shown(app, "#embed-cell")

        await pilot.press("down", "left")  # at the edges: stays put
        assert heatmap.cursor == (3, 0)
        await pilot.press("end")
        assert heatmap.cursor == (3, 3)
        await pilot.press("up", "home")
        assert heatmap.cursor == (2, 0)


async def test_enter_lists_neighbours_best_first_ties_in_order() -> None:
    app = ExplorerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await enter_and_compute(app, pilot, "\n".join(TEXTS))
        neighbours = app.query_one("#embed-neighbours", RankedList)
        assert neighbours.entries == ()
        await pilot.press("down", "enter")
        await pilot.pause()
        assert [e.index for e in neighbours.entries] == [0, 2, 3]  # north and east tie
        assert [round(e.score, 3) for e in neighbours.entries] == [0.707, 0.707, -0.707]
        assert [e.rank for e in neighbours.entries] == [1, 2, 3]
        assert neighbours.border_title == "Neighbours of #2"
        table = neighbours.table
        assert [str(c) for c in table.get_row_at(0)[:2]] == ["1.", "1"]
        assert str(table.get_row_at(0)[3]) == "north"
        assert app.query_one(Heatmap).render_line(2).text.startswith("▶2")

        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert [e.index for e in neighbours.entries] == [2, 1, 0]
        assert neighbours.border_title == "Neighbours of #4"


async def test_query_ranks_the_texts() -> None:
    app = ExplorerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await enter_and_compute(app, pilot, "\n".join(TEXTS), "up")
        heatmap = app.query_one(Heatmap)
        assert heatmap.labels == TEXTS  # the query is not a row of the matrix
        ranking = app.query_one("#embed-ranking", RankedList)
        assert ranking.display
        assert [e.index for e in ranking.entries] == [0, 1, 2, 3]
        up = np.array(VECTORS["up"]) / np.linalg.norm(VECTORS["up"])
        expected = [float(up @ np.array(VECTORS[t])) for t in TEXTS]
        assert [e.score for e in ranking.entries] == pytest.approx(expected)
        assert "up" in str(ranking.border_title)

        await enter_and_compute(app, pilot, "\n".join(TEXTS))
        assert not ranking.display


async def test_empty_input_or_no_model_is_an_inline_message_and_no_request() -> None:
    app = ExplorerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await enter_and_compute(app, pilot, "  \n\n  ", "a query alone")
        assert app.requests == []
        message = app.query_one("#embed-message", Static)
        assert "Enter at least one text" in str(message.render())
        assert message.has_class("-error")

    no_models = ExplorerApp(models=[model("demo:SmolLM2", kind=ModelKind.TEXT)])
    async with no_models.run_test(size=(120, 40)) as pilot:
        assert no_models.query_one("#embed-model", Select).prompt == "No embedding models found"
        await enter_and_compute(no_models, pilot, "north")
        assert no_models.requests == []
        assert "Choose an embedding model first." in shown(no_models, "#embed-message")


async def test_show_error_is_displayed_and_keeps_the_last_result() -> None:
    app = ExplorerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await enter_and_compute(app, pilot, "\n".join(TEXTS))
        pane = app.query_one(EmbeddingsPane)
        pane.show_error("insufficient memory: need 2.0 GB, 1.1 GB available")
        await pilot.pause()
        message = app.query_one("#embed-message", Static)
        assert str(message.render()) == "insufficient memory: need 2.0 GB, 1.1 GB available"
        assert message.has_class("-error")
        assert app.query_one(Heatmap).labels == TEXTS


async def test_wrong_number_of_vectors_is_an_error_not_a_crash() -> None:
    def short_answer(message: EmbeddingsPane.ComputeRequested) -> None:
        assert message.control is not None
        message.control.show_result(message.texts, fake_embed(message.texts[:-1]))

    app = ExplorerApp(answer=short_answer)
    async with app.run_test(size=(120, 40)) as pilot:
        await enter_and_compute(app, pilot, "north\neast")
        assert "returned 1 vectors for 2 texts" in shown(app, "#embed-message")
        assert app.query_one(Heatmap).labels == ()


async def test_a_single_text_is_a_one_by_one_matrix() -> None:
    app = ExplorerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await enter_and_compute(app, pilot, "north", "up")
        heatmap = app.query_one(Heatmap)
        assert heatmap.matrix.tolist() == [[1.0]]
        assert heatmap.render_line(1).text.split()[-1] == "1.00"
        await pilot.press("right", "down", "enter")
        await pilot.pause()
        assert heatmap.cursor == (0, 0)
        neighbours = app.query_one("#embed-neighbours", RankedList)
        assert neighbours.entries == ()
        assert "nothing to compare" in str(neighbours.query_one(Static).render())
        assert [e.index for e in app.query_one("#embed-ranking", RankedList).entries] == [0]


async def test_zero_vector_shows_zero_not_nan() -> None:
    app = ExplorerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await enter_and_compute(app, pilot, "north\nflat")
        heatmap = app.query_one(Heatmap)
        assert heatmap.matrix.tolist() == [[1.0, 0.0], [0.0, 0.0]]
        assert "nan" not in heatmap.render_line(2).text.lower()


async def test_many_texts_scroll_to_follow_the_cursor() -> None:
    app = ExplorerApp()
    texts = "\n".join(f"text number {i}" for i in range(60))
    async with app.run_test(size=(120, 40)) as pilot:
        await enter_and_compute(app, pilot, texts)
        heatmap = app.query_one(Heatmap)
        assert heatmap.matrix.shape == (60, 60)
        await pilot.press("end")
        page = heatmap.scrollable_content_region.height - 1
        for _ in range(-(-59 // page)):
            await pilot.press("pagedown")
        await pilot.pause()
        assert heatmap.cursor == (59, 59)
        x, y = heatmap.scroll_offset
        assert x > 0 and y > 0
        visible = [heatmap.render_line(i).text for i in range(heatmap.size.height)]
        assert visible[0].split()[-1] == "60"  # header follows horizontal scroll
        assert any(line.startswith(" 60 text number 59") for line in visible)
        await pilot.press("pageup", "home")
        assert heatmap.cursor[1] == 0 and heatmap.cursor[0] < 59
        assert heatmap.scroll_offset.x == 0


async def test_loading_a_file_fills_the_texts(tmp_path: Path) -> None:
    good = tmp_path / "texts.txt"
    good.write_text("north\n\neast\n  south  \n", encoding="utf-8")
    binary = tmp_path / "image.bin"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # opening it to read would wait for a writer forever
    app = ExplorerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        file_input = app.query_one("#embed-file", Input)
        for path, expected in [
            (tmp_path / "missing.txt", "missing.txt does not exist"),
            (binary, "image.bin is not UTF-8 text"),
            (tmp_path, "is a folder"),
            (fifo, "pipe is not a regular file"),
        ]:
            file_input.value = str(path)
            file_input.focus()
            await pilot.press("enter")
            await pilot.pause()
            assert expected in shown(app, "#embed-message")
            assert app.query_one("#embed-texts", TextArea).text == ""

        file_input.value = str(good)
        await pilot.click("#embed-load")
        await pilot.pause()
        assert app.query_one("#embed-texts", TextArea).text == "north\neast\nsouth"
        assert "Loaded 3 texts from texts.txt" in shown(app, "#embed-message")


async def test_set_models_keeps_the_choice_when_still_offered() -> None:
    app = ExplorerApp(models=[model("a:one"), model("b:two")])
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(EmbeddingsPane)
        select = app.query_one("#embed-model", Select)
        assert select.value is Select.NULL  # two choices: the user picks
        select.value = "b:two"
        pane.set_models([model("c:three"), model("b:two")])
        await pilot.pause()
        assert select.value == "b:two"
        pane.set_models([model("c:three")])
        await pilot.pause()
        assert select.value == "c:three"


async def test_scale_toggle_updates_the_legend_and_the_colours() -> None:
    app = ExplorerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await enter_and_compute(app, pilot, "\n".join(TEXTS))
        legend = app.query_one(ScaleLegend)
        assert legend.scale is not None and legend.scale.kind == "diverging"
        assert str(legend.render()).split()[1:4] == ["-1.00", "-0.75", "-0.50"]
        before = app.query_one(Heatmap).render_line(1)
        await pilot.press("s")
        await pilot.pause()
        assert legend.scale.kind == "sequential"
        assert (legend.scale.low, legend.scale.high) == pytest.approx((-1.0, H))
        assert "stretched" in str(legend.render())
        after = app.query_one(Heatmap).render_line(1)
        assert before.text == after.text
        assert [s.style for s in before] != [s.style for s in after]


async def test_clicking_a_row_label_selects_that_row() -> None:
    app = ExplorerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await enter_and_compute(app, pilot, "\n".join(TEXTS))
        heatmap = app.query_one(Heatmap)
        # Row 3 ("east") is the fourth content line: header, then rows 1..3.
        await pilot.click(Heatmap, offset=(4, 4))
        await pilot.pause()
        assert heatmap.selected_row == 2
        neighbours = app.query_one("#embed-neighbours", RankedList)
        assert [e.index for e in neighbours.entries] == [1, 0, 3]


async def test_theme_change_recolours_the_neutral_of_the_scale() -> None:
    app = ExplorerApp()
    async with app.run_test(size=(120, 40)) as pilot:
        await enter_and_compute(app, pilot, "\n".join(TEXTS))
        legend = app.query_one(ScaleLegend)
        assert legend.scale is not None
        dark_neutral = legend.scale.colour(0.0)
        app.theme = "textual-light"
        await pilot.pause()
        light_neutral = legend.scale.colour(0.0)
        assert luminance(light_neutral) > luminance(dark_neutral) + 0.3
        assert app.query_one(Heatmap).scale == legend.scale


async def test_a_ranked_text_shows_as_written_even_with_brackets() -> None:
    class Ranked(App[None]):
        def compose(self) -> ComposeResult:
            yield RankedList("Ranking", "nothing yet")

    app = Ranked()
    async with app.run_test() as pilot:
        ranked = app.query_one(RankedList)
        ranked.show_ranking("Ranking", [RankedEntry(1, 0, 0.5, "[b]x[/b] and [/oops]")])
        await pilot.pause()
        row = ranked.table.render_line(1).text
        assert "[b]x[/b] and [/oops]" in row
        assert row.index("[b]") == ranked.table.render_line(0).text.index("text")
