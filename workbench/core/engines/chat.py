"""What every chat engine shares: honest defaults, the turn's clock, and one streaming loop.

``TextEngine`` (mlx-lm), ``VisionEngine`` (mlx-vlm) and ``ClusterEngine`` (ranks over
``mlx.launch``) differ in how tokens are made, not in what a turn is: input checked before
any work, a stream of text pieces that stops between tokens when cancelled, a last chunk
with the turn's stats (time to first token; decode speed measured after the first token so
prompt time stays out of it), and at most ``MAX_SESSIONS`` conversations' caches kept. That
part lives here once. ``ChatEngineBase`` also answers the parts of the ``ChatEngine``
protocol an engine cannot (no cache estimate, no raw completion) with ``None``, zero or a
clear error, so the runner never has to probe an engine for what it can do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from workbench.core.engines.base import ProgressReport
from workbench.core.errors import InputError, WrongModelKindError
from workbench.core.limits import check_sampling
from workbench.core.types import ChatMessage, GenerationChunk, ModelInfo, SamplingSettings

MAX_SESSIONS = 4  # conversations whose prompt caches an engine keeps (least recent go first)


class ChatEngineBase:
    """Defaults for a ``ChatEngine`` that cannot do everything: subclasses override what
    they can."""

    info: ModelInfo
    context_length: int | None = None
    prompt_progress: ProgressReport | None = None  # engines that can tell call it

    def stream_completion(
        self, text: str, sampling: SamplingSettings, cancel: threading.Event
    ) -> Iterator[GenerationChunk]:
        raise WrongModelKindError(f"{self.info.name} cannot do raw completion")

    def prompt_tokens(self, messages: Sequence[ChatMessage]) -> list[int]:
        raise WrongModelKindError(f"{self.info.name} cannot count its prompt's tokens")

    def completion_tokens(self, text: str) -> list[int]:
        raise WrongModelKindError(f"{self.info.name} cannot do raw completion")

    def kv_bytes_per_token(self) -> int | None:
        return None  # nobody can say ahead how much a turn's cache needs

    def session_cache_bytes(self, session_id: str | None) -> int:
        return 0

    def prompt_cache_bytes(self) -> int:
        return 0

    def drop_prompt_caches(self) -> None:
        return None


HAND_OVER_S = 0.0005  # how long the generating thread lets go of the GIL after a first token


def let_the_reader_take_it() -> None:
    """Called on the generating thread once a reply's first token has been handed on: let
    the GIL go for a moment, so that the thread reading the reply (the app's, the server's,
    the CLI's) takes the token now.

    Otherwise it takes it a whole step later. When resumed after its first token, mlx-lm's
    ``generate_step`` empties MLX's buffer cache (``mx.clear_cache``), a call that keeps
    the GIL while the step already in flight completes: a reader woken by the token could
    not run until then (on our CPU machines 3–4 ms, a step; the step runs on the device
    meanwhile, so the pause costs the reply nothing). mlx-vlm's generator does the same. A
    cluster's ranks generate in other processes; there the pause is half a millisecond once
    per reply."""
    time.sleep(HAND_OVER_S)


def check_completion_text(text: str, sampling: SamplingSettings) -> None:
    """A raw completion's input, checked before any work."""
    check_sampling(sampling)
    if not text:
        raise InputError("nothing to complete: the prompt is empty")


@dataclass
class TurnClock:
    """When a turn started, when its first and latest tokens came, and how it ended."""

    started: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    last_token_at: float | None = None
    finish: str = "stop"
    tail: str = ""  # the text that came with the finishing step

    def tick(self) -> None:
        """A token arrived now."""
        now = time.perf_counter()
        if self.first_token_at is None:
            self.first_token_at = now
        self.last_token_at = now

    def time_to_first_token(self, generated: int) -> float:
        """Seconds from the start to the first token (0 when none was generated)."""
        first = self.first_token_at
        return first - self.started if generated and first is not None else 0.0

    def decode_tps(self, generated: int) -> float:
        """Tokens per second after the first one (prompt time stays out of it)."""
        first, last = self.first_token_at, self.last_token_at
        if generated < 2 or first is None or last is None or last <= first:
            return 0.0
        return (generated - 1) / (last - first)


@dataclass(frozen=True)
class Step:
    """One step of a generation as the streaming loop sees it. ``finish`` is set on the
    step that ends the turn ("stop", "length"); its text is the turn's tail."""

    text: str
    generated: int = 0
    finish: str | None = None


def relay(
    steps: Iterable[Step],
    cancel: threading.Event,
    clock: TurnClock,
    *,
    stop_on_cancel: bool = True,
) -> Iterator[GenerationChunk]:
    """The streaming loop every chat engine runs: each step's text as a chunk until the
    finishing step (kept as ``clock.tail``) or, between tokens, a cancel.

    ``stop_on_cancel=False`` for engines whose steps end by themselves once told to stop
    (the cluster's ranks finish the step they are on and say how the turn ended). The
    caller yields the last chunk, with the stats, after this. Once the first text has been
    taken, the reader gets a moment to take it (``let_the_reader_take_it``).
    """
    handed_over = False
    for step in steps:
        clock.tick()
        if step.finish is not None:
            clock.finish, clock.tail = step.finish, step.text
            return
        if step.text:
            yield GenerationChunk(step.text, generated=step.generated)
            if not handed_over:
                handed_over = True
                let_the_reader_take_it()
        if stop_on_cancel and cancel.is_set():
            clock.finish = "cancelled"
            return
