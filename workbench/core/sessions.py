"""Chat sessions on disk: one JSON file per conversation, written atomically.

A session is what a user would want back after closing the app: the conversation, the model
it was held with, the system prompt and sampling settings, and what each reply cost. Every
turn is saved as it happens, through a temporary file and ``os.replace`` so a crash never
leaves half a file. A file that cannot be read is reported and moved aside (``*.corrupt``),
never fatal and never overwritten. Images attached to a session live next to it in
``<session-id>.images/``, named by content hash so the same picture is stored once.

The format is documented in ``sessions/README.md`` at the repository root.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from workbench.core.errors import InputError, WorkbenchError
from workbench.core.types import ChatMessage, SamplingSettings, TurnStats

FORMAT = "mlxbench-session"
VERSION = 1
TITLE_LENGTH = 60
DEFAULT_SAMPLING = SamplingSettings()
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,80}$")


class SessionError(WorkbenchError):
    """A session file cannot be used (corrupt, from a newer version, or missing)."""


@dataclass(frozen=True)
class SessionMessage:
    """One stored turn. Assistant turns remember the model and what the reply cost."""

    role: str  # "user" | "assistant"
    content: str
    images: tuple[str, ...] = ()  # absolute paths in memory; relative to the store on disk
    model_id: str | None = None
    stats: TurnStats | None = None
    created: str = ""

    def to_chat(self) -> ChatMessage:
        """The message as the engine takes it."""
        return ChatMessage(role=self.role, content=self.content, images=self.images)


@dataclass(frozen=True)
class Session:
    """A whole conversation. Immutable: edits return a new ``Session`` (see ``replace``)."""

    id: str
    title: str = ""
    created: str = ""
    updated: str = ""
    model_id: str | None = None
    system_prompt: str = ""
    sampling: SamplingSettings = DEFAULT_SAMPLING
    messages: tuple[SessionMessage, ...] = ()

    @property
    def display_title(self) -> str:
        """The title, or the first question, or a placeholder."""
        if self.title:
            return self.title
        first = next((m.content for m in self.messages if m.role == "user"), "")
        return make_title(first) or "(empty session)"

    def chat_messages(self) -> tuple[ChatMessage, ...]:
        """What the engine sees: the system prompt (if any) and every turn."""
        system = (ChatMessage("system", self.system_prompt),) if self.system_prompt else ()
        return system + tuple(m.to_chat() for m in self.messages)

    def with_message(self, message: SessionMessage) -> Session:
        return replace(self, messages=(*self.messages, message))

    def without_last(self) -> Session:
        return replace(self, messages=self.messages[:-1])


@dataclass(frozen=True)
class SessionSummary:
    """What the session list shows without keeping every conversation in memory."""

    id: str
    title: str
    updated: str
    model_id: str | None
    message_count: int
    text: str = field(default="", repr=False)  # all contents, lower-cased, for search

    def matches(self, query: str) -> bool:
        words = query.lower().split()
        haystack = f"{self.title.lower()}\n{self.text}"
        return all(word in haystack for word in words)


def make_title(text: str) -> str:
    """A one-line title from the first question."""
    line = " ".join(text.split())
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


# --------------------------------------------------------------------------- JSON mapping


def _stats_to_json(stats: TurnStats | None) -> dict | None:
    if stats is None:
        return None
    return {
        "prompt_tokens": stats.prompt_tokens,
        "generation_tokens": stats.generation_tokens,
        "time_to_first_token_s": stats.time_to_first_token_s,
        "prompt_tps": stats.prompt_tps,
        "generation_tps": stats.generation_tps,
        "peak_memory_bytes": stats.peak_memory_bytes,
        "finish_reason": stats.finish_reason,
        "cached_prompt_tokens": stats.cached_prompt_tokens,
    }


def _stats_from_json(data: object) -> TurnStats | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError("'stats' must be an object")
    return TurnStats(**data)


def session_to_json(session: Session, root: Path) -> dict:
    """The on-disk shape of a session; image paths inside ``root`` are stored relative."""

    def image_ref(path: str) -> str:
        p = Path(path)
        return p.relative_to(root).as_posix() if p.is_relative_to(root) else path

    return {
        "format": FORMAT,
        "version": VERSION,
        "id": session.id,
        "title": session.title,
        "created": session.created,
        "updated": session.updated,
        "model_id": session.model_id,
        "system_prompt": session.system_prompt,
        "sampling": {
            "temperature": session.sampling.temperature,
            "top_p": session.sampling.top_p,
            "max_tokens": session.sampling.max_tokens,
            "seed": session.sampling.seed,
        },
        "messages": [
            {
                "role": m.role,
                "content": m.content,
                "images": [image_ref(i) for i in m.images],
                "model_id": m.model_id,
                "stats": _stats_to_json(m.stats),
                "created": m.created,
            }
            for m in session.messages
        ],
    }


def _message_from_json(data: object, root: Path) -> SessionMessage:
    if not isinstance(data, dict):
        raise ValueError("each message must be an object")
    role, content = data.get("role"), data.get("content")
    if role not in ("user", "assistant") or not isinstance(content, str):
        raise ValueError("a message needs a role (user/assistant) and text content")
    images = data.get("images") or []
    if not isinstance(images, list) or not all(isinstance(i, str) for i in images):
        raise ValueError("'images' must be a list of paths")
    return SessionMessage(
        role=role,
        content=content,
        images=tuple(str(root / i) if not Path(i).is_absolute() else i for i in images),
        model_id=data.get("model_id"),
        stats=_stats_from_json(data.get("stats")),
        created=str(data.get("created") or ""),
    )


def session_from_json(data: object, root: Path) -> Session:
    """Validate parsed JSON into a ``Session``; ``ValueError``/``TypeError`` when malformed."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("not an mlxbench session")
    if not isinstance(data.get("version"), int):
        raise ValueError("missing format version")
    sampling = data.get("sampling") or {}
    if not isinstance(sampling, dict):
        raise ValueError("'sampling' must be an object")
    messages = data.get("messages") or []
    if not isinstance(messages, list):
        raise ValueError("'messages' must be a list")
    return Session(
        id=str(data["id"]),
        title=str(data.get("title") or ""),
        created=str(data.get("created") or ""),
        updated=str(data.get("updated") or ""),
        model_id=data.get("model_id"),
        system_prompt=str(data.get("system_prompt") or ""),
        sampling=SamplingSettings(**sampling),
        messages=tuple(_message_from_json(m, root) for m in messages),
    )


# --------------------------------------------------------------------------- the store


@dataclass(frozen=True)
class ListResult:
    """Sessions found, newest first, plus one line per file that could not be read."""

    sessions: tuple[SessionSummary, ...]
    problems: tuple[str, ...] = ()


class SessionStore:
    """The folder of session files. Every method is safe to call on a missing folder."""

    def __init__(self, root: Path, *, clock: Callable[[], datetime] = _utc_now) -> None:
        self.root = Path(root)
        self._clock = clock

    # ----------------------------------------------------------------- paths and ids

    def path_for(self, session_id: str) -> Path:
        """The session's JSON file (the id is checked: no path tricks)."""
        if not _ID_PATTERN.match(session_id):
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
        stamp = _stamp(now)
        return Session(
            id=session_id,
            created=stamp,
            updated=stamp,
            model_id=model_id,
            system_prompt=system_prompt,
            sampling=sampling,
        )

    def now(self) -> str:
        """The store's clock as an ISO timestamp (used to stamp messages)."""
        return _stamp(self._clock())

    # ----------------------------------------------------------------- write

    def save(self, session: Session) -> Session:
        """Write the session atomically; returns it with ``updated`` set."""
        session = replace(session, updated=self.now())
        path = self.path_for(session.id)
        text = json.dumps(session_to_json(session, self.root), indent=2, ensure_ascii=False)
        atomic_write_text(path, text + "\n")
        return session

    def rename(self, session_id: str, title: str) -> Session:
        title = " ".join(title.split())
        if not title:
            raise InputError("a session title cannot be empty")
        return self.save(replace(self.load(session_id), title=title))

    def delete(self, session_id: str) -> None:
        """Remove the session file and its images (a missing file is not an error)."""
        self.path_for(session_id).unlink(missing_ok=True)
        shutil.rmtree(self.images_dir(session_id), ignore_errors=True)

    def store_image(self, session_id: str, source: Path) -> Path:
        """Copy an image next to the session, named by content hash; returns the stored path."""
        data = Path(source).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        folder = self.images_dir(session_id)
        target = folder / f"{digest}{Path(source).suffix.lower() or '.png'}"
        if not target.exists():
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(target, data)
        return target

    # ----------------------------------------------------------------- read

    def load(self, session_id: str) -> Session:
        """Read one session; a corrupt file is moved aside and ``SessionError`` raised."""
        path = self.path_for(session_id)
        if not path.exists():
            raise SessionError(f"session {session_id} not found in {self.root}")
        return self._read(path)

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
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise self._quarantine(path, f"not valid JSON ({exc})") from exc
        except OSError as exc:
            raise SessionError(f"{path}: cannot read session: {exc.strerror or exc}") from exc
        if _newer_format(data):
            raise SessionError(f"{path}: written by a newer mlxbench (format {data['version']})")
        try:
            session = session_from_json(data, self.root)
        except (ValueError, TypeError, KeyError) as exc:
            raise self._quarantine(path, str(exc)) from exc
        # The file name is the id (a renamed file is still the user's session).
        return session if session.id == path.stem else replace(session, id=path.stem)

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


def _summary(session: Session) -> SessionSummary:
    return SessionSummary(
        id=session.id,
        title=session.display_title,
        updated=session.updated,
        model_id=session.model_id,
        message_count=len(session.messages),
        text="\n".join(m.content for m in session.messages).lower(),
    )


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


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
