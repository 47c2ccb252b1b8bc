"""``mlxbench doctor``: versions, backend, device, BLAS, paths, demo models, log file.

What to paste into a bug report. Plain text (or ``--json``); nothing in it may fail.
"""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "doctor",
        help="print versions, backend, device, paths and the log location (for bug reports)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from workbench.core.doctor import report

    sections = report()
    if args.json:
        print(json.dumps({title: dict(rows) for title, rows in sections}, indent=2))
        return 0
    width = max(len(label) for _, rows in sections for label, _ in rows)
    for title, rows in sections:
        print(f"{title}:")
        for label, value in rows:
            print(f"  {label:<{width}}  {value}")
    return 0
