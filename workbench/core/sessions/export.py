"""Export a chat session as a Markdown document people can read, share or paste.

Kept apart from the store: the JSON format is for mlxbench to resume; this is for humans.
"""

from __future__ import annotations

import re
from pathlib import Path

from workbench.core.sessions.store import Session, SessionMessage, atomic_write_text
from workbench.core.types import TurnStats
from workbench.core.units import format_bytes


def stats_line(stats: TurnStats) -> str:
    """One line of what a reply cost: "ttft 0.42 s · 12.3 tok/s · 48 tokens · peak 180 MB"."""
    parts = [
        f"ttft {stats.time_to_first_token_s:.2f} s",
        f"{stats.generation_tps:.1f} tok/s",
        f"{stats.generation_tokens} tokens",
        f"peak {format_bytes(stats.peak_memory_bytes)}",
    ]
    if stats.finish_reason != "stop":
        parts.append(stats.finish_reason)
    return " · ".join(parts)


def _message_markdown(message: SessionMessage) -> list[str]:
    heading = "User" if message.role == "user" else "Assistant"
    if message.role == "assistant" and message.model_id:
        heading += f" ({message.model_id})"
    lines = [f"## {heading}", "", message.content.rstrip() or "*(empty)*", ""]
    lines += [f"![image]({Path(p).as_posix()})" for p in message.images]
    if message.images:
        lines.append("")
    if message.stats is not None:
        lines += [f"*{stats_line(message.stats)}*", ""]
    return lines


def session_markdown(session: Session) -> str:
    """The whole conversation as Markdown: title, settings, then every turn."""
    sampling = session.sampling
    lines = [
        f"# {session.display_title}",
        "",
        f"- session: `{session.id}`",
        f"- model: `{session.model_id or 'none'}`",
        f"- updated: {session.updated}",
        f"- sampling: temperature {sampling.temperature}, top_p {sampling.top_p}, "
        f"max tokens {sampling.max_tokens}, seed {sampling.seed}",
        "",
    ]
    if session.system_prompt:
        lines += ["## System", "", session.system_prompt.rstrip(), ""]
    for message in session.messages:
        lines += _message_markdown(message)
    return "\n".join(lines).rstrip() + "\n"


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:40].rstrip("-") or "session"


def export_markdown(session: Session, folder: Path) -> Path:
    """Write ``<title-slug>-<id>.md`` into ``folder`` (atomically); returns the path."""
    path = Path(folder) / f"{_slug(session.display_title)}-{session.id}.md"
    atomic_write_text(path, session_markdown(session))
    return path
