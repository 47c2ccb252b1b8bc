"""``mlxbench`` with no command: open the workbench TUI (placeholder until implemented)."""

from __future__ import annotations

import argparse

from workbench.core.errors import WorkbenchError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the app itself (given without a subcommand)."""


def run(args: argparse.Namespace) -> int:
    raise WorkbenchError("the app is not implemented yet")
