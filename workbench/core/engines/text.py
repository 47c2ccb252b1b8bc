"""Text chat on mlx-lm: template in, streamed text out, with per-turn stats and cache reuse.

The engine is deliberately thin: mlx-lm's ``stream_generate`` does the sampling and the
streaming detokenization; this module adds what a chat workbench needs around it — the
family adapter's template and stop tokens, cancellation between tokens, honest stats, and a
prompt cache per conversation so that turn ten does not pay for turns one to nine again.

MLX and mlx-lm are imported inside functions only: importing them costs seconds, and this
module is imported by code that must start fast.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.core.adapters import ChatAdapter, adapter_for
from workbench.core.engines.chat import (
    MAX_SESSIONS,
    ChatEngineBase,
    Step,
    TurnClock,
    check_completion_text,
    relay,
)
from workbench.core.engines.session_cache import SessionCaches
from workbench.core.errors import UnusableModelError
from workbench.core.limits import check_prompt_length, check_sampling, context_length
from workbench.core.models.kinds import images_refused
from workbench.core.types import (
    ChatMessage,
    GenerationChunk,
    ModelInfo,
    SamplingSettings,
    TurnStats,
)

# Prompt tokens per forward pass. Cancellation is checked between passes, so a smaller step
# than mlx-lm's 2048 keeps Esc responsive on long prompts with big models on CPU.
PREFILL_STEP = 512


def load_text(info: ModelInfo) -> TextEngine:
    """Load ``info.path`` (an MLX model folder) with mlx-lm."""
    from mlx_lm import load

    loaded: tuple[Any, ...] = load(str(info.path))
    return TextEngine(info, loaded[0], loaded[1])


def kv_bytes_per_token(model: Any) -> int | None:
    """layers × 2 (keys, values) × kv heads × head dim × bytes per value, from the model's
    config; None unless every cache layer is a plain ``KVCache`` (rotating, quantized and
    state-space caches grow differently) and the config names its attention shape.

    Values take the widest floating dtype among the parameters (activations are promoted
    to it: SmolLM2's fp16 scales with fp32 norms give fp32 keys).
    """
    from mlx.utils import tree_flatten
    from mlx_lm.models.cache import KVCache, make_prompt_cache

    layers = make_prompt_cache(model)
    args = getattr(model, "args", None)
    heads = getattr(args, "num_attention_heads", None)
    if not layers or heads is None or any(type(c) is not KVCache for c in layers):
        return None
    kv_heads = getattr(args, "num_key_value_heads", None) or heads
    head_dim = getattr(args, "head_dim", None) or getattr(args, "hidden_size", 0) // heads
    parameters: Any = tree_flatten(model.parameters())  # (name, array) pairs
    sizes = [int(v.dtype.size) for _, v in parameters if _floating(v.dtype)]
    if not (isinstance(kv_heads, int) and isinstance(head_dim, int) and head_dim and sizes):
        return None  # e.g. a head count per layer
    return len(layers) * 2 * kv_heads * head_dim * max(sizes)


def _floating(dtype: Any) -> bool:
    import mlx.core as mx

    return mx.issubdtype(dtype, mx.floating)


def model_context_length(info: ModelInfo, model: Any) -> int | None:
    """The model's context from its ``config.json``, else from the loaded model's args."""
    import json

    try:
        config = json.loads((info.path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        config = None
    args = getattr(model, "args", None)
    return context_length(config) or context_length(vars(args) if args is not None else None)


class _Cancelled(Exception):
    """Raised from the prompt-progress callback to abandon a long prompt."""


@dataclass
class _Turn:
    """What one generation has done so far; becomes ``TurnStats`` at the end."""

    prompt_tokens: int
    reused: int
    tokens: list[int]  # the prompt's, then each generated one
    clock: TurnClock = field(default_factory=TurnClock)
    last: Any = None  # the latest mlx-lm GenerationResponse
    cache_valid: bool = True

    def record(self, response: Any) -> None:
        self.last = response
        self.tokens.append(int(response.token))

    def stats(self, peak_memory_bytes: int) -> TurnStats:
        count = self.last.generation_tokens if self.last else 0
        return TurnStats(
            prompt_tokens=self.prompt_tokens,
            generation_tokens=count,
            time_to_first_token_s=self.clock.time_to_first_token(count),
            prompt_tps=float(self.last.prompt_tps) if self.last else 0.0,
            generation_tps=self.clock.decode_tps(count),
            peak_memory_bytes=peak_memory_bytes,
            finish_reason=self.clock.finish,
            cached_prompt_tokens=self.reused,
        )


class TextEngine(ChatEngineBase):
    """A loaded mlx-lm model that streams chat replies (a ``ChatEngine``).

    Stats: ``prompt_tokens`` is the whole rendered prompt, ``cached_prompt_tokens`` the part
    reused from the session's cache, and ``prompt_tps`` the speed over the part actually
    processed. ``generation_tokens`` counts every sampled token, the stop token included.
    ``peak_memory_bytes`` is MLX's peak during this turn.
    """

    def __init__(
        self, info: ModelInfo, model: Any, tokenizer: Any, adapter: ChatAdapter | None = None
    ) -> None:
        from mlx_lm.models.cache import can_trim_prompt_cache, trim_prompt_cache

        self.info = info
        self._model = model
        self._tokenizer = tokenizer
        self._adapter = adapter or adapter_for(info.family)
        tokenizer.eos_token_ids = set(self._adapter.stop_token_ids(tokenizer))
        self._caches = SessionCaches(can_trim_prompt_cache, trim_prompt_cache, MAX_SESSIONS)
        self._kv_bytes = kv_bytes_per_token(model)
        self.context_length = model_context_length(info, model)
        self._last_prompt: tuple[Sequence[ChatMessage], list[int]] | None = None

    @property
    def stop_token_ids(self) -> frozenset[int]:
        return frozenset(self._open()[1].eos_token_ids)

    @property
    def tokenizer(self) -> Any:
        """mlx-lm's ``TokenizerWrapper`` (for counting tokens, e.g. in benchmarks)."""
        return self._open()[1]

    @property
    def loaded_model(self) -> Any:
        """mlx-lm's model (``None`` once closed), for the batch generator (``text_batch``)."""
        return self._model

    @property
    def sessions(self) -> SessionCaches:
        """The kept per-conversation prompt caches (a batch takes and returns them too)."""
        return self._caches

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The token ids the model sees for ``messages`` (template applied, reply prompt).

        The runner asks twice per turn (to check the memory a reply may take, then to
        generate) with the same messages object: the last answer is kept for it, so the
        chat template (slow on long conversations) runs once per turn. (Requests carry
        their messages as a tuple; a list could change between two calls.)
        """
        last = self._last_prompt
        if last is not None and last[0] is messages:
            return list(last[1])
        tokens = self._adapter.prompt_tokens(self._open()[1], messages)
        if isinstance(messages, tuple):  # immutable: the same object means the same prompt
            self._last_prompt = (messages, tokens)
        return list(tokens)

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        sampling: SamplingSettings,
        cancel: threading.Event,
        session_id: str | None = None,
    ) -> Iterator[GenerationChunk]:
        """See ``ChatEngine.stream_chat``; input is checked here, before any work."""
        check_sampling(sampling)
        if messages and messages[-1].images:
            raise images_refused(self.info)
        prompt = self.prompt_tokens(messages)
        check_prompt_length(len(prompt), self.context_length, self.info.name)
        return self._generate(prompt, sampling, cancel, session_id)

    def completion_tokens(self, text: str) -> list[int]:
        """The token ids of ``text`` as a raw prompt: no chat template, the tokenizer's own
        special tokens (a BOS where the model expects one)."""
        return list(self._open()[1].encode(text))

    def stream_completion(
        self, text: str, sampling: SamplingSettings, cancel: threading.Event
    ) -> Iterator[GenerationChunk]:
        """Continue ``text`` as is (base models): no template, no session cache; the
        stream is the same as ``stream_chat``'s, ending with a chunk that carries stats."""
        check_completion_text(text, sampling)
        prompt = self.completion_tokens(text)
        return self._generate(prompt, sampling, cancel, None, keep_space=True)

    def prompt_cache_bytes(self) -> int:
        """Memory held by the kept session caches (it grows with conversation length)."""
        return sum(layer.nbytes for cache in self._caches.caches() for layer in cache)

    def kv_bytes_per_token(self) -> int | None:
        """Prompt-cache bytes each token adds (None when the model's cache is not a plain
        key/value cache per layer: then nobody can say ahead how much a turn needs)."""
        return self._kv_bytes

    def session_cache_bytes(self, session_id: str | None) -> int:
        """Memory held by this conversation's kept cache (0 if none)."""
        cache = self._caches.peek(session_id) if session_id else None
        return sum(layer.nbytes for layer in cache) if cache is not None else 0

    def drop_prompt_caches(self) -> None:
        """Forget every session cache (the next turns recompute their prompts)."""
        self._caches.clear()

    def close(self) -> None:
        """Drop the model, the tokenizer and every session cache."""
        self._caches.clear()
        self._model = None
        self._tokenizer = None

    # ------------------------------------------------------------------ internals

    def _open(self) -> tuple[Any, Any]:
        if self._model is None:
            raise UnusableModelError(f"{self.info.name} was unloaded")
        return self._model, self._tokenizer

    def _spaced(self, generated: list[int], text: str) -> str:
        """``text`` (the first piece of a reply) with the leading space the tokenizer's
        own decoding of the reply's tokens has, if the streaming detokenizer dropped it."""
        full = self._open()[1].decode(generated)
        return " " + text if full.startswith(" ") and not text.startswith(" ") else text

    def _take_cache(self, session_id: str | None, prompt: list[int]) -> tuple[Any, int]:
        from mlx_lm.models.cache import make_prompt_cache

        cache, reused = self._caches.take(session_id, prompt) if session_id else (None, 0)
        if cache is None:
            return make_prompt_cache(self._open()[0]), 0
        return cache, reused

    def _responses(
        self,
        prompt: list[int],
        reused: int,
        cache: Any,
        sampling: SamplingSettings,
        cancel: threading.Event,
    ) -> Iterator[Any]:
        import mlx.core as mx
        from mlx_lm import stream_generate
        from mlx_lm.sample_utils import make_sampler

        from workbench.core.engines.sampling import seeded_sampler

        report = self.prompt_progress

        def on_prompt_progress(done: int, total: int) -> None:
            if cancel.is_set():
                raise _Cancelled
            if report is not None:
                report(reused + done, reused + total)

        top_p = sampling.top_p if sampling.top_p < 1 else 0.0
        sampler = make_sampler(sampling.temperature, top_p)
        if sampling.seed is not None and sampling.temperature > 0:  # same reply when batched
            sampler = seeded_sampler(sampling.temperature, top_p, sampling.seed)
        model, tokenizer = self._open()
        return stream_generate(
            model,
            tokenizer,
            mx.array(prompt[reused:]),
            max_tokens=sampling.max_tokens,
            sampler=sampler,
            prompt_cache=cache,
            prompt_progress_callback=on_prompt_progress,
            prefill_step_size=PREFILL_STEP,
        )

    def _generate(
        self,
        prompt: list[int],
        sampling: SamplingSettings,
        cancel: threading.Event,
        session_id: str | None,
        keep_space: bool = False,
    ) -> Iterator[GenerationChunk]:
        """``keep_space``: give the first word back the space mlx-lm's detokenizers trim
        off a reply (a continuation of "is" must read " Paris", not "Paris")."""
        import mlx.core as mx

        clock = TurnClock()
        mx.reset_peak_memory()
        if cancel.is_set():  # cancelled while queued: leave the session's cache untouched
            clock.finish = "cancelled"
            turn = _Turn(len(prompt), 0, [], clock)
            yield GenerationChunk("", stats=turn.stats(int(mx.get_peak_memory())))
            return
        cache, reused = self._take_cache(session_id, prompt)
        turn = _Turn(len(prompt), reused, list(prompt), clock)
        responses = self._responses(prompt, reused, cache, sampling, cancel)
        try:
            yield from relay(self._steps(responses, turn, keep_space), cancel, clock)
        except _Cancelled:
            clock.finish, turn.cache_valid = "cancelled", False
        finally:
            responses.close()  # type: ignore[attr-defined]
        if session_id and turn.cache_valid:
            self._caches.put(session_id, cache, turn.tokens)
        stats = turn.stats(int(mx.get_peak_memory()))
        yield GenerationChunk(clock.tail, stats=stats, generated=stats.generation_tokens)

    def _steps(self, responses: Iterator[Any], turn: _Turn, keep_space: bool) -> Iterator[Step]:
        """mlx-lm's responses as the streaming loop's steps."""
        for response in responses:
            turn.record(response)
            text = response.text
            if keep_space and text:
                generated = turn.tokens[turn.prompt_tokens :]
                keep_space, text = False, self._spaced(generated, text)
            yield Step(text, response.generation_tokens, response.finish_reason)
