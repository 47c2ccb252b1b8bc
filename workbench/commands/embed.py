"""``mlxbench embed MODEL TEXT...``: embeddings from the command line.

``--json`` prints the OpenAI embeddings response shape, so scripts written against that
API read it unchanged; otherwise a short summary and the cosine similarity matrix, which
is usually what a person wants to see first. Same runner and pool as the app.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from workbench.commands.common import (
    add_budget_arguments,
    open_client,
    require_kind,
    resolve,
    setup,
)
from workbench.core.errors import InputError
from workbench.core.types import EmbeddingResult, ModelInfo

LABEL_WIDTH = 24
MATRIX_ROWS = 12  # rows of the similarity matrix printed unless --full


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "embed",
        help="embed texts with an embedding model",
        description="Embed each TEXT (and each non-empty line of --file) with MODEL; print "
        "the similarity matrix, or the OpenAI embeddings JSON with --json.",
    )
    parser.add_argument("model", metavar="MODEL")
    parser.add_argument("texts", nargs="*", metavar="TEXT")
    parser.add_argument("--file", type=Path, metavar="F", help='one text per line ("-" = stdin)')
    parser.add_argument("--json", action="store_true", help="OpenAI embeddings response JSON")
    parser.add_argument(
        "--full",
        action="store_true",
        help=f"print the whole similarity matrix (default: the first {MATRIX_ROWS} texts)",
    )
    add_budget_arguments(parser)
    parser.set_defaults(handler=run)


def read_texts(args: argparse.Namespace) -> list[str]:
    """TEXT arguments, then --file lines; ``InputError`` if nothing (or an empty text)."""
    texts = list(args.texts)
    for number, text in enumerate(texts, start=1):
        if not text.strip():
            raise InputError(f"text {number} is empty")
    if args.file is not None:
        texts.extend(_file_lines(args.file))
    if not texts:
        raise InputError("nothing to embed: give TEXT arguments or --file")
    return texts


def _file_lines(path: Path) -> list[str]:
    """Non-empty lines of a regular file (or stdin) of UTF-8 text within the size limit."""
    from workbench.core.safe_read import TEXT_LIMIT, read_stdin_text, read_text

    if str(path) == "-":
        content = read_stdin_text(TEXT_LIMIT)
    else:
        content = read_text(path, TEXT_LIMIT, "--file")
    return [line for line in content.splitlines() if line.strip()]


def openai_response(info: ModelInfo, result: EmbeddingResult) -> dict[str, Any]:
    """``{"object": "list", "data": [...], "model": ..., "usage": {...}}``."""
    tokens = sum(result.token_counts)
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": list(vector)}
            for i, vector in enumerate(result.vectors)
        ],
        "model": info.id,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def _label(number: int, text: str) -> str:
    flat = " ".join(text.split())
    short = flat if len(flat) <= LABEL_WIDTH - 4 else flat[: LABEL_WIDTH - 5] + "…"
    return f"{number}. {short}"


def summary(info: ModelInfo, texts: list[str], result: EmbeddingResult, full: bool = False) -> str:
    """A short summary and the cosine similarity matrix, one row per text — of the first
    ``MATRIX_ROWS`` texts unless ``full`` (10,000 texts would be a 10,000² matrix)."""
    from workbench.core.embeddings.similarity import cosine_matrix

    shown = len(texts) if full else min(len(texts), MATRIX_ROWS)
    matrix = cosine_matrix(result.vectors[:shown])
    dims = result.dimensions or len(result.vectors[0])
    lines = [
        f"{len(texts)} text{'s' if len(texts) != 1 else ''} → {dims}-dimensional unit vectors "
        f"({info.name}, {sum(result.token_counts)} tokens)",
        "",
        "cosine similarity".ljust(LABEL_WIDTH) + "".join(f"{n:>7}" for n in range(1, shown + 1)),
    ]
    for row, text in enumerate(texts[:shown]):
        cells = "".join(f"{matrix[row, col]:7.3f}" for col in range(shown))
        lines.append(_label(row + 1, text).ljust(LABEL_WIDTH) + cells)
    if shown < len(texts):
        lines += ["", f"(the first {shown} of {len(texts)} texts; --full prints them all)"]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    texts = read_texts(args)
    found = setup(args)
    info = resolve(args.model, found.catalog)
    require_kind(info, "embed")
    with open_client(args, found, [info]) as client:
        result = client.embed(info.id, texts)
    if args.json:
        print(json.dumps(openai_response(info, result)))
    else:
        print(summary(info, texts, result, full=args.full))
    return 0
