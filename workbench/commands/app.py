"""``mlxbench`` with no command: open the workbench TUI.

This is where the real runner is wired in. The TUI layer never imports the runner (nor
anything that reaches MLX); it gets a factory from here, and calls it on its worker thread,
so MLX is imported there, after the first frame is on screen.

Options (all optional; defaults come from ``config.toml``):

- ``--memory-limit``  the pool's memory budget: "8GB", "512MB", "60%" of RAM
- ``--max-models``    how many models may be loaded at once
- ``--sessions-dir``  where chat sessions are saved (default: the user data folder)
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.core.budget import Budget
    from workbench.core.config import Config
    from workbench.core.protocol import Event
    from workbench.core.types import ModelInfo
    from workbench.tui.app import MlxbenchApp


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the app itself (given without a subcommand)."""
    group = parser.add_argument_group("workbench app (no command)")
    group.add_argument(
        "--memory-limit",
        metavar="SIZE",
        help='memory budget for loaded models: "8GB", "512MB" or "60%%" of RAM '
        "(default: memory_limit in config.toml, else 60%%)",
    )
    group.add_argument(
        "--max-models",
        type=int,
        metavar="N",
        help="most models loaded at once (default: max_models in config.toml, else 4)",
    )
    group.add_argument(
        "--sessions-dir",
        type=Path,
        metavar="DIR",
        help="where chat sessions are saved (default: sessions_dir in config.toml, "
        "else the user data folder)",
    )


def budget_from(args: argparse.Namespace, config: Config) -> Budget:
    """The budget the flags ask for, falling back to the config file."""
    from workbench.core.budget import make_budget

    memory = args.memory_limit if args.memory_limit is not None else config.memory_limit
    count = args.max_models if args.max_models is not None else config.max_models
    return make_budget(memory, count)


def runner_factory(
    catalog: list[ModelInfo], budget: Budget, config: Config
) -> Callable[[Callable[[Event], None]], object]:
    """Builds the real runner when called (on the app's worker thread)."""

    def factory(callback: Callable[[Event], None]) -> object:
        from workbench.core.runner import Runner

        return Runner(callback, catalog=catalog, budget=budget, config=config)

    return factory


def build_app(args: argparse.Namespace) -> MlxbenchApp:
    """The app over the real catalog and runner (no MLX imported yet)."""
    from workbench.core.catalog import scan_catalog
    from workbench.core.config import load_config
    from workbench.tui.app import MlxbenchApp

    config = load_config()
    budget = budget_from(args, config)
    catalog = scan_catalog(config)
    sessions_dir = args.sessions_dir or config.resolved_sessions_dir
    return MlxbenchApp(catalog, runner_factory(catalog, budget, config), Path(sessions_dir))


def run(args: argparse.Namespace) -> int:
    build_app(args).run()
    return 0
