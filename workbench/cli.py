"""The ``mlxbench`` command: argparse front door to the TUI and the headless subcommands.

Each subcommand lives in ``workbench.commands.<name>`` with ``add_parser`` and ``run``.
Nothing heavy is imported here, so ``mlxbench --help`` and the TUI's first frame stay fast.
A ``WorkbenchError`` becomes one line on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from workbench import __version__
from workbench.core.errors import WorkbenchError

COMMAND_MODULES = (
    "models",
    "chat",
    "embed",
    "import_gguf",
    "pool",
    "bench",
    "demo",
    "serve",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlxbench",
        description="A terminal workbench for local MLX models. With no command, opens the app.",
    )
    parser.add_argument("--version", action="version", version=f"mlxbench {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"workbench.commands.{name}")
        module.add_parser(subparsers)
    importlib.import_module("workbench.commands.app").add_arguments(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None)
    if handler is None:
        handler = importlib.import_module("workbench.commands.app").run
    try:
        return int(handler(args) or 0)
    except WorkbenchError as exc:
        print(f"mlxbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mlxbench: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
