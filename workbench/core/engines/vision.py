"""Vision chat on mlx-vlm: text and pictures in, streamed text out, with per-turn stats.

The engine is thin on purpose: mlx-vlm's processor turns pictures into pixel values and
image tokens, its ``stream_generate`` samples and detokenizes. What this module adds is
what a chat workbench needs around it — conversation turns with their pictures in place
(each image marker stays in the user message it was attached to), the family's stop tokens,
cancellation between tokens, honest stats, a prompt cache per conversation — and one fix
for a bug between mlx-vlm 0.7.10 and transformers 5 (see ``accept_tokenizer_kwargs``).

Attachments arrive as paths to images already prepared by ``workbench.core.images.prepare``; they
are opened (and checked) when the turn is submitted, so a missing file is an error before
any work. MLX and mlx-vlm are imported inside functions only: importing them costs seconds.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from workbench.core.adapters import ChatAdapter, adapter_for
from workbench.core.adapters.base import to_dicts
from workbench.core.engines.chat import (
    MAX_SESSIONS,
    ChatEngineBase,
    Step,
    TurnClock,
    check_completion_text,
    relay,
)
from workbench.core.engines.session_cache import RecentSessions
from workbench.core.engines.text import model_context_length
from workbench.core.errors import InputError, UnusableModelError, one_line
from workbench.core.images.prepare import load_image_file
from workbench.core.limits import check_prompt_length, check_sampling
from workbench.core.types import (
    ChatMessage,
    GenerationChunk,
    ModelInfo,
    SamplingSettings,
    TurnStats,
)

Progress = Callable[[str], None]
# Tokenizer options that mlx-vlm's processors may pass on to the image processor too.
TEXT_ONLY_KWARGS = ("padding", "padding_side", "truncation", "max_length", "add_special_tokens")


def load_vision(info: ModelInfo, progress: Progress | None = None) -> VisionEngine:
    """Load ``info.path`` (an MLX vision model folder) with mlx-vlm. Owner thread only."""
    report = progress or (lambda _message: None)
    report("loading vision model…")
    from mlx_vlm.utils import load

    model, processor = load(str(info.path))
    accept_tokenizer_kwargs(processor)
    return VisionEngine(info, model, processor)


def accept_tokenizer_kwargs(processor: Any) -> bool:
    """Stop tokenizer-only options from reaching this processor's image processor.

    mlx-vlm 0.7.10's ``prepare_inputs`` calls the processor with ``padding=True``, and its
    ``LlavaProcessor.__call__`` forwards all keyword arguments to the image processor as
    well as to the tokenizer. Transformers 5 image processors validate their keywords
    against a typed dict (``valid_kwargs``) and raise ``TypeError: ... unexpected keyword
    argument 'padding'``, so no LLaVA image can be processed at all. The image processor's
    ``__call__`` delegates to ``self.preprocess``, so this wraps ``preprocess`` on *this
    instance only* (no class or library is patched) to drop the tokenizer options it does
    not declare. Returns True when the wrapper was installed.
    """
    image_processor = getattr(processor, "image_processor", None)
    preprocess = getattr(image_processor, "preprocess", None)
    declared = getattr(getattr(image_processor, "valid_kwargs", None), "__annotations__", None)
    if preprocess is None or declared is None:
        return False  # not a validating transformers image processor: nothing to fix
    dropped = tuple(name for name in TEXT_ONLY_KWARGS if name not in declared)
    if not dropped:
        return False

    @functools.wraps(preprocess)
    def preprocess_images(images: Any, *args: Any, **kwargs: Any) -> Any:
        for name in dropped:
            kwargs.pop(name, None)
        return preprocess(images, *args, **kwargs)

    assert image_processor is not None  # it has a ``preprocess``
    image_processor.preprocess = preprocess_images
    return True


def vlm_messages(messages: Sequence[ChatMessage]) -> tuple[list[dict[str, Any]], list[str]]:
    """The conversation as mlx-vlm chat messages, and every image path in prompt order.

    A user turn with pictures gets list content: one ``{"type": "image"}`` per picture, then
    its text. Pictures on system or assistant turns are refused: no template places them.
    """
    to_dicts(messages)  # roles known, not empty, has a user turn
    converted: list[dict[str, Any]] = []
    paths: list[str] = []
    for message in messages:
        if message.images and message.role != "user":
            raise InputError(f"images can only be attached to user messages, not {message.role}")
        if not message.images:
            converted.append({"role": message.role, "content": message.content})
            continue
        parts: list[dict[str, Any]] = [{"type": "image"} for _ in message.images]
        if message.content:
            parts.append({"type": "text", "text": message.content})
        converted.append({"role": "user", "content": parts})
        paths.extend(message.images)
    return converted, paths


def fold_system(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """System text moved into the first user turn, for templates without a system role."""
    system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
    rest = [dict(m) for m in messages if m["role"] != "system"]
    if not system:
        return rest
    first = rest[0] if rest and rest[0]["role"] == "user" else None
    if first is None:
        return [{"role": "user", "content": system}, *rest]
    if isinstance(first["content"], str):
        first["content"] = f"{system}\n\n{first['content']}"
    else:
        first["content"] = [{"type": "text", "text": f"{system}\n\n"}, *first["content"]]
    return rest


class _StopTokenView:
    """What the family adapter reads to find stop tokens, with ``eos_token_ids`` a list.

    Transformers 5 tokenizers answer ``eos_token_ids`` with a single int; mlx-vlm's stopping
    criteria hold the model's real list (from its config), which is the one to extend.
    """

    def __init__(self, tokenizer: Any, eos_token_ids: Sequence[int]) -> None:
        self._tokenizer = tokenizer
        self.eos_token_ids = list(eos_token_ids)
        self.eos_token_id = getattr(tokenizer, "eos_token_id", None)
        self.chat_template = getattr(tokenizer, "chat_template", None)

    def get_vocab(self) -> dict[str, int]:
        return dict(self._tokenizer.get_vocab())

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return list(self._tokenizer.encode(text, add_special_tokens=add_special_tokens))

    def apply_chat_template(self, conversation: Any, **kwargs: Any) -> Any:
        return self._tokenizer.apply_chat_template(conversation, **kwargs)


@dataclass
class _Turn:
    """What one generation has done so far; becomes ``TurnStats`` at the end."""

    clock: TurnClock = field(default_factory=TurnClock)
    last: Any = None  # the latest mlx-vlm GenerationResult

    def stats(self, peak_memory_bytes: int) -> TurnStats:
        last = self.last
        prompt = int(last.prompt_tokens) if last else 0
        cached = int(last.cached_tokens) if last else 0
        generated = int(last.generation_tokens) if last else 0
        # mlx-vlm's prompt_tps divides the whole prompt, reused part included, by the time
        # spent; report the speed over the part actually processed, as the text engine does.
        processed_tps = float(last.prompt_tps) * (prompt - cached) / prompt if prompt else 0.0
        return TurnStats(
            prompt_tokens=prompt,
            generation_tokens=generated,
            time_to_first_token_s=self.clock.time_to_first_token(generated),
            prompt_tps=processed_tps,
            generation_tps=float(last.generation_tps) if last else 0.0,
            peak_memory_bytes=peak_memory_bytes,
            finish_reason=self.clock.finish,
            cached_prompt_tokens=cached,
        )


class VisionEngine(ChatEngineBase):
    """A loaded mlx-vlm model that streams chat replies about pictures (or plain text).

    A ``ChatEngine`` that cannot say ahead how big its cache grows (``kv_bytes_per_token``
    is ``None``, so its caches are counted after each turn) and reports no prompt progress.

    Stats: ``prompt_tokens`` is the whole prompt *including the image tokens* the processor
    expanded each picture into; ``cached_prompt_tokens`` the part reused from the
    conversation's previous turn (reuse only happens when the new part is text);
    ``generation_tokens`` counts every sampled token, the stop token included.
    """

    def __init__(
        self, info: ModelInfo, model: Any, processor: Any, adapter: ChatAdapter | None = None
    ) -> None:
        self.info = info
        self._model = model
        self._processor = processor
        self._adapter = adapter or adapter_for(info.family)
        self._sessions: RecentSessions[Any] = RecentSessions(MAX_SESSIONS)  # PromptCacheState
        self.context_length = model_context_length(info, getattr(model, "language_model", model))
        tokenizer = getattr(processor, "tokenizer", processor)
        criteria = getattr(tokenizer, "stopping_criteria", None)
        if criteria is not None:
            view = _StopTokenView(tokenizer, criteria.eos_token_ids)
            criteria.add_eos_token_ids(sorted(self._adapter.stop_token_ids(view)))

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        sampling: SamplingSettings,
        cancel: threading.Event,
        session_id: str | None = None,
    ) -> Iterator[GenerationChunk]:
        """See ``ChatEngine.stream_chat``; input and images are checked here, before work."""
        check_sampling(sampling)
        converted, paths = vlm_messages(messages)
        images = [load_image_file(path) for path in paths]
        prompt = self.render(converted, len(images))
        check_prompt_length(
            self.prompt_token_floor(prompt, len(images)), self.context_length, self.info.name
        )
        return self._generate(prompt, images, sampling, cancel, session_id)

    def prompt_token_floor(self, prompt: str, num_images: int) -> int:
        """Tokens the prompt takes at least: its text, plus what the processor says each
        image expands to (when it says; else the image counts as its one marker token)."""
        _model, processor = self._open()
        tokenizer = getattr(processor, "tokenizer", processor)
        per_image = getattr(processor, "image_seq_length", None) or getattr(
            processor, "num_image_tokens", None
        )
        extra = (int(per_image) - 1) * num_images if isinstance(per_image, int) else 0
        return len(tokenizer.encode(prompt, add_special_tokens=False)) + max(extra, 0)

    def stream_completion(
        self, text: str, sampling: SamplingSettings, cancel: threading.Event
    ) -> Iterator[GenerationChunk]:
        """Continue ``text`` as is: no chat template, no images, no conversation cache."""
        check_completion_text(text, sampling)
        return self._generate(text, [], sampling, cancel, None)

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The prompt's text tokens (each image counts as its marker only)."""
        converted, paths = vlm_messages(messages)
        return self.completion_tokens(self.render(converted, len(paths)))

    def completion_tokens(self, text: str) -> list[int]:
        _model, processor = self._open()
        tokenizer = getattr(processor, "tokenizer", processor)
        return list(tokenizer.encode(text, add_special_tokens=False))

    def render(self, messages: list[dict[str, Any]], num_images: int) -> str:
        """The prompt text, image markers included, through the model's chat template."""
        if not self._adapter.system_role:
            messages = fold_system(messages)
        try:
            return self._template(messages, num_images)
        except InputError:
            if not any(m["role"] == "system" for m in messages):
                raise
        return self._template(fold_system(messages), num_images)  # template has no system

    def prompt_cache_bytes(self) -> int:
        """Memory held by the kept conversation caches (it grows with conversation length)."""
        if not self._sessions:
            return 0
        from mlx_vlm.models.cache import cache_nbytes

        return int(cache_nbytes([state.cache for state in self._sessions.items()]))

    def drop_prompt_caches(self) -> None:
        """Forget every conversation cache (the next turns recompute their prompts)."""
        self._sessions.clear()

    def close(self) -> None:
        """Drop the model, the processor and every conversation cache."""
        self._sessions.clear()
        self._model = None
        self._processor = None

    # ------------------------------------------------------------------ internals

    def _open(self) -> tuple[Any, Any]:
        if self._model is None:
            raise UnusableModelError(f"{self.info.name} was unloaded")
        return self._model, self._processor

    def _template(self, messages: list[dict[str, Any]], num_images: int) -> str:
        from mlx_vlm.prompt_utils import apply_chat_template

        model, processor = self._open()
        try:
            prompt = apply_chat_template(processor, model.config, messages, num_images=num_images)
        except Exception as exc:  # templates and formatters fail with any exception type
            reason = one_line(exc)
            raise InputError(f"{self.info.name} cannot take this conversation: {reason}") from exc
        return str(prompt)

    def _session_state(self, session_id: str | None) -> Any:
        from mlx_vlm.generate import PromptCacheState

        if session_id is None:
            return None
        new_state: Callable[[], Any] = PromptCacheState
        state = self._sessions.pop(session_id) or new_state()
        self._sessions.put(session_id, state)
        return state

    def _responses(
        self, prompt: str, images: list[Any], sampling: SamplingSettings, state: Any
    ) -> Iterator[Any]:
        import mlx.core as mx
        from mlx_vlm.generate import stream_generate

        if sampling.seed is not None:
            mx.random.seed(sampling.seed)
        model, processor = self._open()
        return stream_generate(
            model,
            processor,
            prompt,
            image=images or None,
            max_tokens=sampling.max_tokens,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            top_k=0,  # ours, not the checkpoint's generation_config default
            prompt_cache_state=state,
        )

    def _generate(
        self, prompt: str, images: list[Any], sampling: SamplingSettings,
        cancel: threading.Event, session_id: str | None,
    ) -> Iterator[GenerationChunk]:  # fmt: skip
        import mlx.core as mx

        turn = _Turn()
        mx.reset_peak_memory()
        if cancel.is_set():
            turn.clock.finish = "cancelled"
            yield GenerationChunk("", stats=turn.stats(int(mx.get_peak_memory())))
            return
        state = self._session_state(session_id)
        responses = self._responses(prompt, images, sampling, state)
        finished = False
        try:
            yield from relay(_steps(responses, turn), cancel, turn.clock)
            if turn.clock.finish != "cancelled":
                for response in responses:  # mlx-vlm stores the conversation's cache at its end
                    turn.last = response
                finished = True
        finally:
            responses.close()  # type: ignore[attr-defined]
            if session_id is not None and not finished:
                # A cut-short turn leaves the cache holding tokens its record does not list.
                self._sessions.pop(session_id)
        yield GenerationChunk(turn.clock.tail, stats=turn.stats(int(mx.get_peak_memory())))


VisionModel = VisionEngine  # the name it had before the engines were named alike


def _steps(responses: Iterator[Any], turn: _Turn) -> Iterator[Step]:
    """mlx-vlm's results as the streaming loop's steps."""
    for response in responses:
        turn.last = response
        yield Step(response.text, finish=response.finish_reason)
