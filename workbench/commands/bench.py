"""``mlxbench bench``: how much our layers cost against raw MLX, measured side by side.

Every group alternates our side and the raw baseline in this one process and reports
medians, their ratio and the goal. Progress goes to stderr so that ``--json`` output on
stdout stays parseable. The BLAS is chosen first, before anything imports MLX.
"""

from __future__ import annotations

import argparse
import json
import sys

from workbench.core.config import load_config
from workbench.core.errors import InputError
from workbench.core.runner import blas


def _names(value: str) -> tuple[str, ...]:
    names = tuple(part.strip() for part in value.split(",") if part.strip())
    if not names:
        raise argparse.ArgumentTypeError("give at least one group name")
    return names


MAX_REPLY_TOKENS = 8192
MAX_ROUNDS = 50
GROUPS_HELP = """groups (--only takes a comma-separated list of these names):
  decode      1. a streamed reply through the pool vs raw mlx-lm (tok/s, time to first token)
  tui         2. the same reply typed and streamed in the real app vs raw mlx-lm
  uicpu       2b. UI-thread CPU time per streamed token, 10 and 1,000 transcript messages
  cache       3. prompt cache: time to first token of turn N vs turn 1
  load        4. model load through the pool vs raw
  embed       5. embeddings through the pool vs raw mlx-embeddings
  startup     6a. start to first frame
  responsive  6b. key handling while a reply streams
  pane        7. chat pane: append at 10 vs 1,000 messages
  blas        BLAS on vs off (a child process each)

synthetic models (--model synthetic:...): random weights of a real shape and the SmolLM2
demo's tokenizer, built once into the user cache folder; speed does not depend on the
values of the weights, so they show how fast a shape runs here without a download:
  synthetic:llama-1b-4bit    Llama 3.2 1B's shape (hidden 2048, 16 layers), 4-bit
  synthetic:llama-8b-4bit    Llama 3.1 8B's shape (hidden 4096, 32 layers), 4-bit
  synthetic:llama?hidden=2048&layers=16&heads=32&kv_heads=8&bits=4
                             any llama shape; also intermediate=, head_dim=, group=;
                             bits 4 or 8 (quantized), 16 (float16) or 32 (float32)
  (quote it in a shell: the ? and & are special). `chat` takes them too; once built,
  they are listed with the other models, in the app as well.

examples:
  mlxbench bench --quick --only decode,tui --model synthetic:llama-1b-4bit
  mlxbench bench --only decode,tui --tokens 1024 --model synthetic:llama-8b-4bit
"""


def _tokens(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_REPLY_TOKENS:
        raise argparse.ArgumentTypeError(f"give a whole number from 1 to {MAX_REPLY_TOKENS}")
    return int(value)


def _rounds(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_ROUNDS:
        raise argparse.ArgumentTypeError(f"give a whole number from 1 to {MAX_ROUNDS}")
    return int(value)


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "bench",
        help="measure speed against raw MLX, side by side (ratios against goals)",
        description="Measure the pool, the app and the engines against raw mlx-lm and "
        "mlx-embeddings in one run; print medians, ratios and goals.",
        epilog=GROUPS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--model", help="text model to measure (default: the SmolLM2 demo)")
    parser.add_argument(
        "--embed-model", help="embedding model to measure (default: the MiniLM demo)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run")
    parser.add_argument(
        "--only", type=_names, default=(), metavar="GROUP,...",
        help="run only these groups (listed below; gemma runs only when named)",
    )  # fmt: skip
    parser.add_argument(
        "--tokens", type=_tokens, default=None, metavar="N",
        help="tokens per reply in the decode groups (default 256, --quick 8; e.g. 1024)",
    )  # fmt: skip
    parser.add_argument(
        "--rounds", type=_rounds, default=None, metavar="N",
        help="rounds of each side in the decode groups (decode, tui, uicpu, http; default 5, "
        "--quick 1): more rounds steady the medians on a machine whose speed drifts",
    )  # fmt: skip
    parser.set_defaults(handler=run)


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    config = load_config()
    blas.prepare(config.openblas)  # must precede every MLX import in this process
    from workbench.bench import BenchOptions, core_groups, run_bench
    from workbench.bench.machine import machine_info
    from workbench.bench.report import render_table, to_json
    from workbench.bench.ui import ui_groups

    options = BenchOptions(
        quick=args.quick,
        text_model=args.model,
        embed_model=args.embed_model,
        only=tuple(args.only),
        config=config,
        reply_tokens=args.tokens,
        decode_rounds_wanted=args.rounds,
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
