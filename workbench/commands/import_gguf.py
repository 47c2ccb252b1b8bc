"""`mlxbench import-gguf FILE`: turn a llama-family GGUF into an MLX model folder.

The folder lands in the user's models folder, where the catalog finds it. Importing the same
unchanged file again reuses the existing folder unless ``--force`` is given.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "import-gguf",
        help="convert a llama-family GGUF file into an MLX model folder",
        description="Convert a llama-family GGUF (Q4_0, Q4_1, Q8_0, F16, F32 tensors) into an "
        "MLX model folder in the mlxbench models folder.",
    )
    parser.add_argument("file", type=Path, metavar="FILE", help="the .gguf file")
    parser.add_argument("--name", help="folder name for the model (default: from the file name)")
    parser.add_argument("--force", action="store_true", help="re-import even if up to date")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(handler=run)


def _progress(message: str) -> None:
    print(f"import-gguf: {message}", file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    from workbench.core.gguf import ensure_imported, import_gguf

    progress = None if args.json else _progress
    if args.force:
        folder = import_gguf(args.file, name=args.name, progress=progress)
    else:
        folder = ensure_imported(args.file, progress=progress, name=args.name)
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
