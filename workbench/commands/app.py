"""``mlxbench`` with no command: open the workbench TUI.

This is where the real runner is wired in. The TUI layer never imports the runner (nor
anything that reaches MLX); it gets a factory from here, and calls it on its worker thread,
so MLX is imported there, after the first frame is on screen.

Options (all optional; defaults come from ``config.toml``):

- ``--memory-limit``  the pool's memory budget: "8GB", "512MB", "60%" of RAM
- ``--max-models``    how many models may be loaded at once
- ``--sessions-dir``  where chat sessions are saved (default: the user data folder)
- ``--connect URL``   drive the pool of a running ``mlxbench serve`` instead of a local one
  (``--api-key K`` if it needs one); chat sessions stay on this machine
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.core.config import Config
    from workbench.core.pool.budget import Budget
    from workbench.core.protocol import Event
    from workbench.core.types import ModelInfo
    from workbench.tui.app import MlxbenchApp
    from workbench.tui.bridge import RunnerLike


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the app itself (given without a subcommand)."""
    from workbench.commands.common import add_budget_arguments

    add_budget_arguments(parser)
    parser.add_argument(
        "--sessions-dir",
        type=Path,
        metavar="DIR",
        help="where chat sessions are saved (default: sessions_dir in config.toml, "
        "else the user data folder)",
    )
    parser.add_argument(
        "--connect",
        metavar="URL",
        help="attach to the pool of a running `mlxbench serve` (e.g. http://host:8080)",
    )
    parser.add_argument("--api-key", metavar="KEY", help="the server's API key (with --connect)")


def runner_factory(
    catalog: list[ModelInfo], budget: Budget, config: Config
) -> Callable[[Callable[[Event], None]], RunnerLike]:
    """Builds the real runner when called (on the app's worker thread)."""

    def factory(callback: Callable[[Event], None]) -> RunnerLike:
        from workbench.core.runner.loop import Runner

        return Runner(callback, catalog=catalog, budget=budget, config=config)

    return factory


def remote_factory(
    url: str, api_key: str | None
) -> tuple[list[ModelInfo], Callable[[Callable[[Event], None]], RunnerLike]]:
    """The server's catalog, and a factory of runners that drive its pool over HTTP."""
    from workbench.serve.remote import RemoteRunner, fetch_catalog

    catalog = fetch_catalog(url, api_key)  # fails here, before the app opens, if unreachable

    def factory(callback: Callable[[Event], None]) -> RunnerLike:
        return RemoteRunner(callback, url, api_key)

    return catalog, factory


def build_app(args: argparse.Namespace) -> MlxbenchApp:
    """The app over the real catalog and runner (no MLX imported yet)."""
    from workbench.commands.common import setup
    from workbench.tui.app import MlxbenchApp

    found = setup(args)  # config, budget (bad flags fail here), catalog; no MLX
    sessions_dir = args.sessions_dir or found.config.resolved_sessions_dir
    catalog, factory = found.catalog, runner_factory(found.catalog, found.budget, found.config)
    if getattr(args, "connect", None):
        catalog, factory = remote_factory(args.connect, getattr(args, "api_key", None))
    return MlxbenchApp(
        catalog,
        factory,
        Path(sessions_dir),
        image_max_side=found.config.image_max_side,
    )


def run(args: argparse.Namespace) -> int:
    build_app(args).run()
    return 0
