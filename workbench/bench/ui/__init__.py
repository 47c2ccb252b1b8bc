"""Benchmark groups that drive the Textual app or the HTTP server, apart from the rest.

The groups that measure the app (streaming through the chat pane, start-up, key handling
while a reply streams, transcript growth) and the server need Textual or a client; the
other groups need neither. So these are handed to ``workbench.bench.run_bench`` by the
``bench`` command, and each module is imported only when its group runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

from workbench.bench.harness import Group, Metric


def _run(module: str):
    def run(context: object) -> Sequence[Metric]:
        return importlib.import_module(f"workbench.bench.ui.{module}").run(context)

    return run


def _http(context: object) -> Sequence[Metric]:
    """The server's group (``workbench.bench.http``): it drives a client, not the TUI."""
    return importlib.import_module("workbench.bench.http").run(context)


def ui_groups() -> list[Group]:
    """The app-side groups: TUI streaming vs raw, start-up and keys, transcript growth."""
    return [
        Group("tui", "2. decode through the TUI vs raw mlx-lm", _run("stream")),
        Group("uicpu", "2b. UI-thread CPU per streamed token, 10 vs 1,000 msgs", _run("uicpu")),
        Group("startup", "6a. start to first frame", _run("startup")),
        Group("responsive", "6b. key handling while a reply streams", _run("responsive")),
        Group("pane", "7. chat pane: append at 10 vs 1,000 messages", _run("pane")),
        Group("http", "8. HTTP server: streaming vs raw; 1, 2, 4 clients", _http),
    ]
