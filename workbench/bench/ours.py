"""Our side of the headless comparisons: the CLI's path through the runner and the pool.

``RunnerClient`` is what ``mlxbench chat`` and ``embed`` use: the same ``Runner`` loop on
its own owner thread, with blocking calls on top. Replies are timed on the bench's thread
as the client hands each piece over — where a CLI user first sees it — so the hand-over
between threads is part of what is measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from workbench.bench.harness import require
from workbench.bench.raw import Generation
from workbench.core.config import Config
from workbench.core.types import ChatMessage, EmbeddingResult, ModelInfo, SamplingSettings

Progress = Callable[[str], None]


class OurSide:
    """A started ``RunnerClient`` and the timed calls the benchmark groups make through it."""

    def __init__(self, client: Any) -> None:
        self.client = client

    @classmethod
    def start(
        cls, config: Config, catalog: Sequence[ModelInfo], say: Progress, **runner_options: Any
    ) -> OurSide:
        """Start the runner over ``catalog`` with the config's budget (options: for tests)."""
        module = require("workbench.core.runner.client", "RunnerClient")
        from workbench.core.pool.budget import make_budget

        budget = make_budget(config.memory_limit, config.max_models)
        runner_options.setdefault("config", config)
        client = module.RunnerClient(catalog=list(catalog), budget=budget, **runner_options)
        say("starting the runner…")
        client.start()
        return cls(client)

    def is_loaded(self, model_id: str) -> bool:
        entries = self.client.snapshot().entries
        return any(e.model_id == model_id and e.state == "ready" for e in entries)

    def load(self, info: ModelInfo) -> float:
        """Load ``info`` through the pool: seconds from request to "loaded" (0 if it was)."""
        if self.is_loaded(info.id):
            return 0.0
        self.client.register([info])
        started = time.perf_counter()
        self.client.load(info.id)
        return time.perf_counter() - started

    def unload(self, model_id: str) -> None:
        if self.is_loaded(model_id):
            self.client.unload(model_id)

    def chat(
        self,
        model_id: str,
        messages: Sequence[ChatMessage],
        sampling: SamplingSettings,
        session_id: str | None = None,
    ) -> Generation:
        """Stream a reply through the runner, timed as this thread receives it."""
        first = 0.0
        started = time.perf_counter()
        stream = self.client.chat_stream(model_id, messages, sampling, session_id=session_id)
        for piece in stream:
            if piece and not first:
                first = time.perf_counter() - started
        end = time.perf_counter() - started
        done = stream.done
        s = done.stats
        return Generation(
            done.text, s.generation_tokens, first or end, end, s.finish_reason,
            s.prompt_tokens, s.cached_prompt_tokens,
        )  # fmt: skip

    def timed_embed(self, model_id: str, texts: Sequence[str]) -> tuple[float, EmbeddingResult]:
        """``(seconds, result)`` from request to vectors in hand."""
        started = time.perf_counter()
        result = self.client.embed(model_id, texts)
        return time.perf_counter() - started, result

    def embed(self, model_id: str, texts: Sequence[str]) -> EmbeddingResult:
        return self.client.embed(model_id, texts)

    def close(self) -> None:
        """Stop the runner (it unloads everything) and wait for its thread."""
        self.client.close()
