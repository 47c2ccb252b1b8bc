"""Per-conversation prompt caches, so a new turn only processes the tokens that are new.

A chat turn's prompt is the whole conversation so far. Recomputing it every turn makes turn
ten cost ten turns of prompt processing; keeping the key/value cache of the previous turn
(and the token ids it holds) lets the engine feed only the suffix. The previous turn's cache
holds the prompt plus the tokens the model generated; the next prompt re-renders that reply
through the chat template, which may tokenize it differently, so reuse is by longest common
prefix and the cache is trimmed back to it.

This module is pure bookkeeping: the MLX cache objects and the functions that trim them are
passed in, which keeps it testable without MLX.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

CanTrim = Callable[[Any], bool]
Trim = Callable[[Any, int], Any]
T = TypeVar("T")


class RecentSessions(Generic[T]):
    """What an engine keeps per conversation, for the ``limit`` most recent ones (LRU).

    Text and vision engines both keep one prompt cache per conversation and drop the least
    recently used beyond a few; this is that bookkeeping, once.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._items: OrderedDict[str, T] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def pop(self, session_id: str) -> T | None:
        """Take the conversation's item out (``None`` if none is kept)."""
        return self._items.pop(session_id, None)

    def put(self, session_id: str, item: T) -> None:
        """Keep ``item`` as the conversation's latest; forget the least recent beyond the
        limit."""
        self._items.pop(session_id, None)
        self._items[session_id] = item
        while len(self._items) > self._limit:
            self._items.popitem(last=False)

    def peek(self, session_id: str) -> T | None:
        """The conversation's item, left in place."""
        return self._items.get(session_id)

    def items(self) -> list[T]:
        return list(self._items.values())

    def clear(self) -> None:
        self._items.clear()


@dataclass
class _Entry:
    cache: Any
    tokens: list[int]


def common_prefix_length(a: Sequence[int], b: Sequence[int]) -> int:
    """How many leading tokens ``a`` and ``b`` share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


class SessionCaches:
    """The prompt caches of the most recent ``max_sessions`` conversations (LRU)."""

    def __init__(self, can_trim: CanTrim, trim: Trim, max_sessions: int = 4) -> None:
        self._can_trim = can_trim
        self._trim = trim
        self._entries: RecentSessions[_Entry] = RecentSessions(max_sessions)

    def __len__(self) -> int:
        return len(self._entries)

    def take(self, session_id: str, prompt: Sequence[int]) -> tuple[Any | None, int]:
        """Remove the session's cache and fit it to ``prompt``.

        Returns ``(cache, reused)``: a cache holding exactly ``prompt[:reused]``, or
        ``(None, 0)`` when nothing can be reused. At least one prompt token is always left
        to process, since the model needs an input to produce the next token's logits. The
        caller owns the cache until it hands it back with :meth:`put`.
        """
        entry = self._entries.pop(session_id)
        if entry is None:
            return None, 0
        reused = min(common_prefix_length(entry.tokens, prompt), len(prompt) - 1)
        if reused <= 0:
            return None, 0
        excess = len(entry.tokens) - reused
        if excess > 0:
            if not self._can_trim(entry.cache):
                return None, 0
            self._trim(entry.cache, excess)
        return entry.cache, reused

    def put(self, session_id: str, cache: Any, tokens: Sequence[int]) -> None:
        """Keep ``cache`` (holding ``tokens``) as the session's latest; evict the oldest."""
        self._entries.put(session_id, _Entry(cache, list(tokens)))

    def peek(self, session_id: str) -> Any | None:
        """The session's kept cache, left in place (None if there is none)."""
        entry = self._entries.peek(session_id)
        return entry.cache if entry is not None else None

    def tokens(self, session_id: str) -> list[int] | None:
        """The token ids the session's kept cache holds (None if there is none)."""
        entry = self._entries.peek(session_id)
        return list(entry.tokens) if entry is not None else None

    def caches(self) -> list[Any]:
        """The caches kept right now (for measuring their memory)."""
        return [entry.cache for entry in self._entries.items()]

    def clear(self) -> None:
        self._entries.clear()
