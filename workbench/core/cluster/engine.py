"""A model sharded over a cluster, as one chat engine in the pool.

The pool sees an ordinary text engine: ``stream_chat`` yields ``GenerationChunk``s and a
final one with ``TurnStats``; ``close`` (eviction) stops every rank. Here the chat template
and stop tokens are applied exactly as for a local model (the family adapter over the same
tokenizer, loaded in this process without weights), the token ids go to rank 0, and the
ranks — ``mlx.launch`` + mlx-lm's ``sharded_load``, see ``worker`` — generate in lockstep
and stream the detokenized text back. Sampling always carries a seed (chosen here when the
user gave none), so every rank samples the same token.

A rank that dies mid-reply ends the reply with ``ClusterDown`` naming the rank; the whole
group is stopped at once (no orphans, ports freed) and the next request starts a new one.
A group found dead before rank 0 answered anything (a rank that died between two replies,
seen only once the request was sent) is replaced and the request sent again, once.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from workbench.core.adapters import adapter_for
from workbench.core.cluster.config import ClusterConfig
from workbench.core.cluster.launcher import RankGroup, RankInfo
from workbench.core.engines.chat import ChatEngineBase, Step, TurnClock, relay
from workbench.core.errors import ClusterDown, InputError, UnusableModelError
from workbench.core.limits import check_sampling
from workbench.core.models.kinds import images_refused
from workbench.core.types import (
    ChatMessage,
    GenerationChunk,
    ModelInfo,
    SamplingSettings,
    TurnStats,
)

GroupFactory = Callable[[], RankGroup]


def load_cluster(info: ModelInfo, progress: Callable[[str], None] | None = None) -> ClusterEngine:
    """Start the ranks of ``info`` (a cluster entry: ``info.cluster`` is set) and return the
    engine that talks to rank 0. The tokenizer loads here as ``mlx_lm.load`` loads it."""
    from mlx_lm.tokenizer_utils import load as load_tokenizer

    report = progress or (lambda _message: None)
    assert info.cluster is not None, "not a cluster entry"
    cluster: ClusterConfig = info.cluster.config
    config = json.loads((info.path / "config.json").read_text(encoding="utf-8"))
    tokenizer = load_tokenizer(info.path, eos_token_ids=config.get("eos_token_id"))
    engine = ClusterEngine(info, tokenizer, lambda: RankGroup(cluster, info.path))
    report(f"starting {cluster.ranks} ranks on {', '.join(h.ssh for h in cluster.hosts)}…")
    engine.start()
    return engine


class ClusterEngine(ChatEngineBase):
    """Chat with a sharded model through its rank group (see the module docstring).

    A ``ChatEngine`` without raw completion, prompt progress or kept caches: the ranks
    hold the model and its cache."""

    def __init__(self, info: ModelInfo, tokenizer: Any, make_group: GroupFactory) -> None:
        self.info = info
        self._tokenizer = tokenizer
        self._adapter = adapter_for(info.family)
        tokenizer.eos_token_ids = set(self._adapter.stop_token_ids(tokenizer))
        self._make_group = make_group
        self._group: RankGroup | None = None
        self._lock = threading.Lock()
        self._closed = False

    @property
    def ranks(self) -> tuple[RankInfo, ...]:
        """The running ranks (empty while the group is down)."""
        group = self._group
        return tuple(group.ranks) if group is not None and group.running() else ()

    @property
    def measured_bytes(self) -> int | None:
        """What this machine's ranks hold (MLX's active memory in each after loading): the
        pool records it as the entry's measured size. None while the group is down."""
        ranks = self.ranks
        hosts = self._group.cluster.hosts if self._group is not None else ()
        local = [r.active_bytes for r in ranks if r.rank < len(hosts) and hosts[r.rank].local]
        return sum(local) if ranks else None

    @property
    def stop_token_ids(self) -> frozenset[int]:
        return frozenset(self._tokenizer.eos_token_ids)

    @property
    def tokenizer(self) -> Any:
        return self._tokenizer

    def start(self) -> None:
        """Launch the ranks unless they run (after a rank died, this starts new ones)."""
        with self._lock:
            if self._closed:
                raise UnusableModelError(f"{self.info.name} was unloaded")
            if self._group is not None and self._group.running():
                return
            self._stop_group()
            group = self._make_group()
            group.start()  # stops what it started if it fails
            self._group = group

    def _running_group(self) -> RankGroup:
        self.start()
        group = self._group
        assert group is not None
        return group

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        return self._adapter.prompt_tokens(self._tokenizer, messages)

    def completion_tokens(self, text: str) -> list[int]:
        return list(self._tokenizer.encode(text))

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        sampling: SamplingSettings,
        cancel: threading.Event,
        session_id: str | None = None,
    ) -> Iterator[GenerationChunk]:
        """Like ``TextEngine.stream_chat``; input is checked before any rank is asked."""
        check_sampling(sampling)
        if messages and messages[-1].images:
            raise images_refused(self.info)
        prompt = self.prompt_tokens(messages)
        return self._generate(prompt, sampling, cancel)

    def stream_completion(
        self, text: str, sampling: SamplingSettings, cancel: threading.Event
    ) -> Iterator[GenerationChunk]:
        """Continue ``text`` as is, like ``TextEngine.stream_completion`` (rank 0 gives the
        first word back its leading space, as the one-process engine does)."""
        check_sampling(sampling)
        if not text:
            raise InputError("nothing to complete: the prompt is empty")
        return self._generate(self.completion_tokens(text), sampling, cancel, keep_space=True)

    def close(self) -> None:
        """Stop every rank (eviction); the engine cannot be used afterwards."""
        with self._lock:
            self._closed = True
            self._stop_group()

    # ------------------------------------------------------------------ internals

    def _stop_group(self) -> None:
        group, self._group = self._group, None
        if group is not None:
            group.stop()

    def _request(
        self, prompt: list[int], sampling: SamplingSettings, keep_space: bool = False
    ) -> dict[str, Any]:
        seed = sampling.seed if sampling.seed is not None else random.randrange(2**31)
        return {
            "keep_space": keep_space,
            "type": "generate",
            "prompt": prompt,
            "max_tokens": sampling.max_tokens,
            "temperature": sampling.temperature,
            "top_p": sampling.top_p,
            "seed": seed,
            "stop": sorted(self._tokenizer.eos_token_ids),
        }

    def _generate(
        self,
        prompt: list[int],
        sampling: SamplingSettings,
        cancel: threading.Event,
        keep_space: bool = False,
    ) -> Iterator[GenerationChunk]:
        clock = TurnClock()
        if cancel.is_set():
            clock.finish = "cancelled"
            yield GenerationChunk("", stats=_stats(len(prompt), clock, {}))
            return
        done: dict[str, Any] = {}
        for attempt in (1, 2):
            group = self._running_group()  # a group that fails to start is not tried again
            try:
                group.send(self._request(prompt, sampling, keep_space))
                yield from relay(_steps(group, cancel, done), cancel, clock, stop_on_cancel=False)
                break
            except ClusterDown as exc:
                with self._lock:
                    self._stop_group()
                if attempt == 2 or clock.first_token_at is not None or cancel.is_set():
                    raise ClusterDown(
                        f"{exc}; every rank was stopped, the next request starts them again"
                    ) from exc
                # nothing came back yet: the group died before this request reached it (a
                # remote rank's death is only seen now), so new ranks answer it, once
        yield GenerationChunk(clock.tail, stats=_stats(len(prompt), clock, done))


def _steps(group: RankGroup, cancel: threading.Event, done: dict[str, Any]) -> Iterator[Step]:
    """Rank 0's messages as the streaming loop's steps; a cancel is passed on to the ranks
    once (they stop at their next step and report how the turn ended)."""
    asked_to_stop = False
    while True:
        if cancel.is_set() and not asked_to_stop:
            group.send({"type": "cancel"})
            asked_to_stop = True
        message = group.poll()
        if message is None:
            continue
        if message.get("type") == "token":
            yield Step(str(message["text"]))
        elif message.get("type") == "done":
            done.update(message)
            yield Step(str(message.get("tail", "")), finish=str(message.get("finish", "stop")))
            return


def _stats(prompt_tokens: int, clock: TurnClock, done: dict[str, Any]) -> TurnStats:
    """Stats as every chat engine reports them: decode speed after the first token."""
    count = int(done.get("generation_tokens", 0))
    return TurnStats(
        prompt_tokens=prompt_tokens,
        generation_tokens=count,
        time_to_first_token_s=clock.time_to_first_token(count),
        prompt_tps=float(done.get("prompt_tps", 0.0)),
        generation_tps=clock.decode_tps(count),
        peak_memory_bytes=int(done.get("peak_bytes", 0)),
        finish_reason=clock.finish,
    )
