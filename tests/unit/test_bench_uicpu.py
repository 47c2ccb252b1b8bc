"""The uicpu group's runner double streams as the real runner does."""

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
