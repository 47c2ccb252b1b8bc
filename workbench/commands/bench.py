"""``mlxbench bench``: how much our layers cost against raw MLX, measured side by side.

Every group alternates our side and the raw baseline in this one process and reports
medians, their ratio and the goal. Progress goes to stderr so that ``--json`` output on
stdout stays parseable. The BLAS is chosen first, before anything imports MLX.
"""

from __future__ import annotations

import argparse
import json
import sys

from workbench.core import blas
from workbench.core.config import load_config
from workbench.core.errors import InputError


def _names(value: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    if not names:
        raise argparse.ArgumentTypeError("give at least one group name")
    return names


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure speed against raw MLX, side by side (ratios against goals)",
        description="Measure the pool, the app and the engines against raw mlx-lm and "
        "mlx-embeddings in one run; print medians, ratios and goals.",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--model", help="text model to measure (default: the SmolLM2 demo)")
    parser.add_argument(
        "--embed-model", help="embedding model to measure (default: the MiniLM demo)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument(
        "--only", type=_names, default=(), metavar="GROUP,...", help="run only these groups"
    )
    parser.set_defaults(handler=run)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    config = load_config()
    blas.prepare(config.openblas)  # must precede every MLX import in this process
    from workbench.commands.benchui import ui_groups
    from workbench.core.bench import BenchOptions, core_groups, run_bench
    from workbench.core.bench.machine import machine_info
    from workbench.core.bench.report import render_table, to_json

    options = BenchOptions(
        quick=args.quick,
        text_model=args.model,
        embed_model=args.embed_model,
        only=tuple(args.only),
        config=config,
    )
    groups = core_groups() + ui_groups()
    if not groups:
        raise InputError("no benchmark groups")
    results, total = run_bench(options, groups, _progress)
    machine = machine_info()
    if args.json:
        print(json.dumps(to_json(results, machine, options.settings()), indent=2))
    else:
        print(render_table(results, machine))
        print(f"\ntotal {total:.0f} s")
    return 1 if any(result.status == "error" for result in results) else 0
