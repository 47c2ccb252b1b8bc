"""The baseline side of every comparison: the MLX libraries called directly, as a user would.

``RawText`` is ``mlx_lm.load`` + ``mlx_lm.stream_generate``; ``RawEmbed`` is
``mlx_embeddings.load`` + the model's forward pass. They get the same inputs as our side —
the same prompt token ids (the family adapter renders the template once for both), the same
stop tokens, the same greedy sampler, the same batches — so a ratio measures what our layers
add, nothing else. All their MLX calls run on one ``OwnerThread``, as the runner's do on its
own thread (MLX streams are thread-local).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from workbench.core.adapters import adapter_for
from workbench.core.runner.collector import full_collections_deferred
from workbench.core.types import ChatMessage, Family, SamplingSettings

T = TypeVar("T")


class OwnerThread:
    """One thread that runs every call handed to it, in order, and returns the result."""

    def __init__(self, name: str) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return self._executor.submit(fn, *args, **kwargs).result()

    def timed(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[float, T]:
        """``(seconds, result)``, timed on the owner thread (the hand-over not included)."""

        def measured() -> tuple[float, T]:
            started = time.perf_counter()
            result = fn(*args, **kwargs)
            return time.perf_counter() - started, result

        return self.call(measured)

    def close(self) -> None:
        self._executor.shutdown(wait=True)


@dataclass(frozen=True)
class Generation:
    """One streamed reply as timed by its consumer.

    ``first_text_s``: from the call to the first non-empty piece of text; ``end_s``: to the
    end of the stream; ``tokens``: every sampled token (the stop token included).
    """

    text: str
    tokens: int
    first_text_s: float
    end_s: float
    finish_reason: str = ""
    prompt_tokens: int = 0
    cached_prompt_tokens: int = 0

    @property
    def decode_tps(self) -> float:
        """Tokens per second after the first one (the time a reader waits between tokens)."""
        span = self.end_s - self.first_text_s
        return (self.tokens - 1) / span if self.tokens > 1 and span > 0 else 0.0

    def sample(self) -> dict[str, float]:
        return {"ttft_s": self.first_text_s, "decode_tps": self.decode_tps, "tokens": self.tokens}


def release_memory() -> None:
    """Give dropped arrays back, as the pool does after an eviction."""
    import mlx.core as mx

    gc.collect()
    mx.clear_cache()


class RawText:
    """mlx-lm used directly. Call every method on the same ``OwnerThread``."""

    def __init__(self, path: Path, family: Family) -> None:
        self.path = path
        self.adapter = adapter_for(family)
        self.model: Any = None
        self.tokenizer: Any = None

    def load(self) -> float:
        """Load with ``mlx_lm.load``; returns the seconds it took."""
        from mlx_lm import load

        started = time.perf_counter()
        self.model, self.tokenizer = load(str(self.path))
        seconds = time.perf_counter() - started
        self.tokenizer.eos_token_ids = set(self.adapter.stop_token_ids(self.tokenizer))
        return seconds

    def unload(self) -> None:
        self.model = self.tokenizer = None
        release_memory()

    def prompt(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The prompt token ids, rendered by the family adapter (the same ids our side sees)."""
        return self.adapter.prompt_tokens(self.tokenizer, messages)

    def generate(self, messages: Sequence[ChatMessage], sampling: SamplingSettings) -> Generation:
        """Stream a reply with ``mlx_lm.stream_generate`` and time it as it arrives.

        Full garbage collections wait until the reply ends, as they do for a reply through
        the runner: mlx-lm in a process of its own holds few objects, and its full
        collections are short; here one would walk the app's and the pool's objects too
        (25–60 ms on a GPU machine's CPU) and slow the baseline by what it does not own.
        """
        started = time.perf_counter()
        with full_collections_deferred():
            return self._generate(messages, sampling, started)

    def _generate(
        self, messages: Sequence[ChatMessage], sampling: SamplingSettings, started: float
    ) -> Generation:
        import mlx.core as mx
        from mlx_lm import stream_generate
        from mlx_lm.sample_utils import make_sampler

        prompt = self.prompt(messages)
        sampler = make_sampler(sampling.temperature, sampling.top_p if sampling.top_p < 1 else 0.0)
        pieces: list[str] = []
        first = 0.0
        last: Any = None
        for response in stream_generate(
            self.model, self.tokenizer, mx.array(prompt), max_tokens=sampling.max_tokens,
            sampler=sampler,
        ):  # fmt: skip
            if response.text and not first:
                first = time.perf_counter() - started
            pieces.append(response.text)
            last = response
        end = time.perf_counter() - started
        tokens = last.generation_tokens if last is not None else 0
        finish = (last.finish_reason or "") if last is not None else ""
        return Generation("".join(pieces), tokens, first or end, end, finish, len(prompt))


class RawEmbed:
    """mlx-embeddings used directly: tokenizer → model → ``text_embeds``, batch by batch."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.max_length = 512
        self.model: Any = None
        self.tokenizer: Any = None

    def load(self) -> float:
        from mlx_embeddings import load

        from workbench.core.engines.embed import max_length

        started = time.perf_counter()
        self.model, self.tokenizer = load(str(self.path))
        seconds = time.perf_counter() - started
        self.max_length = max_length(self.path, self.tokenizer)  # the limit our engine uses
        return seconds

    def unload(self) -> None:
        self.model = self.tokenizer = None
        release_memory()

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> Any:
        """Unit vectors (an ``(n, d)`` numpy array), in input order.

        Batches are formed from texts sorted by length, as our engine does, so that both
        sides pad the same way and the ratio shows overhead, not batching luck.
        """
        import mlx.core as mx
        import numpy as np

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        rows: list[Any] = [None] * len(texts)
        for start in range(0, len(order), batch_size):
            indices = order[start : start + batch_size]
            encoded = self.tokenizer(
                [texts[i] for i in indices], padding=True, truncation=True,
                max_length=self.max_length, return_tensors="np",
            )  # fmt: skip
            output = self.model(
                mx.array(encoded["input_ids"]), attention_mask=mx.array(encoded["attention_mask"])
            )
            embeds = np.asarray(output.text_embeds.astype(mx.float32))
            for i, row in zip(indices, embeds, strict=True):
                rows[i] = row
        return np.stack(rows)
