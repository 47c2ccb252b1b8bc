"""``mlxbench demo install|status``: the bundled demo models (see ``core.demo``)."""

from __future__ import annotations

import argparse
import sys

from workbench.core.models import demo


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo", help="install or show the bundled demo models (SmolLM2, MiniLM, Gemma 3 270M)"
    )
    parser.add_argument("action", choices=("install", "status"))
    parser.set_defaults(handler=run)


def _say(message: str) -> None:
    print(f"demo: {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    if args.action == "install":
        demo.install(say=_say)
    found = demo.installed_demo_models()
    for name in demo.DEMO_NAMES:
        where = found.get(name)
        print(f"{name:24} {where if where else 'not installed'}")
    return 0 if len(found) == len(demo.DEMO_NAMES) else 1
