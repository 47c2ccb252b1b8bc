"""`c` in the models pane: pick a cluster, and the runner is asked to shard the model."""

from __future__ import annotations

from pathlib import Path

import pytest
from fake_runner import build_app, ready, wait_for
from textual.widgets import OptionList

from workbench.core.protocol import LoadRequest
from workbench.tui.pool.cluster_picker import ClusterPicker
from workbench.tui.pool.model_list import ModelList

pytestmark = pytest.mark.anyio

SMOL = "demo/SmolLM2-135M-Instruct"
CONFIG = """
[clusters.pair]
hosts = ["127.0.0.1", "10.0.0.2"]
"""


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))


async def pick(pilot, option: int) -> None:
    table = pilot.app.main_screen.query_one(ModelList)
    table.focus()
    table.move_cursor(row=[m.id for m in table.models].index(SMOL))
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ClusterPicker), "picker shown")
    options = pilot.app.screen.query_one(OptionList)
    assert [options.get_option_at_index(i).id for i in range(options.option_count)] == [
        "local2",
        "pair",
    ]
    options.highlighted = option
    await pilot.press("enter")


async def test_c_then_a_cluster_sends_a_load_for_that_cluster(tmp_path: Path) -> None:
    from workbench.core import paths

    paths.config_file().parent.mkdir(parents=True, exist_ok=True)
    paths.config_file().write_text(CONFIG, encoding="utf-8")
    app, factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pick(pilot, 1)
        await wait_for(pilot, lambda: factory.received(LoadRequest), "load requested")
        [request] = factory.received(LoadRequest)
        assert (request.model_id, request.cluster, request.pin) == (SMOL, "pair", False)


async def test_escape_in_the_picker_loads_nothing(tmp_path: Path) -> None:
    app, factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        table = app.main_screen.query_one(ModelList)
        table.focus()
        table.move_cursor(row=[m.id for m in table.models].index(SMOL))
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, ClusterPicker), "picker shown")
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, ClusterPicker)
        assert factory.received(LoadRequest) == []
