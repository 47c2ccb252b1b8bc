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
from typing import Any

CanTrim = Callable[[Any], bool]
Trim = Callable[[Any, int], Any]


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
        self._max = max_sessions
        self._entries: OrderedDict[str, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def take(self, session_id: str, prompt: Sequence[int]) -> tuple[Any | None, int]:
        """Remove the session's cache and fit it to ``prompt``.

        Returns ``(cache, reused)``: a cache holding exactly ``prompt[:reused]``, or
        ``(None, 0)`` when nothing can be reused. At least one prompt token is always left
        to process, since the model needs an input to produce the next token's logits. The
        caller owns the cache until it hands it back with :meth:`put`.
        """
        entry = self._entries.pop(session_id, None)
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
        self._entries.pop(session_id, None)
        self._entries[session_id] = _Entry(cache, list(tokens))
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    def peek(self, session_id: str) -> Any | None:
        """The session's kept cache, left in place (None if there is none)."""
        entry = self._entries.get(session_id)
        return entry.cache if entry is not None else None

    def caches(self) -> list[Any]:
        """The caches kept right now (for measuring their memory)."""
        return [entry.cache for entry in self._entries.values()]

    def clear(self) -> None:
        self._entries.clear()
