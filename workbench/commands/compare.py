"""``mlxbench compare MODEL_A MODEL_B PROMPT``: one prompt, two models, their costs side by side.

The pool's plan is asked first and printed as one line: both models fit (both stay loaded),
one is evicted between them, or they cannot be compared under the budget (then nothing
loads). Then A answers and B answers, each streamed under its header and followed by its
time to first token, decode speed, peak memory and size. Instruct models get the prompt
as a chat turn, base models as text to continue (``--mode`` overrides).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from typing import Any

from workbench.commands.chat import read_prompt, sampling_from
from workbench.commands.common import (
    add_budget_arguments,
    add_sampling_arguments,
    open_client,
    require_kind,
    resolve,
    setup,
)
from workbench.core.compare import MODES, ComparePlan, LaneResult, check_pair, run_compare
from workbench.core.protocol import ChatRequest
from workbench.core.types import ModelInfo
from workbench.core.units import format_bytes


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="send one prompt to two models and compare replies, speed and memory",
        description="Send PROMPT to MODEL_A, then to MODEL_B, and print both replies with "
        "their time to first token, tokens/s, peak memory and size, after one line saying "
        "whether both fit the budget or one is evicted between them.",
    )
    parser.add_argument("model_a", metavar="MODEL_A")
    parser.add_argument("model_b", metavar="MODEL_B")
    parser.add_argument("prompt", metavar="PROMPT", help='the prompt ("-" reads stdin)')
    parser.add_argument(
        "--mode",
        choices=MODES,
        default="auto",
        help="chat (template), complete (raw text), or auto: complete for base models, "
        "chat for the others (default)",
    )
    add_sampling_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    add_budget_arguments(parser)
    parser.set_defaults(handler=run)


def lane_footer(result: LaneResult) -> str:
    """TTFT, tok/s, peak memory and size of one side, as one line."""
    stats = result.stats
    return (
        f"first token {stats.time_to_first_token_s:.2f} s · {stats.generation_tps:.1f} tok/s · "
        f"peak memory {format_bytes(stats.peak_memory_bytes)} · size "
        f"{format_bytes(result.size_bytes)} · {stats.generation_tokens} tokens · "
        f"finish: {stats.finish_reason}"
    )


def to_json(plan: ComparePlan, results: tuple[LaneResult, ...], after: list[str]) -> dict[str, Any]:
    return {
        "plan": {"outcome": plan.outcome, "line": plan.line},
        "replies": [
            {
                "model": r.model_id,
                "mode": r.mode,
                "text": r.text,
                "size_bytes": r.size_bytes,
                "stats": dataclasses.asdict(r.stats),
            }
            for r in results
        ],
        "loaded_after": after,
    }


def run(args: argparse.Namespace) -> int:
    sampling = sampling_from(args)
    prompt = read_prompt(args.prompt)
    found = setup(args)
    infos: tuple[ModelInfo, ModelInfo] = (
        resolve(args.model_a, found.catalog),
        resolve(args.model_b, found.catalog),
    )
    for info in infos:
        require_kind(info, "compare")
    check_pair(*infos)
    show = not args.json

    def started(lane: int, request: ChatRequest) -> None:
        if show:
            mode = "complete" if request.raw else "chat"
            print(f"\n── {'AB'[lane]} · {infos[lane].name} ({mode}) ──", flush=True)

    def text(_lane: int, piece: str) -> None:
        if show:
            sys.stdout.write(piece)
            sys.stdout.flush()

    def planned(plan: ComparePlan) -> None:
        if show:
            print(f"plan: {plan.line}", flush=True)

    with open_client(args, found, list(infos)) as client:
        plan, results = run_compare(
            client, infos, prompt, sampling, args.mode,
            on_plan=planned, on_start=started, on_text=text,
        )  # fmt: skip
        after = [e.model_id for e in client.snapshot().entries]
    if args.json:
        print(json.dumps(to_json(plan, results, after), ensure_ascii=False))
        return 0
    print("\n")
    for lane, result in enumerate(results):
        print(f"{'AB'[lane]} · {infos[lane].name}: {lane_footer(result)}")
    loaded = ", ".join(i.name for i in infos if i.id in after) or "neither"
    print(f"loaded after the comparison: {loaded}")
    return 0
