"""The engine protocols the pool and the runner program against.

The pool loads, leases and evicts models without knowing which library runs them; the
runner's handlers drive them through these typed shapes, never by probing attributes. Every
chat engine (``TextEngine`` on mlx-lm, ``VisionEngine`` on mlx-vlm, ``ClusterEngine`` over
ranks) answers the whole ``ChatEngine`` protocol — an engine that cannot say something (a
cache's bytes per token, prompt progress, a raw completion) says so with ``None`` or a clear
error, as ``ChatEngineBase`` (``engines.chat``) does by default. ``EmbedEngine`` on
mlx-embeddings answers ``Embedder``. Engines are created by ``workbench.core.engines.
load_engine`` and used from one owner thread (MLX streams are thread-local).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, runtime_checkable

from workbench.core.types import (
    ChatMessage,
    EmbeddingResult,
    GenerationChunk,
    ModelInfo,
    SamplingSettings,
)

ProgressReport = Callable[[int, int], None]


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
    """A model that streams chat replies (text and vision models, sharded ones too)."""

    context_length: int | None  # the model's context in tokens, when its config says
    prompt_progress: ProgressReport | None  # told (processed, total) while a prompt is read

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

    def stream_completion(
        self, text: str, sampling: SamplingSettings, cancel: threading.Event
    ) -> Iterator[GenerationChunk]:
        """Continue ``text`` as is (no chat template); the stream ends as ``stream_chat``'s."""
        ...

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The token ids the model reads for ``messages`` (template applied)."""
        ...

    def completion_tokens(self, text: str) -> list[int]:
        """The token ids of ``text`` as a raw prompt."""
        ...

    def kv_bytes_per_token(self) -> int | None:
        """Prompt-cache bytes each token adds; ``None`` when nobody can say ahead."""
        ...

    def session_cache_bytes(self, session_id: str | None) -> int:
        """Memory held by this conversation's kept prompt cache (0 if none)."""
        ...

    def prompt_cache_bytes(self) -> int:
        """Memory held by every kept prompt cache (the pool counts it against the budget)."""
        ...

    def drop_prompt_caches(self) -> None:
        """Forget every kept prompt cache (the model stays loaded)."""
        ...


@runtime_checkable
class Embedder(LoadedModel, Protocol):
    """A model that turns texts into L2-normalised vectors."""

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> EmbeddingResult:
        """One unit vector per text, in order; empty input raises ``InputError``."""
        ...
