"""The pool pane shows a sharded model with every rank's host and share."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult

from workbench.core.cluster.placement import ClusterPlacement, RankShare
from workbench.core.protocol import PoolEntryView, PoolSnapshot
from workbench.core.types import Family, ModelKind
from workbench.tui.pool.loaded_models import LoadedModels

pytestmark = pytest.mark.anyio

MB = 1024 * 1024
PLACEMENT = ClusterPlacement(
    "pair",
    "ring",
    "tensor",
    (RankShare(0, "127.0.0.1", True, 12 * MB, 4096 * MB), RankShare(1, "10.0.0.2", False, 12 * MB)),
    model_bytes=13 * MB,
)


def view(model_id: str, name: str, cluster: ClusterPlacement | None) -> PoolEntryView:
    size = cluster.local_bytes if cluster else 92 * MB
    return PoolEntryView(model_id, name, ModelKind.TEXT, Family.LLAMA, "ready", False, 0,
                         size, None, 0.0, cluster=cluster)  # fmt: skip


class Pane(App):
    def compose(self) -> ComposeResult:
        yield LoadedModels()


async def test_a_cluster_entry_lists_its_ranks_hosts_and_shares_under_its_name() -> None:
    entries = (view("smol", "SmolLM2", None), view("t@cluster:pair", "tiny @ pair", PLACEMENT))
    snapshot = PoolSnapshot(entries, 4096 * MB, 4, 104 * MB, 0)
    app = Pane()
    async with app.run_test() as pilot:
        table = app.query_one(LoadedModels)
        table.show_snapshot(snapshot)
        await pilot.pause()
        local, sharded = (table.get_row(key) for key in table.model_ids)
        assert str(local[1]) == "SmolLM2"
        assert str(sharded[1]).splitlines() == [
            "tiny @ pair",
            "  rank 0 127.0.0.1 (here): 12.0 MB",
            "  rank 1 10.0.0.2: 12.0 MB",
        ]
        assert str(sharded[3]) == "12.0 MB"  # charged to this machine: its own rank only
        assert [row.height for row in table.ordered_rows] == [1, 3]
