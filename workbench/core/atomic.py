"""Atomic file writes: a reader sees the old file or the new one, never half of either.

Sessions, stored images, measured sizes and the app state are all rewritten in place while
the app runs; a crash or a full disk mid-write must not leave a truncated file behind. Each
write goes to a temporary file in the same folder, is flushed to disk, then replaces the
target with ``os.replace`` (atomic on POSIX and Windows).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and ``os.replace`` it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str) -> None:
    """``atomic_write_bytes`` of UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))
