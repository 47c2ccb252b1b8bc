"""The explorer's text handling: one text per line in, short one-line labels out.

Kept apart from the widgets so the rules (what counts as a text, which files are refused
and why) are plain functions that read and test on their own.
"""

from __future__ import annotations

from pathlib import Path

from rich.cells import cell_len

from workbench.core.errors import InputError

MAX_FILE_BYTES = 1024 * 1024
MAX_TEXTS = 500


def split_texts(raw: str) -> tuple[str, ...]:
    """One text per non-blank line, surrounding whitespace removed, order kept."""
    return tuple(line.strip() for line in raw.splitlines() if line.strip())


def read_texts_file(path: Path) -> tuple[str, ...]:
    """Read a UTF-8 text file of one text per line.

    Raises:
        InputError: one line naming the file and why it cannot be used.
    """
    try:
        if path.is_dir():
            raise InputError(f"{path} is a folder, not a text file")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError(f"{path} is {size // 1024} KiB; the limit is 1 MiB of text")
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise InputError(f"{path} does not exist") from exc
    except OSError as exc:
        raise InputError(f"{path} cannot be read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte {exc.start})") from exc
    texts = split_texts(raw)
    if not texts:
        raise InputError(f"{path} has no non-blank lines")
    return texts


def one_line(text: str) -> str:
    """Control characters (tabs, stray escapes) become spaces so a label stays one line."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


def truncate(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` terminal cells with "…" when it is longer."""
    text = one_line(text)
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return text
    out, used = [], 0
    for ch in text:
        w = cell_len(ch)
        if used + w > width - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…"
