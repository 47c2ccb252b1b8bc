"""The explorer's text handling: one text per line in, short one-line labels out.

Kept apart from the widgets so the rules (what counts as a text, which files are refused
and why) are plain functions that read and test on their own.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence
from pathlib import Path

from rich.cells import cell_len

from workbench.core.errors import InputError
from workbench.core.units import format_bytes

MAX_FILE_BYTES = 1024 * 1024
MAX_TEXTS = 500
MIN_NUMBER_COLUMNS = 4  # heatmap labels shrink (to just "#n") before fewer numbers show
MIN_LABEL_TEXT = 10  # characters a label keeps when every column fits beside it
LABEL_CAP = 24  # the most a label takes when the columns do not all fit


def split_texts(raw: str) -> tuple[str, ...]:
    """One text per non-blank line, surrounding whitespace removed, order kept."""
    return tuple(line.strip() for line in raw.splitlines() if line.strip())


def read_texts_file(path: Path) -> tuple[str, ...]:
    """Read a UTF-8 text file of one text per line.

    Only regular files are read, and never more than the limit: a FIFO, a device such as
    /dev/zero or a folder is refused before anything could block (opened non-blocking,
    checked on the open file, so it cannot be swapped in between).

    Raises:
        InputError: one line naming the file and why it cannot be used.
    """
    try:
        data = _read_regular_file(path)
    except FileNotFoundError as exc:
        raise InputError(f"{path} does not exist") from exc
    except IsADirectoryError as exc:
        raise InputError(f"{path} is a folder, not a text file") from exc
    except OSError as exc:
        raise InputError(f"{path} cannot be read: {exc.strerror or exc}") from exc
    try:
        raw = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text (byte {exc.start})") from exc
    texts = split_texts(raw)
    if not texts:
        raise InputError(f"{path} has no non-blank lines")
    return texts


def _read_regular_file(path: Path) -> bytes:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise InputError(f"{path} is a folder, not a text file")
        if not stat.S_ISREG(mode):
            raise InputError(f"{path} is not a regular file (a device, pipe or socket)")
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        size = max(len(data), path.stat().st_size)
        raise InputError(
            f"{path} is {format_bytes(size)}; the limit is {format_bytes(MAX_FILE_BYTES)} of text"
        )
    return data


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


def fit_label_width(width: int, labels: Sequence[str], cell_width: int) -> int:
    """Cells for the heatmap's row labels ("▶12 text…") in ``width`` cells.

    Every column fits and the labels keep ``MIN_LABEL_TEXT`` characters: the labels get
    the rest (the whole texts on a wide screen). Otherwise at least ``MIN_NUMBER_COLUMNS``
    columns of numbers stay, the labels shrinking down to the row number alone.
    """
    n = len(labels)
    prefix = len(str(n)) + 2
    wanted = prefix + max((cell_len(one_line(label)) for label in labels), default=0) + 1
    every_column = width - n * cell_width
    if every_column >= prefix + MIN_LABEL_TEXT:
        return min(wanted, every_column)
    some_columns = width - min(n, MIN_NUMBER_COLUMNS) * cell_width
    return max(prefix + 1, min(wanted, LABEL_CAP, some_columns))
