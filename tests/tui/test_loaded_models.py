"""The pool pane's tables: a lease changes cells, not rows; widths are set, not measured late."""

from __future__ import annotations

import dataclasses

import pytest
from fake_runner import make_catalog
from textual.app import App, ComposeResult

from workbench.core.protocol import PoolEntryView, PoolSnapshot
from workbench.core.types import Family, ModelKind
from workbench.tui.pool.loaded_models import LoadedModels
from workbench.tui.pool.model_list import ModelList

pytestmark = pytest.mark.anyio

MB = 1024 * 1024


def entry(model_id: str, leases: int = 0) -> PoolEntryView:
    return PoolEntryView(
        model_id, model_id.upper(), ModelKind.TEXT, Family.LLAMA, "ready", False, leases,
        100 * MB, 90 * MB, 0.0, 1.5,
    )  # fmt: skip


def snapshot(*entries: PoolEntryView) -> PoolSnapshot:
    return PoolSnapshot(entries, 1000 * MB, 4, 180 * MB, 0)


class Table(App[None]):
    def compose(self) -> ComposeResult:
        yield LoadedModels()


async def shown(
    app: Table, pilot, *entries: PoolEntryView, cursor_row: int | None = None
) -> LoadedModels:
    """The table showing ``entries`` (the cursor on ``cursor_row`` if given)."""
    table = app.query_one(LoadedModels)
    table.show_snapshot(snapshot(*entries))
    if cursor_row is not None:
        table.move_cursor(row=cursor_row)
    await pilot.pause()
    return table


def rows(table: LoadedModels) -> list[list[str]]:
    return [[str(c) for c in table.get_row(key)] for key in table.model_ids]


async def test_a_lease_marks_its_row_in_place_and_the_cursor_stays() -> None:
    app = Table()
    async with app.run_test() as pilot:
        table = await shown(app, pilot, entry("a"), entry("b"), cursor_row=1)
        keys = list(table.rows)

        table.show_snapshot(snapshot(entry("a", leases=1), entry("b")))
        await pilot.pause()
        assert [r[0] for r in rows(table)] == ["▶", ""]
        assert list(table.rows) == keys  # the same rows, updated
        assert table.current_model_id == "b"

        table.show_snapshot(snapshot(entry("a"), entry("b")))
        await pilot.pause()
        assert [r[0] for r in rows(table)] == ["", ""]
        assert rows(table)[0][1:] == ["A", "90.0 MB", "100.0 MB", "1.5 s"]


async def test_a_new_order_or_a_new_model_rebuilds_the_rows_keeping_the_cursor() -> None:
    app = Table()
    async with app.run_test() as pilot:
        table = await shown(app, pilot, entry("a"), entry("b"), cursor_row=0)

        table.show_snapshot(snapshot(entry("b"), entry("a"), entry("c")))
        await pilot.pause()
        assert [r[1] for r in rows(table)] == ["B", "A", "C"]
        assert table.current_model_id == "a"

        loading = dataclasses.replace(entry("c"), state="loading", measured_bytes=None)
        table.show_snapshot(snapshot(entry("b"), entry("a"), loading))
        await pilot.pause()
        assert rows(table)[2][0] == "…" and rows(table)[2][2] == "…"


async def test_the_header_lines_up_with_rows_drawn_before_the_table_is_idle() -> None:
    """A frame drawn right after the rows arrive must not leave a narrower header behind."""
    app = Table()
    async with app.run_test() as pilot:
        table = await shown(app, pilot, entry("a"))
        table.show_snapshot(snapshot(entry("a-model-with-a-long-name")))  # same height
        table.render_line(0)  # a frame between the new rows and the table's idle
        await pilot.pause()
        header, row = table.render_line(0).text, table.render_line(1).text
        assert header.index("Size") == row.index("90.0 MB")


async def test_a_lease_keeps_the_column_widths_and_a_name_is_not_markup() -> None:
    app = Table()
    async with app.run_test() as pilot:
        table = await shown(app, pilot, entry("[b]x[/b]"))
        widths = [c.width for c in table.columns.values()]

        table.show_snapshot(snapshot(entry("[b]x[/b]", leases=1)))
        await pilot.pause()
        assert [c.width for c in table.columns.values()] == widths
        assert "[B]X[/B]" in table.render_line(1).text


async def test_the_catalog_shows_a_loading_status_whole() -> None:
    class Catalog(App[None]):
        def compose(self) -> ComposeResult:
            yield ModelList(make_catalog()[:2])  # no unusable model: no wide status yet

    app = Catalog()
    async with app.run_test(size=(100, 10)) as pilot:
        table = app.query_one(ModelList)
        model_id = table.models[0].id
        loading = dataclasses.replace(entry(model_id), state="loading")
        table.show_snapshot(snapshot(loading))
        await pilot.pause()
        assert table.render_line(1).text.rstrip().endswith("loading")
