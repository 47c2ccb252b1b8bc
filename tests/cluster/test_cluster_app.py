"""The whole app with a real runner: `c` shards the tiny llama over local2, the pool pane
lists each rank, the reply streams from the ranks, and `e` stops every rank."""

from __future__ import annotations

from pathlib import Path

import pytest
from rank_processes import group_processes, rank_pids

from workbench.cli import build_parser
from workbench.commands.app import build_app
from workbench.core.types import SamplingSettings
from workbench.tui.chat.log import ChatLog
from workbench.tui.pool.cluster_picker import ClusterPicker
from workbench.tui.pool.loaded_models import LoadedModels
from workbench.tui.pool.model_list import ModelList

pytestmark = [pytest.mark.real, pytest.mark.anyio]


async def wait_until(pilot, condition, what: str, limit_s: float = 600) -> None:
    """Poll while the app runs; fail naming ``what`` past a generous bound."""
    for _ in range(int(limit_s / 0.1)):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"gave up waiting for {what}")


async def test_load_on_local2_chat_and_evict_in_the_app(
    tiny_llama_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_leftovers: None
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("MLXBENCH_HOME", str(home))
    (home / "config").mkdir(parents=True)
    (home / "config" / "config.toml").write_text(f'model_dirs = ["{tiny_llama_dir.parent}"]\n')
    app = build_app(build_parser().parse_args(["--memory-limit", "2GB"]))
    async with app.run_test(size=(140, 44)) as pilot:
        screen = app.main_screen
        await wait_until(pilot, lambda: screen.snapshot is not None, "the engine", 300)
        catalog = screen.query_one(ModelList)
        catalog.focus()
        catalog.move_cursor(row=[m.path for m in catalog.models].index(tiny_llama_dir))
        await pilot.press("c")
        await wait_until(pilot, lambda: isinstance(app.screen, ClusterPicker), "the picker")
        await pilot.press("enter")  # local2, the first choice
        loaded = screen.query_one(LoadedModels)
        await wait_until(pilot, lambda: loaded.model_ids, "the sharded entry")
        await wait_until(pilot, lambda: screen.snapshot.entries[0].state == "ready", "ranks")
        name_cell = str(loaded.get_row(loaded.model_ids[0])[1]).splitlines()
        assert name_cell[0] == "tiny-llama-tp @ local2"
        assert [line.split(":")[0] for line in name_cell[1:]] == [
            "  rank 0 127.0.0.1 (here)",
            "  rank 1 127.0.0.1 (here)",
        ]
        assert len(rank_pids(tiny_llama_dir)) == 2

        loaded.focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.controller.model_id, "the chat model")
        app.controller.update_settings("", SamplingSettings(temperature=0.0, max_tokens=24))
        await wait_until(pilot, lambda: app.focused is screen.chat.input, "the chat input")
        screen.chat.input.insert("Tell me a story about a dragon")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.controller.session.messages, "the question")
        await wait_until(pilot, lambda: app.controller.pending is None, "the reply")
        await pilot.pause()
        views = screen.query_one(ChatLog).messages
        assert len(views) == 2, [str(n.message) for n in app._notifications]
        assert views[1].text.strip()
        stats = app.controller.session.messages[-1].stats
        assert stats is not None and stats.generation_tokens == 24

        loaded.focus()
        await pilot.press("e")
        await wait_until(pilot, lambda: not loaded.model_ids, "the eviction")
        await wait_until(pilot, lambda: not group_processes(tiny_llama_dir), "ranks gone", 30)
