"""Our side of the headless comparisons: requests through the real runner and pool.

The runner runs its loop on its own owner thread, exactly as under the CLI and the TUI;
requests go in through ``submit`` and events come back through the callback into a queue.
The bench's thread takes them out and time-stamps them as it does — where a caller of the
runner first sees a token — so the hand-over between threads is part of what is measured.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from workbench.core.bench.harness import require
from workbench.core.bench.raw import Generation
from workbench.core.config import Config
from workbench.core.errors import WorkbenchError
from workbench.core.protocol import (
    ChatDone,
    ChatRequest,
    EmbeddingsReady,
    EmbedRequest,
    Event,
    LoadRequest,
    ModelEvicted,
    ModelLoaded,
    Request,
    RequestFailed,
    RunnerReady,
    TokenEvent,
    UnloadRequest,
)
from workbench.core.types import ChatMessage, EmbeddingResult, ModelInfo, SamplingSettings

TIMEOUT_S = 900.0
Progress = Callable[[str], None]


class OurSide:
    """A started runner and the blocking calls the benchmark groups make through it."""

    def __init__(self, runner: Any, events: queue.Queue[Event]) -> None:
        self._runner = runner
        self._events = events
        self._thread = threading.Thread(target=runner.run, name="bench-runner", daemon=True)
        self.loaded: set[str] = set()
        self.ready: RunnerReady | None = None

    @classmethod
    def start(cls, config: Config, catalog: Sequence[ModelInfo], say: Progress) -> OurSide:
        """Build the real runner over ``catalog`` with the config's budget and start it."""
        module = require("workbench.core.runner", "Runner")
        from workbench.core.budget import make_budget

        events: queue.Queue[Event] = queue.Queue()
        budget = make_budget(config.memory_limit, config.max_models)
        runner = module.Runner(events.put, catalog=list(catalog), budget=budget, config=config)
        side = cls(runner, events)
        say("starting the runner…")
        side._thread.start()
        side.ready = side._next(lambda e: isinstance(e, RunnerReady), "the runner to start")
        return side

    # ------------------------------------------------------------------ plumbing

    def _next(self, wanted: Callable[[Event], bool], what: str) -> Any:
        """Take events until one is ``wanted``; a failure for it raises ``WorkbenchError``."""
        deadline = time.perf_counter() + TIMEOUT_S
        while True:
            try:
                event = self._events.get(timeout=max(0.0, deadline - time.perf_counter()))
            except queue.Empty:
                raise TimeoutError(f"timed out waiting for {what}") from None
            self._track(event)
            if wanted(event):
                return event

    def _track(self, event: Event) -> None:
        if isinstance(event, ModelLoaded):
            self.loaded.add(event.model_id)
        elif isinstance(event, ModelEvicted):
            self.loaded.discard(event.model_id)

    def _final(self, request: Request, kind: type, what: str) -> Any:
        def wanted(event: Event) -> bool:
            return event.request_id == request.request_id and isinstance(
                event, kind | RequestFailed
            )

        event = self._next(wanted, what)
        if isinstance(event, RequestFailed):
            raise WorkbenchError(event.message)
        return event

    # ------------------------------------------------------------------ calls

    def load(self, info: ModelInfo) -> float:
        """Load ``info`` through the pool; seconds from request to "loaded" (0 if it was)."""
        if info.id in self.loaded:
            return 0.0
        request = LoadRequest(model_id=info.id)
        started = time.perf_counter()
        self._runner.submit(request)
        self._final(request, ModelLoaded, f"{info.name} to load")
        return time.perf_counter() - started

    def unload(self, model_id: str) -> None:
        if model_id in self.loaded:
            request = UnloadRequest(model_id=model_id)
            self._runner.submit(request)
            self._final(request, ModelEvicted, "the model to unload")

    def chat(
        self,
        model_id: str,
        messages: Sequence[ChatMessage],
        sampling: SamplingSettings,
        session_id: str | None = None,
    ) -> Generation:
        """Stream a reply through the runner, timed as this thread receives it."""
        request = ChatRequest(
            model_id=model_id, messages=tuple(messages), sampling=sampling, session_id=session_id
        )
        first = 0.0
        started = time.perf_counter()
        self._runner.submit(request)

        def wanted(event: Event) -> bool:
            nonlocal first
            if event.request_id != request.request_id:
                return False
            if isinstance(event, TokenEvent) and event.text and not first:
                first = time.perf_counter() - started
            return isinstance(event, ChatDone | RequestFailed)

        done = self._next(wanted, "the reply")
        end = time.perf_counter() - started
        if isinstance(done, RequestFailed):
            raise WorkbenchError(done.message)
        s = done.stats
        return Generation(
            done.text, s.generation_tokens, first or end, end, s.finish_reason,
            s.prompt_tokens, s.cached_prompt_tokens,
        )  # fmt: skip

    def timed_embed(self, model_id: str, texts: Sequence[str]) -> tuple[float, EmbeddingResult]:
        """``(seconds, result)`` from request to vectors in hand."""
        request = EmbedRequest(model_id=model_id, texts=tuple(texts))
        started = time.perf_counter()
        self._runner.submit(request)
        event = self._final(request, EmbeddingsReady, "embeddings")
        return time.perf_counter() - started, event.result

    def embed(self, model_id: str, texts: Sequence[str]) -> EmbeddingResult:
        return self.timed_embed(model_id, texts)[1]

    def close(self) -> None:
        """Stop the runner (it unloads everything) and wait for its thread."""
        self._runner.stop()
        self._thread.join(timeout=60)
