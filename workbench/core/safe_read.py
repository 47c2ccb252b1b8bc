"""Reading files the user names, without hanging or running out of memory.

Every text or image the program reads on the user's word — ``embed --file``, image paths,
config and theme files, session files — goes through here. A FIFO with no writer would block
``open`` forever, ``/dev/zero`` never ends, a directory is not a file, and a 40 GB log file
would fill memory: each is refused with one line naming the file, before any reading starts.
Stdin is read with the same limit and must be UTF-8.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import BinaryIO

from workbench.core.errors import InputError
from workbench.core.units import format_bytes

MB = 1024**2
TEXT_LIMIT = 16 * MB  # prompts, embed input files
CONFIG_LIMIT = 1 * MB  # config.toml, theme files
SESSION_LIMIT = 64 * MB  # one chat session's JSON


def check_regular_file(path: Path, limit: int, what: str = "file") -> int:
    """The file's size; ``InputError`` unless ``path`` is a regular file within ``limit``.

    ``stat`` (which follows links) never blocks, unlike ``open`` on a FIFO.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(f"{what} {path} is a folder, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{what} {path} is not a regular file (a device, FIFO or socket)")
    if info.st_size > limit:
        raise InputError(
            f"{what} {path} is larger than {format_bytes(limit)} ({format_bytes(info.st_size)})"
        )
    return info.st_size


def read_bytes(path: Path, limit: int, what: str = "file") -> bytes:
    """The file's bytes, checked first (``check_regular_file``) and read with a cap, so a
    file that grows while it is read still cannot exceed ``limit``."""
    check_regular_file(path, limit, what)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0)  # a FIFO swapped in never blocks
    try:
        fd = os.open(path, flags)
        with os.fdopen(fd, "rb") as handle:
            return _capped(handle, limit, f"{what} {path}")
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror or exc}") from None


def read_text(path: Path, limit: int, what: str = "file") -> str:
    """``read_bytes`` decoded as UTF-8; invalid UTF-8 is an ``InputError`` naming the byte."""
    return decode_utf8(read_bytes(path, limit, what), f"{what} {path}")


def read_stdin_text(limit: int = TEXT_LIMIT, stream: BinaryIO | None = None) -> str:
    """All of stdin as UTF-8 text, at most ``limit`` bytes."""
    source = stream if stream is not None else sys.stdin.buffer
    return decode_utf8(_capped(source, limit, "standard input"), "standard input")


def decode_utf8(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{where} is not UTF-8 text (bad byte at offset {exc.start})") from None


def _capped(handle: BinaryIO, limit: int, where: str) -> bytes:
    data = handle.read(limit + 1)
    if len(data) > limit:
        raise InputError(f"{where} is larger than {format_bytes(limit)}")
    return data
