"""Several chat replies of one text model at once, on mlx-lm's ``BatchGenerator``.

Decoding one token costs about as much memory traffic for one sequence as for several: the
weights are read once per step either way. So when several clients chat with the same model,
stepping their sequences together gives more tokens per second in total. ``BatchGenerator``
does the batching (padding, merging caches, per-row samplers and stop sequences, admission
of new prompts between steps, removal of any row); this module is what the chat engine adds
around it, per request: the template and its tokens, the session's prompt cache (taken
before, handed back after, also on cancel), a seeded sampler (``engines.sampling``) so a
seed gives the same reply alone or batched, a streaming detokenizer, and ``TurnStats``.

Stats per reply: ``time_to_first_token_s`` from the moment it was admitted, decode speed
from its own token times, ``prompt_tps`` over its new prompt tokens up to its first token
(the batch reads prompts alongside other rows' decode steps, so it is a lower bound), and
``peak_memory_bytes`` is the batch's peak so far (MLX measures the process, not a row).

Used from the owner thread only. MLX streams are per thread, so the generator runs on the
owner thread's default stream, not mlx-lm's import-time one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from workbench.core.engines.chat import TurnClock
from workbench.core.engines.sampling import seeded_sampler
from workbench.core.engines.text import PREFILL_STEP, TextEngine
from workbench.core.limits import check_prompt_length, check_sampling
from workbench.core.models.kinds import images_refused
from workbench.core.types import ChatMessage, SamplingSettings, TurnStats

MAX_ROWS = 8  # sequences decoded together; more wait in the generator's queue


def batchable(engine: object) -> bool:
    """Whether ``engine`` can serve replies together: a loaded mlx-lm text model whose every
    cache layer can be merged into a batch (plain, rotating and state-space caches can;
    quantized and chunked caches cannot)."""
    if not isinstance(engine, TextEngine) or engine.loaded_model is None:
        return False
    from mlx_lm.models.cache import make_prompt_cache

    layers = make_prompt_cache(engine.loaded_model)
    return bool(layers) and all(hasattr(layer, "merge") for layer in layers)


@dataclass
class Row:
    """One reply in the batch, as far as it has come."""

    session_id: str | None
    prompt_tokens: int
    reused: int
    detokenizer: Any
    clock: TurnClock = field(default_factory=TurnClock)
    generated: int = 0
    pieces: list[str] = field(default_factory=list)

    def stats(self, finish: str, peak_memory_bytes: int) -> TurnStats:
        clock = self.clock
        clock.finish = finish
        first = clock.first_token_at
        new_prompt = self.prompt_tokens - self.reused
        prompt_s = (first - clock.started) if first is not None else 0.0
        return TurnStats(
            prompt_tokens=self.prompt_tokens,
            generation_tokens=self.generated,
            time_to_first_token_s=clock.time_to_first_token(self.generated),
            prompt_tps=new_prompt / prompt_s if prompt_s > 0 else 0.0,
            generation_tps=clock.decode_tps(self.generated),
            peak_memory_bytes=peak_memory_bytes,
            finish_reason=finish,
            cached_prompt_tokens=self.reused,
        )


@dataclass(frozen=True)
class Carried:
    """What a reply begun on the single-request path brings to the batch."""

    shown: str  # the text its client has already received
    reused: int  # prompt tokens that came from the session's cache
    clock: TurnClock  # its start and first token


@dataclass(frozen=True)
class Update:
    """What one step did for one row: prompt progress, a piece of text, or its end."""

    uid: int
    text: str = ""
    generated: int = 0
    progress: tuple[int, int] | None = None  # (prompt tokens read, prompt tokens in all)
    stats: TurnStats | None = None  # set when the reply has ended


class TextBatch:
    """A ``BatchGenerator`` over one ``TextEngine``: add replies, step, drop, close."""

    def __init__(self, engine: TextEngine) -> None:
        import mlx.core as mx
        from mlx_lm.generate import BatchGenerator, StopSequences

        model = engine.loaded_model
        if model is None:
            raise ValueError("the model was unloaded")
        self._engine = engine
        self._tokenizer = engine.tokenizer
        stops = [[t] for t in sorted(self._tokenizer.eos_token_ids)]
        self._stops = StopSequences(stops)
        mx.reset_peak_memory()
        self._generator: Any = BatchGenerator(
            model,
            stop_tokens=stops,
            completion_batch_size=MAX_ROWS,
            prefill_batch_size=MAX_ROWS,
            prefill_step_size=PREFILL_STEP,
            stream=mx.default_stream(mx.default_device()),
        )
        self.rows: dict[int, Row] = {}

    def prompt(self, messages: tuple[ChatMessage, ...], sampling: SamplingSettings) -> list[int]:
        """The prompt's token ids; bad input raises ``WorkbenchError`` (nothing is queued)."""
        engine = self._engine
        check_sampling(sampling)
        if messages and messages[-1].images:
            raise images_refused(engine.info)
        prompt = engine.prompt_tokens(messages)
        check_prompt_length(len(prompt), engine.context_length, engine.info.name)
        return prompt

    def add(self, prompt: list[int], sampling: SamplingSettings, session_id: str | None) -> int:
        """Queue one reply to ``prompt`` (read and decoded from the next step on); returns
        its row id. The session's kept cache, if it shares a prefix, saves reading it."""
        cache, reused = (None, 0)
        if session_id:
            cache, reused = self._engine.sessions.take(session_id, prompt)
        uids: list[int] = self._generator.insert(
            [prompt[reused:]],
            max_tokens=[sampling.max_tokens],
            caches=[cache] if cache is not None else None,
            all_tokens=[prompt[:reused]],
            samplers=[_sampler(sampling)],
            stop_sequences=[self._stops],
        )
        self.rows[uids[0]] = Row(session_id, len(prompt), reused, self._tokenizer.detokenizer)
        return uids[0]

    def resume(
        self, session_id: str, prompt_tokens: int, sampling: SamplingSettings, carried: Carried
    ) -> tuple[int, str]:
        """Carry on a reply the single-request path left between tokens: its cache (kept
        under ``session_id``, holding the prompt and every token so far) joins the batch.

        Returns the row id and the text its tokens make that was not shown yet (a
        streaming detokenizer may hold a piece back until the next token).
        """
        sessions = self._engine.sessions
        tokens = sessions.tokens(session_id)
        if tokens is None or len(tokens) <= prompt_tokens:
            raise ValueError("the reply's cache was not kept")
        cache, reused = sessions.take(session_id, tokens)  # all but the last token
        if cache is None:
            raise ValueError("the reply's cache cannot be reused")
        generated = len(tokens) - prompt_tokens
        uids: list[int] = self._generator.insert(
            [tokens[reused:]],
            max_tokens=[sampling.max_tokens - generated],
            caches=[cache],
            all_tokens=[tokens[:reused]],
            samplers=[_sampler(sampling)],
            stop_sequences=[self._stops],
        )
        detokenizer = self._tokenizer.detokenizer
        for token in tokens[prompt_tokens:]:
            detokenizer.add_token(token)
        held = detokenizer.last_segment[len(carried.shown) :]
        row = Row(session_id, prompt_tokens, carried.reused, detokenizer, carried.clock)
        row.generated = generated
        self.rows[uids[0]] = row
        return uids[0], held

    def step(self) -> list[Update]:
        """One decode step of every reply (and one chunk of any prompt being read)."""
        prompts, tokens = self._generator.next()
        updates = []
        for response in prompts:
            row = self.rows.get(response.uid)
            if row is not None:
                done, total = response.progress
                progress = (row.reused + done, row.reused + total)
                updates.append(Update(response.uid, progress=progress))
        for response in tokens:
            if response.uid in self.rows:
                updates.append(self._token(response))
        return updates

    def drop(self, uid: int) -> Update:
        """End a reply early (cancelled): out of the batch, its cache back to its session."""
        row = self.rows.pop(uid)
        kept = self._generator.remove([uid], return_prompt_caches=True).get(uid)
        if row.session_id and kept is not None:
            cache, tokens = kept
            if cache is not None and len(tokens):
                self._engine.sessions.put(row.session_id, cache, list(tokens))
        row.detokenizer.finalize()
        return Update(uid, row.detokenizer.last_segment, row.generated, stats=self._end(row))

    def close(self) -> None:
        """Give the generator's memory back (rows still in it are abandoned)."""
        self.rows.clear()
        self._generator.close()

    def _token(self, response: Any) -> Update:
        row = self.rows[response.uid]
        row.clock.tick()
        row.generated += 1
        finish = response.finish_reason
        detokenizer = row.detokenizer
        if finish != "stop":  # a stop token is counted, never shown
            detokenizer.add_token(int(response.token))
        if finish is None:
            return Update(response.uid, detokenizer.last_segment, row.generated)
        detokenizer.finalize()
        del self.rows[response.uid]
        if row.session_id and response.prompt_cache is not None:
            self._engine.sessions.put(row.session_id, response.prompt_cache, response.all_tokens)
        stats = self._end(row, finish)
        return Update(response.uid, detokenizer.last_segment, row.generated, stats=stats)

    @staticmethod
    def _end(row: Row, finish: str = "cancelled") -> TurnStats:
        import mlx.core as mx

        return row.stats(finish, int(mx.get_peak_memory()))


def _sampler(sampling: SamplingSettings) -> Any:
    """``None`` (the generator's greedy sampler, one call for all greedy rows) at
    temperature 0; else a sampler of its own, seeded by the request or at random."""
    if sampling.temperature == 0:
        return None
    top_p = sampling.top_p if sampling.top_p < 1 else 0.0
    seed = sampling.seed if sampling.seed is not None else secrets.randbits(32)
    return seeded_sampler(sampling.temperature, top_p, seed)
