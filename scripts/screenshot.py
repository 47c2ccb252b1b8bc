"""Render docs/screenshot.svg: the real app on the demo models, one question answered.

Run with the project's venv: ``.venv/bin/python scripts/screenshot.py``. It uses a
throwaway MLXBENCH_HOME, loads SmolLM2 and MiniLM, pins MiniLM, asks SmolLM2 one question,
and saves Textual's SVG screenshot at 120×40.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

QUESTION = "What is the capital of France? Answer in one sentence, then list two sights."
OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshot.svg"


async def wait_until(pilot, condition, limit_s: float = 300) -> None:
    for _ in range(int(limit_s / 0.1)):
        if condition():
            return
        await pilot.pause(0.1)
    raise SystemExit("timed out waiting for the app")


async def main() -> None:
    from workbench.cli import build_parser
    from workbench.commands.app import build_app
    from workbench.tui.pool.model_list import ModelList

    app = build_app(build_parser().parse_args(["--memory-limit", "2GB"]))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.main_screen
        await wait_until(pilot, lambda: screen.snapshot is not None)
        models = screen.query_one(ModelList)
        models.focus()
        names = [m.name for m in models.models]
        models.move_cursor(row=names.index("all-MiniLM-L6-v2"))
        await pilot.press("p")
        await wait_until(pilot, lambda: any(e.pinned for e in screen.snapshot.entries))
        models.move_cursor(row=names.index("SmolLM2-135M-Instruct"))
        await pilot.press("enter")
        await wait_until(pilot, lambda: app.focused is screen.chat.input)
        screen.chat.input.insert(QUESTION)
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.controller.session.messages)
        await wait_until(pilot, lambda: app.controller.pending is None)
        await pilot.pause(0.5)
        app.save_screenshot(filename=OUT.name, path=str(OUT.parent))
    print(f"wrote {OUT}")


if __name__ == "__main__":
    os.environ["MLXBENCH_HOME"] = tempfile.mkdtemp(prefix="mlxbench-shot-")
    sys.exit(asyncio.run(main()))
