"""`mlxbench pool` (placeholder until implemented)."""

from __future__ import annotations

import argparse

from workbench.core.errors import WorkbenchError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("pool", help="not implemented yet")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    raise WorkbenchError("'pool' is not implemented yet")
