"""Prompt progress on the real SmolLM2: mlx-lm's callback, through the runner, as events.

A long prompt is read in chunks (``PREFILL_STEP`` tokens each); the runner reports each
chunk as ``PromptProgress`` before any token streams, cached tokens counted as read on
the next turn, with the model's context length from its config; token events then carry
how many tokens have been generated.

The engine's step is set to 32 tokens here, so that a prompt of a few chunks is about a
hundred tokens: the 4-bit model reads only a few prompt tokens a second on a CPU, and the
chunking is the same at any step (the engine reads its step when it generates).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.core.engines import text
from workbench.core.models.resolve import model_from_path
from workbench.core.pool.budget import Budget
from workbench.core.protocol import Event, PromptProgress, TokenEvent
from workbench.core.runner.client import RunnerClient
from workbench.core.types import ChatMessage, SamplingSettings

MB = 1024**2
STEP = 32  # prompt tokens per chunk in this test (the engine's default is 512)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(text, "PREFILL_STEP", STEP)


def test_a_long_prompt_reports_its_progress_then_tokens(smollm2_dir: Path) -> None:
    smol = model_from_path(smollm2_dir)
    events: list[Event] = []
    question = "Count the words. " + " ".join(f"word{i}" for i in range(24))
    sampling = SamplingSettings(temperature=0.0, max_tokens=4)
    with RunnerClient(catalog=[smol], budget=Budget(1024 * MB, 2), on_event=events.append) as c:
        first = c.chat(smol.id, [ChatMessage("user", question)], sampling=sampling, session_id="s")
        progress = [e for e in events if isinstance(e, PromptProgress)]
        total = first.stats.prompt_tokens
        assert total > 2 * STEP  # long enough to be read in several chunks
        steps = [p.processed for p in progress]
        print(f"\nprompt {total} tokens, progress reports: {steps}")
        assert steps[0] == 0 and steps[-1] == total and steps == sorted(steps)
        assert STEP in steps and 2 * STEP in steps and all(p.total == total for p in progress)
        assert {p.context_length for p in progress} == {8192}  # SmolLM2's config
        last_progress = max(i for i, e in enumerate(events) if isinstance(e, PromptProgress))
        tokens = [e for e in events if isinstance(e, TokenEvent)]
        assert tokens and events.index(tokens[0]) > last_progress  # read first, then stream
        counts = [t.generated for t in tokens]
        assert counts == sorted(counts) and counts[-1] <= first.stats.generation_tokens

        events.clear()  # the next turn reuses the cached prefix: it counts as read
        follow = [ChatMessage("user", question), ChatMessage("assistant", first.text)]
        follow.append(ChatMessage("user", "And now?"))
        second = c.chat(smol.id, follow, sampling=sampling, session_id="s")
        progress = [e for e in events if isinstance(e, PromptProgress)]
        cached = second.stats.cached_prompt_tokens
        assert cached > 0 and progress[0].processed == cached
        assert progress[-1].processed == second.stats.prompt_tokens
