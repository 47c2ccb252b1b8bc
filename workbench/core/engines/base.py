"""The engine protocols the model pool programs against.

The pool loads, leases and evicts models without knowing which library runs them; it only
needs these shapes. Engines are created by ``workbench.core.engines.load_engine`` and are
used from one owner thread (MLX streams are thread-local).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

from workbench.core.types import (
    ChatMessage,
    EmbeddingResult,
    GenerationChunk,
    ModelInfo,
    SamplingSettings,
)


@runtime_checkable
class LoadedModel(Protocol):
    """A model held in memory. ``close`` drops every reference the engine holds.

    After ``close`` the pool runs ``gc.collect()`` and ``mx.clear_cache()`` to give the
    memory back; using a closed engine raises ``UnusableModelError``.
    """

    info: ModelInfo

    def close(self) -> None: ...


@runtime_checkable
class ChatEngine(LoadedModel, Protocol):
    """A model that streams chat replies (text models; vision models too)."""

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        sampling: SamplingSettings,
        cancel: threading.Event,
        session_id: str | None = None,
    ) -> Iterator[GenerationChunk]:
        """Stream the next assistant turn.

        Bad input raises ``WorkbenchError`` at call time, before any work. Chunks carry text
        as the detokenizer releases it; the last chunk carries ``TurnStats``. ``cancel`` is
        checked between tokens (and during prompt processing): the stream then ends with
        ``finish_reason == "cancelled"``. ``session_id`` lets the engine reuse the prompt
        cache of the conversation's previous turn.
        """
        ...


@runtime_checkable
class EmbedEngine(LoadedModel, Protocol):
    """A model that turns texts into L2-normalised vectors."""

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> EmbeddingResult:
        """One unit vector per text, in order; empty input raises ``InputError``."""
        ...
