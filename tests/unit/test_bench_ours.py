"""Our side of the comparisons over the real runner and client, with fake engines.

No MLX: the engines are scripted, the MLX hooks are stubs. What is tested is the plumbing
the figures rest on — what is sent, what comes back, load bookkeeping, failures.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.bench.ours import OurSide
from workbench.core.config import Config
from workbench.core.engines.chat import ChatEngineBase
from workbench.core.errors import WorkbenchError
from workbench.core.runner.mlx_hooks import MlxHooks
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

TEXT = ModelInfo("m/text", "text", Path("/m/text"), ModelKind.TEXT, Family.LLAMA, "path",
                 estimated_bytes=1000)  # fmt: skip
EMBED = ModelInfo("m/emb", "emb", Path("/m/emb"), ModelKind.EMBEDDINGS, Family.OTHER, "path",
                  estimated_bytes=1000)  # fmt: skip
LATE = ModelInfo("m/late", "late", Path("/m/late"), ModelKind.TEXT, Family.LLAMA, "path",
                 estimated_bytes=1000)  # fmt: skip


class FakeText(ChatEngineBase):
    def __init__(self, info: ModelInfo) -> None:
        self.info = info
        self.calls: list[tuple] = []

    def stream_chat(self, messages, sampling, cancel, session_id=None) -> Iterator:
        self.calls.append((tuple(messages), sampling, session_id))
        yield GenerationChunk("")
        yield GenerationChunk("Hello")
        yield GenerationChunk(" world")
        stats = TurnStats(12, 3, 0.1, 100.0, 10.0, 0, "length", cached_prompt_tokens=4)
        yield GenerationChunk("", stats=stats)

    def close(self) -> None:
        pass


class FakeEmbed:
    def __init__(self, info: ModelInfo) -> None:
        self.info = info

    def embed(self, texts, batch_size: int = 32) -> EmbeddingResult:
        return EmbeddingResult(tuple((1.0, 0.0) for _ in texts), tuple(3 for _ in texts), "e", 2)

    def close(self) -> None:
        pass


@pytest.fixture
def side(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path))
    engines: dict[str, object] = {}

    def loader(info: ModelInfo, _progress) -> object:
        engines[info.id] = FakeEmbed(info) if info.kind is ModelKind.EMBEDDINGS else FakeText(info)
        return engines[info.id]

    hooks = MlxHooks(start=lambda: ("test BLAS", "cpu"), active_memory=lambda: 0,
                     release=lambda: None)  # fmt: skip
    ours = OurSide.start(Config(), [TEXT, EMBED], lambda _line: None, loader=loader,
                         mlx_hooks=hooks)  # fmt: skip
    yield ours, engines
    ours.close()


def test_chat_sends_the_request_and_reports_the_reply_and_its_stats(side) -> None:
    ours, engines = side
    messages = (ChatMessage("user", "hi"),)
    sampling = SamplingSettings(max_tokens=3)
    reply = ours.chat(TEXT.id, messages, sampling, session_id="s1")
    assert engines[TEXT.id].calls == [(messages, sampling, "s1")]
    assert (reply.text, reply.tokens, reply.finish_reason) == ("Hello world", 3, "length")
    assert (reply.prompt_tokens, reply.cached_prompt_tokens) == (12, 4)
    assert 0 < reply.first_text_s <= reply.end_s


def test_a_failed_request_raises_its_message(side) -> None:
    ours, _engines = side
    with pytest.raises(WorkbenchError, match="cannot chat"):
        ours.chat(EMBED.id, (ChatMessage("user", "hi"),), SamplingSettings())


def test_load_and_unload_through_the_pool(side) -> None:
    ours, _engines = side
    assert not ours.is_loaded(TEXT.id)
    assert ours.load(TEXT) > 0
    assert ours.is_loaded(TEXT.id)
    assert ours.load(TEXT) == 0.0  # already loaded: nothing to wait for
    ours.unload(TEXT.id)
    assert not ours.is_loaded(TEXT.id)
    ours.unload(TEXT.id)  # not loaded: a no-op, not an error


def test_a_model_outside_the_catalog_is_registered_on_load(side) -> None:
    ours, engines = side
    ours.load(LATE)
    assert ours.is_loaded(LATE.id)
    assert LATE.id in engines


def test_embed_returns_the_runner_result(side) -> None:
    ours, _engines = side
    seconds, result = ours.timed_embed(EMBED.id, ["a", "b"])
    assert seconds > 0
    assert result.vectors == ((1.0, 0.0), (1.0, 0.0))


def test_the_runner_runs_on_its_own_thread(side) -> None:
    ours, _engines = side
    thread = ours.client._thread
    assert thread.is_alive()
    assert thread is not threading.current_thread()
