"""Fake models for pool and runner tests: known sizes, a fake memory counter, no MLX."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

from workbench.core.engines.chat import ChatEngineBase
from workbench.core.errors import InputError
from workbench.core.types import (
    ChatMessage,
    EmbeddingResult,
    Family,
    GenerationChunk,
    ModelInfo,
    ModelKind,
    SamplingSettings,
    TurnStats,
)

MB = 1024**2


def fake_info(
    model_id: str, size: int, kind: ModelKind = ModelKind.TEXT, path: Path | None = None
) -> ModelInfo:
    return ModelInfo(
        id=model_id,
        name=model_id.upper(),
        path=path or Path("/nonexistent") / model_id,
        kind=kind,
        family=Family.OTHER,
        source="folder",
        estimated_bytes=size,
    )


class FakeMemory:
    """Stands in for ``mx.get_active_memory()``: bytes held by live fake engines."""

    def __init__(self) -> None:
        self.active = 0
        self.lock = threading.Lock()

    def add(self, amount: int) -> None:
        with self.lock:
            self.active += amount

    def __call__(self) -> int:
        return self.active


class FakeEngine(ChatEngineBase):
    """A loaded fake model: chats by echoing, embeds with fixed unit vectors."""

    def __init__(self, info: ModelInfo, size: int, memory: FakeMemory) -> None:
        self.info, self.size, self.memory = info, size, memory
        self.closed = False
        self.reply = "Hello from " + info.name
        self.step = threading.Event()  # set by tests to let a slow stream go on
        self.step.set()
        self.started = threading.Event()
        self.free_tokens = 0  # tokens produced before ``step`` is waited for
        self.cache = 0  # bytes of prompt caches held (counted in ``memory`` too)
        self.cache_per_turn = 0  # what each chat turn adds to the cache
        self.cache_drops = 0
        self.generating = False

    def _wait_for_step(self, cancel: threading.Event) -> None:
        deadline = time.monotonic() + 10
        while not self.step.wait(0.005) and not cancel.is_set() and time.monotonic() < deadline:
            pass

    def close(self) -> None:
        assert not self.closed, "closed twice"
        self.closed = True
        self.memory.add(-self.size - self.cache)

    def grow_cache(self, amount: int) -> None:
        self.cache += amount
        self.memory.add(amount)

    def prompt_cache_bytes(self) -> int:
        return self.cache

    def drop_prompt_caches(self) -> None:
        assert not self.generating, "cache dropped mid-generation"
        self.memory.add(-self.cache)
        self.cache = 0
        self.cache_drops += 1

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        sampling: SamplingSettings,
        cancel: threading.Event,
        session_id: str | None = None,
    ) -> Iterator[GenerationChunk]:
        return self._stream(cancel, sampling)

    def _stream(
        self, cancel: threading.Event, sampling: SamplingSettings
    ) -> Iterator[GenerationChunk]:
        words = self.reply.split(" ")[: sampling.max_tokens]
        finish = "stop"
        self.generating = True
        try:
            for i, word in enumerate(words):
                self.started.set()
                if i >= self.free_tokens:
                    self._wait_for_step(cancel)
                if cancel.is_set():
                    finish = "cancelled"
                    break
                assert not self.closed, "generating with a closed engine"
                yield GenerationChunk(word if i == 0 else " " + word)
            self.grow_cache(self.cache_per_turn)
        finally:
            self.generating = False
        stats = TurnStats(3, len(words), 0.01, 100.0, 50.0, self.size, finish)
        yield GenerationChunk("", stats=stats)

    def embed(self, texts: Sequence[str], batch_size: int = 32) -> EmbeddingResult:
        if not texts or any(not t.strip() for t in texts):
            raise InputError("text is empty")
        vectors = tuple((1.0, 0.0) if i % 2 == 0 else (0.0, 1.0) for i in range(len(texts)))
        counts = tuple(len(t.split()) + 2 for t in texts)
        return EmbeddingResult(vectors, counts, self.info.id, 2)


class FakeLoader:
    """Loads fake engines of known true sizes, counting loads; optionally slow."""

    def __init__(self, sizes: dict[str, int], memory: FakeMemory, delay: float = 0.0) -> None:
        self.sizes, self.memory, self.delay = sizes, memory, delay
        self.loads: Counter[str] = Counter()
        self.engines: dict[str, FakeEngine] = {}
        self.gate = threading.Event()
        self.gate.set()
        self.fail: set[str] = set()

    def __call__(self, info: ModelInfo, progress: object = None) -> FakeEngine:
        self.loads[info.id] += 1
        if callable(progress):
            progress("reading weights")
        if self.delay:
            time.sleep(self.delay)
        self.gate.wait(10)
        if info.id in self.fail:
            raise InputError(f"{info.name} is broken")
        size = self.sizes[info.id]
        self.memory.add(size)
        engine = FakeEngine(info, size, self.memory)
        self.engines[info.id] = engine
        return engine


def unload(engine: FakeEngine) -> None:
    engine.close()
