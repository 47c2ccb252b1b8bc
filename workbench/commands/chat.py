"""``mlxbench chat MODEL PROMPT``: one reply, streamed to stdout, stats on stderr.

The headless twin of the chat pane: the same runner, pool and engines, so a script sees
exactly what the app would. Everything that can be checked without the model — the
model's kind, the sampling settings, the images — is checked before it loads.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

from workbench.commands.common import (
    add_budget_arguments,
    add_sampling_arguments,
    open_client,
    require_kind,
    resolve,
    setup,
)
from workbench.core.errors import InputError
from workbench.core.models.kinds import can_see_images, images_refused
from workbench.core.types import ChatMessage, ModelInfo, SamplingSettings, TurnStats
from workbench.core.units import format_bytes


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "chat",
        help="stream one reply from a text or vision model",
        description="Send PROMPT to MODEL and stream the reply to stdout; timing and memory "
        "go to stderr. MODEL is an id, a name, a unique part of one, or a path.",
    )
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("prompt", metavar="PROMPT", help='the user message ("-" reads stdin)')
    parser.add_argument("--system", metavar="TEXT", help="a system message")
    add_sampling_arguments(parser)
    parser.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="SRC",
        help="attach an image (path, http(s) URL or data URI; repeatable; vision models only)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object at the end")
    parser.add_argument(
        "--cluster",
        metavar="NAME",
        help="shard the model over cluster NAME's hosts with mlx.launch ([clusters.NAME] in "
        "config.toml; local2 = 2 ranks on this machine)",
    )
    add_budget_arguments(parser)
    parser.set_defaults(handler=run)


def sampling_from(args: argparse.Namespace) -> SamplingSettings:
    """The sampling flags, checked before any model loads (NaN, negative seeds...)."""
    from workbench.core.limits import check_sampling

    sampling = SamplingSettings(args.temperature, args.top_p, args.max_tokens, args.seed)
    try:
        check_sampling(sampling)
    except InputError as exc:  # name the flag the user typed
        raise InputError(f"--{str(exc).replace('_', '-')}") from None
    return sampling


def read_prompt(text: str) -> str:
    if text == "-":
        from workbench.core.safe_read import read_stdin_text

        prompt = read_stdin_text()  # size-capped; invalid UTF-8 is one line, not a traceback
    else:
        prompt = text
    if not prompt.strip():
        raise InputError("the prompt is empty")
    return prompt


def prepare_images(sources: list[str], max_side: int, folder: Path) -> tuple[str, ...]:
    """Each ``--image`` checked, normalised and stored; paths for the chat message."""
    if not sources:
        return ()
    from workbench.core.images.prepare import prepare_image, save_prepared

    return tuple(str(save_prepared(prepare_image(s, max_side), folder)) for s in sources)


def messages_for(
    args: argparse.Namespace, prompt: str, images: tuple[str, ...]
) -> list[ChatMessage]:
    messages = [ChatMessage("system", args.system)] if args.system else []
    messages.append(ChatMessage("user", prompt, images=images))
    return messages


def stats_line(stats: TurnStats) -> str:
    cached = f" ({stats.cached_prompt_tokens} cached)" if stats.cached_prompt_tokens else ""
    return (
        f"prompt {stats.prompt_tokens} tokens{cached} · reply {stats.generation_tokens} tokens · "
        f"first token {stats.time_to_first_token_s:.2f} s · {stats.generation_tps:.1f} tok/s · "
        f"peak memory {format_bytes(stats.peak_memory_bytes)} · finish: {stats.finish_reason}"
    )


def check_model(info: ModelInfo, images: list[str]) -> None:
    require_kind(info, "chat")
    if images and not can_see_images(info.kind):
        raise images_refused(info)


def run(args: argparse.Namespace) -> int:
    sampling = sampling_from(args)
    prompt = read_prompt(args.prompt)
    found = setup(args)
    info = resolve(args.model, found.catalog)
    check_model(info, args.image)
    if args.cluster:
        from workbench.core.cluster.entry import cluster_entry

        info = cluster_entry(
            info, found.config.clusters, args.cluster, found.budget.memory_limit_bytes
        )
    with tempfile.TemporaryDirectory(prefix="mlxbench-images-") as folder:
        images = prepare_images(args.image, found.config.image_max_side, Path(folder))
        with open_client(args, found, [info]) as client:
            stream = client.chat_stream(info.id, messages_for(args, prompt, images), sampling)
            pieces = []
            for piece in stream:
                pieces.append(piece)
                if not args.json:
                    sys.stdout.write(piece)
                    sys.stdout.flush()
    done = stream.done
    assert done is not None
    if args.json:
        record = {"model": info.id, "text": done.text, "stats": dataclasses.asdict(done.stats)}
        print(json.dumps(record, ensure_ascii=False))
    else:
        print()
        print(stats_line(done.stats), file=sys.stderr)
    return 0
