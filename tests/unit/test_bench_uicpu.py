"""The uicpu group: its runner double streams as the real runner does, and it takes `--rounds`."""

from __future__ import annotations

import gc
import threading

from collections_held import restored_after_the_quiet_period

from workbench.bench.ui.uicpu import PacedRunner
from workbench.core.protocol import ChatDone, ChatRequest, Event, TokenEvent
from workbench.core.runner.collector import HELD_FULL_THRESHOLD
from workbench.core.types import ChatMessage


def test_full_collections_wait_while_the_double_streams_as_in_the_app() -> None:
    """A full collection walks the whole app (100+ ms on our VM): counted in the UI's
    per-token cost, it would measure the collector, not the chat window."""
    assert restored_after_the_quiet_period()  # no earlier test's hold goes on
    before = gc.get_threshold()
    held_at_tokens: list[int] = []
    ended = threading.Event()

    def callback(event: Event) -> None:
        if isinstance(event, TokenEvent):
            held_at_tokens.append(gc.get_threshold()[2])
        elif isinstance(event, ChatDone):
            ended.set()

    runner = PacedRunner(callback)
    thread = threading.Thread(target=runner.run)
    thread.start()
    runner.submit(ChatRequest(model_id="m", messages=(ChatMessage("user", "hi"),)))
    assert ended.wait(30)
    runner.stop()
    thread.join(30)
    assert len(held_at_tokens) == PacedRunner.tokens
    assert set(held_at_tokens) == {HELD_FULL_THRESHOLD}
    assert restored_after_the_quiet_period()
    assert gc.get_threshold() == before


def test_the_rounds_asked_for_are_the_rounds_measured_at_each_transcript_size() -> None:
    """``bench --rounds N`` steadies the per-token figure as it steadies the decode groups':
    N replies into each transcript, besides the warm-up."""
    from workbench.bench.context import BenchContext, BenchOptions
    from workbench.bench.ui import uicpu

    context = BenchContext(BenchOptions(quick=True, decode_rounds_wanted=2))
    try:
        per_token, *shares = uicpu.run(context)
    finally:
        context.close()
    assert len(per_token.a_samples) == len(per_token.b_samples) == 2
    assert all(sample > 0 for sample in per_token.a_samples + per_token.b_samples)
    assert len(shares) == 2
