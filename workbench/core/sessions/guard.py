"""Two windows on one session: neither may overwrite a turn the other saved.

Each ``SessionStore`` remembers a digest of every session file as it last read or wrote it.
Before a save replaces a file, the file on disk is compared with that digest (under a lock
on the folder, so two processes cannot both pass the check and then both write): unchanged, the save
goes ahead; changed by someone else, the conversation is saved as a new session instead,
and the caller is told (``SessionForked``). Nothing that either window saved is lost.

Also here: which files in the sessions folder are the app's own. Only those are ever moved
aside when corrupt; anything else (a ``package.json`` someone left there) is listed as "not a
session" and left untouched.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from workbench.core.errors import SessionError as SessionError
from workbench.core.errors import SessionForked as SessionForked
from workbench.core.sessions.data import FORMAT

# The names new sessions get: 20260101-120000-a1b2c3 (see ``SessionStore.new_session``).
OWN_NAME = re.compile(r"^\d{8}-\d{6}-[0-9a-f]{6}$")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def is_own_file(path: Path, data: object | None) -> bool:
    """True when ``path`` is one of the app's session files: parsed JSON that says so, or
    (when it does not parse) a file with the name the app gives new sessions."""
    if isinstance(data, dict):
        return data.get("format") == FORMAT
    return bool(OWN_NAME.match(path.stem))


@contextlib.contextmanager
def folder_lock(root: Path) -> Iterator[None]:
    """An exclusive lock on the sessions folder between processes: ``flock`` on the folder
    itself, so no lock file is left behind (POSIX; elsewhere the digest check alone)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root, os.O_RDONLY)
    except OSError:
        yield  # the write that follows reports the folder's problem
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def current_digest(path: Path) -> str | None:
    """The digest of the file as it is now (None when there is none, or it cannot be read)."""
    try:
        return digest(path.read_bytes()) if path.is_file() else None
    except OSError:
        return None
