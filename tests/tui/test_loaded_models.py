"""The loaded-models table: a lease taken or given back changes cells, not the rows."""

from __future__ import annotations

import dataclasses

import pytest
from textual.app import App, ComposeResult

from workbench.core.protocol import PoolEntryView, PoolSnapshot
from workbench.core.types import Family, ModelKind
from workbench.tui.pool.loaded_models import LoadedModels

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


async def shown(app: Table, pilot, cursor_row: int) -> LoadedModels:
    """The table showing models a and b, the cursor on ``cursor_row``."""
    table = app.query_one(LoadedModels)
    table.show_snapshot(snapshot(entry("a"), entry("b")))
    table.move_cursor(row=cursor_row)
    await pilot.pause()
    return table


def rows(table: LoadedModels) -> list[list[str]]:
    return [[str(c) for c in table.get_row(key)] for key in table.model_ids]


async def test_a_lease_marks_its_row_in_place_and_the_cursor_stays() -> None:
    app = Table()
    async with app.run_test() as pilot:
        table = await shown(app, pilot, cursor_row=1)
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
        table = await shown(app, pilot, cursor_row=0)

        table.show_snapshot(snapshot(entry("b"), entry("a"), entry("c")))
        await pilot.pause()
        assert [r[1] for r in rows(table)] == ["B", "A", "C"]
        assert table.current_model_id == "a"

        loading = dataclasses.replace(entry("c"), state="loading", measured_bytes=None)
        table.show_snapshot(snapshot(entry("b"), entry("a"), loading))
        await pilot.pause()
        assert rows(table)[2][0] == "…" and rows(table)[2][2] == "…"
