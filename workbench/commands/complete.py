"""``mlxbench complete MODEL PROMPT``: continue a text as is, with no chat template.

Base (pretrained) models were never taught a chat format: given one they answer badly,
given plain text they continue it. This is the headless raw completion: the same runner,
pool and engines as ``chat`` and the same sampling flags; the continuation goes to stdout
(the prompt is not repeated), the stats to stderr, or everything as one JSON object.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from workbench.commands.chat import read_prompt, sampling_from, stats_line
from workbench.commands.common import (
    add_budget_arguments,
    add_sampling_arguments,
    open_client,
    require_kind,
    resolve,
    setup,
)
from workbench.core.protocol import ChatRequest
from workbench.core.types import ChatMessage


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "complete",
        help="continue a text with a model, no chat template (for base models)",
        description="Continue PROMPT with MODEL as raw text — no chat template, no system "
        "message — and stream the continuation to stdout; timing and memory go to stderr. "
        "MODEL is an id, a name, a unique part of one, or a path.",
    )
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("prompt", metavar="PROMPT", help='the text to continue ("-" reads stdin)')
    add_sampling_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    add_budget_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    sampling = sampling_from(args)
    prompt = read_prompt(args.prompt)
    found = setup(args)
    info = resolve(args.model, found.catalog)
    require_kind(info, "complete")
    request = ChatRequest(
        model_id=info.id, messages=(ChatMessage("user", prompt),), sampling=sampling, raw=True
    )
    with open_client(args, found, [info]) as client:
        stream = client.submit_chat(request)
        for piece in stream:
            if not args.json:
                sys.stdout.write(piece)
                sys.stdout.flush()
    done = stream.done
    assert done is not None
    if args.json:
        record = {
            "model": info.id,
            "tuning": info.tuning or None,
            "prompt": prompt,
            "text": done.text,
            "stats": dataclasses.asdict(done.stats),
        }
        print(json.dumps(record, ensure_ascii=False))
    else:
        print(flush=True)
        print(stats_line(done.stats), file=sys.stderr)
    return 0
