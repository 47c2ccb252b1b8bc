"""Plain data shared by every layer: model descriptions, chat turns, sampling, stats.

These are frozen dataclasses with no behaviour so that the runner thread can hand them to
the UI thread without copies or locks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workbench.core.cluster.placement import ClusterPlacement


class ModelKind(StrEnum):
    """What a model does, which decides the engine that loads it."""

    TEXT = "text"
    VISION = "vision"
    EMBEDDINGS = "embeddings"


class Family(StrEnum):
    """Model family, which decides stop tokens and chat-template quirks."""

    LLAMA = "llama"
    QWEN = "qwen"
    MISTRAL = "mistral"
    GEMMA = "gemma"
    OTHER = "other"


@dataclass(frozen=True)
class ModelInfo:
    """One model the catalog knows about.

    ``id`` is stable across runs (source + path based); ``name`` is the short display name.
    ``gguf_source`` is set for models that exist only as a GGUF file so far: the engine
    imports it (once, cached) before loading. ``problem`` is set when ``usable`` is False.
    ``tuning`` says whether the model is a base or an instruct (chat) model, when known.
    """

    id: str
    name: str
    path: Path
    kind: ModelKind
    family: Family
    source: str  # "hf-cache" | "lmstudio" | "folder" | "demo" | "imported" | "path"
    quantization: str | None = None
    estimated_bytes: int = 0
    usable: bool = True
    problem: str | None = None
    gguf_source: Path | None = None
    size_method: str = ""  # how estimated_bytes was found (see core.estimate)
    tuning: str = ""  # "base" | "instruct" where the model says so (see core.tuning), else ""
    cluster: ClusterPlacement | None = None  # set when sharded over a cluster's hosts

    @property
    def is_base(self) -> bool:
        """A base (pretrained) model: it continues text rather than answering a chat."""
        return self.tuning == "base"


@dataclass(frozen=True)
class SamplingSettings:
    """How to sample a reply. ``temperature == 0`` means greedy."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 512
    seed: int | None = None


@dataclass(frozen=True)
class ChatMessage:
    """One chat turn. ``images`` are paths to already-normalised image files."""

    role: str  # "system" | "user" | "assistant"
    content: str
    images: tuple[str, ...] = ()


@dataclass(frozen=True)
class TurnStats:
    """What one generation cost, as a user would want to see it."""

    prompt_tokens: int
    generation_tokens: int
    time_to_first_token_s: float
    prompt_tps: float
    generation_tps: float
    peak_memory_bytes: int
    finish_reason: str  # "stop" | "length" | "cancelled"
    cached_prompt_tokens: int = 0


@dataclass(frozen=True)
class GenerationChunk:
    """A piece of streamed text; the last chunk of a stream carries ``stats``."""

    text: str
    stats: TurnStats | None = None
    generated: int = 0  # tokens sampled so far in this turn (0 when the engine cannot say)


@dataclass(frozen=True)
class EmbeddingResult:
    """L2-normalised embeddings (one row per input) and per-input token counts."""

    vectors: tuple[tuple[float, ...], ...]
    token_counts: tuple[int, ...]
    model_id: str = ""
    dimensions: int = field(default=0)
