"""Chat sessions on disk: one JSON file per conversation, written atomically.

A session is what a user would want back after closing the app: the conversation, the model
it was held with, the system prompt and sampling settings, and what each reply cost. Every
turn is saved as it happens, through a temporary file and ``os.replace`` so a crash never
leaves half a file. A file that cannot be read is reported and moved aside (``*.corrupt``),
never fatal and never overwritten. Images attached to a session live next to it in
``<session-id>.images/``, named by content hash so the same picture is stored once.

The data model and JSON shape live in ``session_data``; they are re-exported here.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

from workbench.core.atomic import atomic_write_bytes, atomic_write_text
from workbench.core.errors import InputError
from workbench.core.safe_read import SESSION_LIMIT, read_bytes
from workbench.core.sessions.data import (
    DEFAULT_SAMPLING,
    FORMAT,
    ID_PATTERN,
    VERSION,
    Session,
    SessionError,
    SessionMessage,
    SessionSummary,
    make_title,
    session_from_json,
    session_to_json,
    stamp,
    utc_now,
)
from workbench.core.sessions.guard import (
    SessionForked,
    current_digest,
    digest,
    folder_lock,
    is_own_file,
)
from workbench.core.types import SamplingSettings

__all__ = [
    "FORMAT",
    "VERSION",
    "ListResult",
    "Session",
    "SessionError",
    "SessionForked",
    "SessionMessage",
    "SessionStore",
    "SessionSummary",
    "atomic_write_bytes",
    "atomic_write_text",
    "make_title",
    "session_from_json",
    "session_to_json",
]

# --------------------------------------------------------------------------- the store

LINE_CACHE_SIZE = 20_000  # encoded message lines remembered per store (then start over)


@dataclass(frozen=True)
class ListResult:
    """Sessions found, newest first, plus one line per file that could not be read."""

    sessions: tuple[SessionSummary, ...]
    problems: tuple[str, ...] = ()


class SessionStore:
    """The folder of session files. Every method is safe to call on a missing folder."""

    def __init__(self, root: Path, *, clock: Callable[[], datetime] = utc_now) -> None:
        self.root = Path(root)
        self._clock = clock
        self._lines: dict[int, tuple[SessionMessage, str]] = {}  # id → (message, its line)
        self._digests: dict[str, str] = {}  # session id → its file as last read or written
        self.forked: dict[str, str] = {}  # session id → the id its conversation moved to

    # ----------------------------------------------------------------- paths and ids

    def path_for(self, session_id: str) -> Path:
        """The session's JSON file (the id is checked: no path tricks)."""
        if not ID_PATTERN.match(session_id):
            raise InputError(f"invalid session id {session_id!r}")
        return self.root / f"{session_id}.json"

    def images_dir(self, session_id: str) -> Path:
        return self.root / f"{self.path_for(session_id).stem}.images"

    def new_session(
        self,
        *,
        model_id: str | None = None,
        system_prompt: str = "",
        sampling: SamplingSettings = DEFAULT_SAMPLING,
    ) -> Session:
        """A fresh session (not written until ``save``)."""
        now = self._clock()
        session_id = f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"
        created = stamp(now)
        return Session(
            id=session_id,
            created=created,
            updated=created,
            model_id=model_id,
            system_prompt=system_prompt,
            sampling=sampling,
        )

    def now(self) -> str:
        """The store's clock as an ISO timestamp (used to stamp messages)."""
        return stamp(self._clock())

    # ----------------------------------------------------------------- write

    def save(self, session: Session) -> Session:
        """Write the session atomically; returns it with ``updated`` set.

        ``SessionError`` (naming the file and the reason) when it cannot be written.
        """
        session = replace(session, updated=self.now())
        with folder_lock(self.root):
            path = self.path_for(session.id)
            on_disk = current_digest(path)
            known = self._digests.get(session.id)
            if on_disk is not None and on_disk != known:  # another window saved it meanwhile
                session = self._fork(session)
                path = self.path_for(session.id)
            text = self._session_text(session)
            try:
                atomic_write_text(path, text)
            except OSError as exc:
                raise _write_error(path, exc) from exc
            self._digests[session.id] = digest(text.encode("utf-8"))
        return session

    def _fork(self, session: Session) -> Session:
        """The conversation under a new id (the other window's file is left as it is)."""
        fresh = self.new_session()
        title = session.display_title
        self.forked[session.id] = fresh.id
        return replace(session, id=fresh.id, title=f"{title} (copy)"[:80])

    def _session_text(self, session: Session) -> str:
        """The file's text: the header indented, then one message per line.

        Every turn rewrites the whole file, so its cost must not grow much with a long
        chat: messages are immutable, so each one's line is encoded once and remembered
        (``json.dumps`` with ``indent`` takes Python's slow encoder; this uses the C one).
        """
        head = session_to_json(replace(session, messages=()), self.root)
        text = json.dumps(head, indent=2, ensure_ascii=False)
        if not session.messages:
            return text + "\n"
        lines = ",\n".join([self._message_line(m) for m in session.messages])
        empty = '"messages": []\n}'
        return f'{text.removesuffix(empty)}"messages": [\n{lines}\n  ]\n}}\n'

    def _message_line(self, message: SessionMessage) -> str:
        """The message as one indented JSON line, remembered per message object.

        Looked up by identity (a session keeps the same message objects from turn to turn),
        so a save of a long chat neither hashes nor re-encodes the messages it already wrote.
        """
        known = self._lines.get(id(message))
        if known is not None and known[0] is message:
            return known[1]
        if len(self._lines) >= LINE_CACHE_SIZE:
            self._lines.clear()
        data = session_to_json(Session(id="x", messages=(message,)), self.root)
        line = "    " + json.dumps(data["messages"][0], ensure_ascii=False)
        self._lines[id(message)] = (message, line)
        return line

    def rename(self, session_id: str, title: str) -> Session:
        title = " ".join(title.split())
        if not title:
            raise InputError("a session title cannot be empty")
        return self.save(replace(self.load(session_id), title=title))

    def delete(self, session_id: str) -> None:
        """Remove the session file and its images (a missing file is not an error)."""
        path = self.path_for(session_id)
        try:
            path.unlink(missing_ok=True)
        except NotADirectoryError:
            return  # the folder is not a folder: there is no such file
        except OSError as exc:
            raise SessionError(f"cannot delete {path}: {exc.strerror or exc}") from exc
        shutil.rmtree(self.images_dir(session_id), ignore_errors=True)

    def store_image(self, session_id: str, source: Path) -> Path:
        """Copy an image next to the session, named by content hash; returns the stored path."""
        data = Path(source).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        folder = self.images_dir(session_id)
        target = folder / f"{digest}{Path(source).suffix.lower() or '.png'}"
        if not target.exists():
            try:
                folder.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(target, data)
            except OSError as exc:
                raise _write_error(target, exc) from exc
        return target

    # ----------------------------------------------------------------- read

    def load(self, session_id: str) -> Session:
        """Read one session; a corrupt file is moved aside and ``SessionError`` raised."""
        path = self.path_for(session_id)
        if not path.exists():
            raise SessionError(f"session {session_id} not found in {self.root}")
        return self._read(path)

    def resume(self, session_id: str) -> Session:
        """``load``, for a conversation that goes on: its messages are encoded now, as it
        opens, because the next save (the question's) runs while the reply streams."""
        session = self.load(session_id)
        for message in session.messages:
            self._message_line(message)
        return session

    def list(self) -> ListResult:
        """Every readable session, newest first; unreadable ones are reported (and moved)."""
        if not self.root.is_dir():
            return ListResult(())
        found, problems = [], []
        for path in sorted(self.root.glob("*.json")):
            try:
                session = self._read(path)
            except SessionError as exc:
                problems.append(str(exc))
                continue
            found.append(_summary(session))
        found.sort(key=lambda s: (s.updated, s.id), reverse=True)
        return ListResult(tuple(found), tuple(problems))

    def search(self, query: str) -> ListResult:
        result = self.list()
        return replace(result, sessions=tuple(s for s in result.sessions if s.matches(query)))

    def _read(self, path: Path) -> Session:
        try:  # a FIFO, a folder or a huge file named *.json is refused, never read
            raw = read_bytes(path, SESSION_LIMIT, "session file")
        except InputError as exc:
            raise SessionError(f"{path.name}: cannot read session: {exc}") from None
        try:
            data = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, nested too deeply
            reason = "nested too deeply" if isinstance(exc, RecursionError) else exc
            raise self._set_aside(path, None, f"not valid JSON ({reason})") from exc
        if not is_own_file(path, data):
            raise SessionError(f"{path.name}: not a session (left as it is)")
        if _newer_format(data):
            raise SessionError(f"{path}: written by a newer mlxbench (format {data['version']})")
        try:
            session = session_from_json(data, self.root)
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            raise self._quarantine(path, str(exc)) from exc
        self._digests[path.stem] = digest(raw)
        # The file name is the id (a renamed file is still the user's session).
        return session if session.id == path.stem else replace(session, id=path.stem)

    def _set_aside(self, path: Path, data: object, reason: str) -> SessionError:
        """Quarantine the app's own unreadable files; anything else is left untouched."""
        if is_own_file(path, data):
            return self._quarantine(path, reason)
        return SessionError(f"{path.name}: not a session ({reason}); left as it is")

    def _quarantine(self, path: Path, reason: str) -> SessionError:
        """Move an unreadable file aside (never over an earlier one) and describe it."""
        target = path.with_name(path.name + ".corrupt")
        counter = 1
        while target.exists():
            counter += 1
            target = path.with_name(f"{path.name}.corrupt{counter}")
        try:
            path.rename(target)
        except OSError as exc:
            return SessionError(f"{path}: corrupt session ({reason}); cannot move it: {exc}")
        return SessionError(f"{path.name}: corrupt session ({reason}); moved to {target.name}")


def _newer_format(data: object) -> bool:
    """A session from a later mlxbench: not corrupt, just not ours to read (or move)."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return False
    version = data.get("version")
    return isinstance(version, int) and version > VERSION


def _write_error(path: Path, exc: OSError) -> SessionError:
    """One line: which file could not be written, and the system's reason."""
    blocker = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    reason = f"{blocker} is a file, not a folder" if blocker else exc.strerror or str(exc)
    return SessionError(f"cannot write {path}: {reason}")


def _summary(session: Session) -> SessionSummary:
    return SessionSummary(
        id=session.id,
        title=session.display_title,
        updated=session.updated,
        model_id=session.model_id,
        message_count=len(session.messages),
        text="\n".join(m.content for m in session.messages),
    )
