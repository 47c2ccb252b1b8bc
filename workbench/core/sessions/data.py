"""What a chat session is, and its JSON shape on disk (format version 1).

Plain frozen dataclasses plus the mapping to and from JSON, validated on the way in so
that a damaged file is a ``ValueError`` (which the store turns into "moved aside"), never a
half-built session. Fields this version does not know are ignored (a later mlxbench may add
some); a known field of the wrong type makes the file corrupt, with the field named, rather
than reaching the engine. The format is documented in ``sessions/README.md``.

A compare turn (one question, two models) is the question followed by two assistant
messages marked ``lane`` "a" and "b"; files without lanes read as before, and a reader
that ignores the field sees two replies in a row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path

from workbench.core.errors import SessionError as SessionError
from workbench.core.types import ChatMessage, SamplingSettings, TurnStats

FORMAT = "mlxbench-session"
VERSION = 1
TITLE_LENGTH = 60
DEFAULT_SAMPLING = SamplingSettings()
LANES = ("a", "b")
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,80}$")

# The JSON types each known field accepts (``bool`` is never taken for a number).
_INT: tuple[type, ...] = (int,)
_NUMBER: tuple[type, ...] = (int, float)
SAMPLING_TYPES = {
    "temperature": _NUMBER,
    "top_p": _NUMBER,
    "max_tokens": _INT,
    "seed": (int, type(None)),
}
STATS_TYPES = {
    "prompt_tokens": _INT,
    "generation_tokens": _INT,
    "time_to_first_token_s": _NUMBER,
    "prompt_tps": _NUMBER,
    "generation_tps": _NUMBER,
    "peak_memory_bytes": _INT,
    "finish_reason": (str,),
    "cached_prompt_tokens": _INT,
}
_TYPE_WORDS = {_INT: "an integer", _NUMBER: "a number", (str,): "text"}


@dataclass(frozen=True)
class SessionMessage:
    """One stored turn. Assistant turns remember the model and what the reply cost."""

    role: str  # "user" | "assistant"
    content: str
    images: tuple[str, ...] = ()  # absolute paths in memory; relative to the store on disk
    model_id: str | None = None
    stats: TurnStats | None = None
    created: str = ""
    lane: str | None = None  # "a" / "b": one side of a compare turn (None: a plain turn)

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
        """What the engine sees: the system prompt (if any) and every turn; of a compare
        turn, only side A's reply (the conversation goes on as A's)."""
        system = (ChatMessage("system", self.system_prompt),) if self.system_prompt else ()
        return system + tuple(m.to_chat() for m in self.messages if m.lane != "b")

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
    text: str = field(default="", repr=False)  # all contents, as written, for search

    @cached_property
    def _lowered(self) -> str:
        return f"{self.title}\n{self.text}".lower()

    def matches(self, query: str) -> bool:
        """Every word of ``query`` occurs in the title or the messages (any case)."""
        words = query.lower().split()
        return all(word in self._lowered for word in words)

    def snippet(self, query: str, width: int = 60) -> str:
        """The messages around the first word of ``query`` they contain, on one line,
        about ``width`` characters with "…" where cut; "" when only the title matched."""
        lowered = self.text.lower()
        found = [(lowered.find(w), w) for w in query.lower().split() if w in lowered]
        if not found:
            return ""
        at, word = min(found)
        start = max(0, at - (width - len(word)) // 2)
        end = min(len(self.text), start + width)
        start = max(0, min(start, end - width))
        piece = " ".join(self.text[start:end].split())
        return ("…" if start > 0 else "") + piece + ("…" if end < len(self.text) else "")


def make_title(text: str) -> str:
    """A one-line title from the first question."""
    line = " ".join(text.split())
    return line if len(line) <= TITLE_LENGTH else line[: TITLE_LENGTH - 1].rstrip() + "…"


def utc_now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
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


def _known_fields(data: dict, types: dict[str, tuple[type, ...]], where: str) -> dict:
    """The fields of ``data`` named in ``types``, type-checked; unknown ones are ignored."""
    values = {}
    for name, kinds in types.items():
        if name not in data:
            continue
        value = data[name]
        if isinstance(value, bool) or not isinstance(value, kinds):
            wanted = _TYPE_WORDS.get(kinds, "an integer or null")
            raise ValueError(f"'{where}.{name}' must be {wanted}, not {_brief(value)}")
        values[name] = float(value) if kinds is _NUMBER else value
    return values


def _brief(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _sampling_from_json(data: object) -> SamplingSettings:
    if data is None:
        return DEFAULT_SAMPLING
    if not isinstance(data, dict):
        raise ValueError("'sampling' must be an object")
    return SamplingSettings(**_known_fields(data, SAMPLING_TYPES, "sampling"))


def _stats_from_json(data: object) -> TurnStats | None:
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ValueError("'stats' must be an object")
    values = _known_fields(data, STATS_TYPES, "stats")
    optional = ("cached_prompt_tokens",)
    missing = next((n for n in STATS_TYPES if n not in values and n not in optional), None)
    if missing is not None:
        raise ValueError(f"'stats.{missing}' is missing")
    return TurnStats(**values)


def _model_id(data: dict) -> str | None:
    model_id = data.get("model_id")
    if model_id is not None and not isinstance(model_id, str):
        raise ValueError(f"'model_id' must be text or null, not {_brief(model_id)}")
    return model_id


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
                **({"lane": m.lane} if m.lane else {}),
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
        model_id=_model_id(data),
        stats=_stats_from_json(data.get("stats")),
        created=str(data.get("created") or ""),
        lane=_lane(data),
    )


def _lane(data: dict) -> str | None:
    lane = data.get("lane")
    if lane is not None and (lane not in LANES or data.get("role") != "assistant"):
        raise ValueError(f'\'lane\' must be "a" or "b" on an assistant message, not {_brief(lane)}')
    return lane


def session_from_json(data: object, root: Path) -> Session:
    """Validate parsed JSON into a ``Session``; ``ValueError``/``TypeError`` when malformed."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError("not an mlxbench session")
    if not isinstance(data.get("version"), int):
        raise ValueError("missing format version")
    messages = data.get("messages") or []
    if not isinstance(messages, list):
        raise ValueError("'messages' must be a list")
    return Session(
        id=str(data["id"]),
        title=str(data.get("title") or ""),
        created=str(data.get("created") or ""),
        updated=str(data.get("updated") or ""),
        model_id=_model_id(data),
        system_prompt=str(data.get("system_prompt") or ""),
        sampling=_sampling_from_json(data.get("sampling")),
        messages=tuple(_message_from_json(m, root) for m in messages),
    )
