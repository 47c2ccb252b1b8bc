"""`mlxbench import-gguf FILE`: turn a GGUF (llama, Mistral, Qwen 2/3, Gemma 3) into an MLX folder.

The folder lands in the user's models folder, where the catalog finds it. Importing the same
unchanged file again reuses the existing folder unless ``--force`` is given. K-quant tensors
are re-quantized for MLX at ``--bits`` (never below the precision the file gave them).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "import-gguf",
        help="convert a GGUF file (llama, mistral, qwen2, qwen3, gemma3) into an MLX model",
        description="Convert a GGUF file into an MLX model folder in the mlxbench models "
        "folder. Q4_0, Q4_1, Q8_0 and float tensors are kept as they are; K-quants (Q2_K to "
        "Q6_K, Q5_0, Q5_1) are re-quantized for MLX.",
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="the .gguf file")
    parser.add_argument("--name", help="folder name for the model (default: from the file name)")
    parser.add_argument("--force", action="store_true", help="re-import even if up to date")
    parser.add_argument(
        "--bits",
        type=int,
        choices=(2, 3, 4, 5, 6, 8),
        help="MLX bits for re-quantized tensors (default 4; tensors the file kept at more "
        "bits keep them)",
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def _progress(message: str) -> None:
    print(f"import-gguf: {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from workbench.core.gguf.importer import ensure_imported, import_gguf

    progress = None if args.json else _progress
    if args.force:
        bits = 4 if args.bits is None else args.bits
        folder = import_gguf(args.file, name=args.name, progress=progress, bits=bits)
    else:
        folder = ensure_imported(args.file, progress=progress, name=args.name, bits=args.bits)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    result = {
        "path": str(folder),
        "name": folder.name,
        "source": str(args.file.resolve()),
        "quantization": config.get("quantization"),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(folder)
    return 0
