"""Sentence embeddings on mlx-embeddings: batches in, unit vectors and token counts out.

Two details decide whether the numbers are right. Batches are padded, so the attention mask
must reach the model or the padding leaks into the mean pooling (0.48 off on MiniLM). And
``text_embeds`` — mean-pooled over real tokens, L2-normalised — is the sentence vector that
sentence-transformers users expect; ``pooler_output`` is not.

MLX and mlx-embeddings are imported inside functions only (they cost seconds to import).
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from workbench.core.errors import InputError, UnusableModelError
from workbench.core.types import EmbeddingResult, ModelInfo

DEFAULT_MAX_LENGTH = 512
NORM_TOLERANCE = 1e-3


def load_embed(info: ModelInfo) -> EmbedEngine:
    """Load ``info.path`` (an MLX / safetensors embedding model folder) with mlx-embeddings."""
    from mlx_embeddings import load

    model, tokenizer = load(str(info.path))
    return EmbedEngine(info, model, tokenizer, max_length(info.path, tokenizer))


def max_length(folder: Path, tokenizer: Any) -> int:
    """Longest input in tokens: sentence-transformers' limit, else the tokenizer's or model's."""
    limits = []
    for name, key in (
        ("sentence_bert_config.json", "max_seq_length"),
        ("config.json", "max_position_embeddings"),
    ):
        try:
            value = json.loads((folder / name).read_text(encoding="utf-8")).get(key)
        except (OSError, ValueError):
            value = None
        if isinstance(value, int) and value > 0:
            limits.append(value)
    model_max = getattr(tokenizer, "model_max_length", None)
    if isinstance(model_max, int) and 0 < model_max < 1_000_000:
        limits.append(model_max)
    return min(limits) if limits else DEFAULT_MAX_LENGTH


def check_texts(texts: Sequence[str]) -> list[str]:
    """The texts as a list, or ``InputError`` naming the first unusable one."""
    if isinstance(texts, str):
        raise InputError("expected a list of texts, got a single string")
    items = list(texts)
    if not items:
        raise InputError("nothing to embed: the list of texts is empty")
    for number, text in enumerate(items, start=1):
        if not isinstance(text, str):
            raise InputError(f"text {number} is not a string ({type(text).__name__})")
        if not text.strip():
            raise InputError(f"text {number} is empty")
    return items


class EmbedEngine:
    """A loaded embedding model. Vectors are L2-normalised, one per input, in input order."""

    def __init__(self, info: ModelInfo, model: Any, tokenizer: Any, max_tokens: int) -> None:
        self.info = info
        self._model = model
        self._tokenizer = tokenizer
        self.max_tokens = max_tokens
        self._takes_token_types = "token_type_ids" in inspect.signature(model.__call__).parameters

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> EmbeddingResult:
        """Embed ``texts``. Inputs longer than ``max_tokens`` are truncated.

        Texts are batched by length (less padding, same result), then put back in order.
        ``token_counts`` are the tokens each text was embedded from, special tokens
        included, padding excluded.
        """
        items = check_texts(texts)
        if batch_size < 1:
            raise InputError(f"batch size must be at least 1 (got {batch_size})")
        self._open()
        order = sorted(range(len(items)), key=lambda i: len(items[i]))
        vectors: list[tuple[float, ...]] = [()] * len(items)
        counts = [0] * len(items)
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            rows, row_counts = self._embed_batch([items[i] for i in indices])
            for i, row, count in zip(indices, rows, row_counts, strict=True):
                vectors[i], counts[i] = row, count
        return EmbeddingResult(
            vectors=tuple(vectors),
            token_counts=tuple(counts),
            model_id=self.info.id,
            dimensions=len(vectors[0]),
        )

    def close(self) -> None:
        """Drop the model and the tokenizer."""
        self._model = None
        self._tokenizer = None

    def _open(self) -> tuple[Any, Any]:
        if self._model is None:
            raise UnusableModelError(f"{self.info.name} was unloaded")
        return self._model, self._tokenizer

    def _embed_batch(self, batch: list[str]) -> tuple[list[tuple[float, ...]], list[int]]:
        import mlx.core as mx
        import numpy as np

        model, tokenizer = self._open()
        encoded = tokenizer(
            batch, padding=True, truncation=True, max_length=self.max_tokens, return_tensors="np"
        )
        mask = np.asarray(encoded["attention_mask"])
        inputs = {
            "input_ids": mx.array(np.asarray(encoded["input_ids"])),
            "attention_mask": mx.array(mask),
        }
        if self._takes_token_types and "token_type_ids" in encoded:
            inputs["token_type_ids"] = mx.array(np.asarray(encoded["token_type_ids"]))
        output = model(**inputs)
        vectors = np.asarray(_sentence_vectors(output, inputs["attention_mask"]), np.float64)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if np.any(np.abs(norms - 1.0) > NORM_TOLERANCE):
            vectors = vectors / np.maximum(norms, 1e-12)
        rows = [tuple(float(x) for x in row) for row in vectors]
        return rows, [int(n) for n in mask.sum(axis=1)]


def _sentence_vectors(output: Any, mask: Any) -> Any:
    """``text_embeds`` when the model provides them, else mask-aware mean pooling."""
    import mlx.core as mx

    embeds = getattr(output, "text_embeds", None)
    if embeds is None:
        hidden = getattr(output, "last_hidden_state", None)
        if hidden is None:
            raise UnusableModelError("the model returns neither text_embeds nor hidden states")
        weights = mask.astype(mx.float32)[..., None]
        embeds = (hidden * weights).sum(axis=1) / mx.maximum(weights.sum(axis=1), 1e-9)
    return embeds.astype(mx.float32)
