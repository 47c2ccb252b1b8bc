"""Names and records of GGUF imports, without the importer's heavy dependencies.

The catalog needs to know where an import of a GGUF file lives and whether it is current
without importing MLX (the TUI lists models but must never import MLX). The importer
itself (``gguf.py``) uses the same functions, so there is one source of truth.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from workbench.core import paths

RECORD_FILE = "mlxbench_import.json"
RECORD_FORMAT = 1  # bump when the importer's output changes, to force re-imports


def default_name(gguf_path: Path) -> str:
    """A readable folder name: ``SmolLM2-135M-Instruct.Q4_1.gguf`` → ``...-Instruct-Q4_1-mlx``."""
    stem = Path(gguf_path).name.removesuffix(".gguf").removesuffix(".GGUF")
    clean = re.sub(r"[^A-Za-z0-9_-]+", "-", stem).strip("-") or "model"
    return f"{clean}-mlx"


def import_destination(gguf_path: Path, dest_root: Path | None = None) -> Path:
    """The folder a default import of ``gguf_path`` lives in (whether or not it exists)."""
    root = Path(dest_root) if dest_root is not None else paths.models_dir()
    return root / default_name(gguf_path)


def read_record(model_dir: Path) -> dict[str, Any] | None:
    """The import record of a folder the importer made, or None."""
    try:
        record = json.loads((Path(model_dir) / RECORD_FILE).read_text(encoding="utf-8"))
        return record if isinstance(record, dict) else None
    except (OSError, ValueError):
        return None
