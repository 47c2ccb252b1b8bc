"""The runner refuses work that makes no sense before the model loads (sampling values from
any client) or before room is made for the turn (a prompt longer than the context)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from pool_fakes import FakeEngine
from test_runner import HELLO, Harness

from workbench.core.errors import InputError
from workbench.core.types import ChatMessage, SamplingSettings


@pytest.fixture
def harness() -> Iterator[Harness]:
    h = Harness()
    h.client.start()
    yield h
    h.client.close()


@pytest.mark.parametrize(
    "sampling",
    [SamplingSettings(temperature=math.nan), SamplingSettings(seed=-7), SamplingSettings(top_p=2)],
)
def test_bad_sampling_is_refused_before_the_model_loads(
    harness: Harness, sampling: SamplingSettings
) -> None:
    with pytest.raises(InputError):
        harness.client.chat("chat", HELLO, sampling=sampling)
    assert harness.loader.loads["chat"] == 0


class ShortContextEngine(FakeEngine):
    """A fake text model with a 16-token context and a plain per-token KV cache."""

    context_length = 16

    def kv_bytes_per_token(self) -> int:
        return 10**9  # the prompt-cache room check would refuse first if it came first

    def prompt_tokens(self, messages) -> list[int]:  # type: ignore[no-untyped-def]
        return [1] * sum(len(m.content.split()) for m in messages)

    def session_cache_bytes(self, _session_id: object) -> int:
        return 0


def test_a_prompt_longer_than_the_context_is_refused_with_the_numbers(harness: Harness) -> None:
    harness.client.load("chat")
    engine = harness.loader.engines["chat"]
    engine.__class__ = ShortContextEngine  # the loaded fake becomes a short-context model
    long = (ChatMessage("user", "word " * 40),)
    with pytest.raises(InputError, match=r"the prompt is 40 tokens .* but CHAT handles 16"):
        harness.client.chat("chat", long)
    assert not engine.generating and engine.cache == 0


def test_an_unexpected_runner_error_points_at_the_log_which_has_the_traceback(
    harness: Harness, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.core import logs

    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))
    log_file = logs.setup_logging()
    try:

        def broken(info, progress):  # type: ignore[no-untyped-def]
            raise ZeroDivisionError("division by zero")

        harness.runner._loader = broken
        with pytest.raises(Exception, match=r"ZeroDivisionError: division by zero \(details in"):
            harness.client.load("chat")
        assert log_file is not None and str(log_file).startswith(str(tmp_path))
        text = log_file.read_text()
        assert "request" in text and "Traceback (most recent call last)" in text
        assert "ZeroDivisionError: division by zero" in text
    finally:
        logs.close_logging()
