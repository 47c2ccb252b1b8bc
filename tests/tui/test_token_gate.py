"""Tokens cross from the runner thread in batches; order and every character are kept."""

from __future__ import annotations

import asyncio
import threading

from workbench.core.protocol import ChatDone, Event, TokenEvent
from workbench.core.types import TurnStats
from workbench.tui.chat.token_gate import TokenGate, TokensWaiting


def test_first_token_wakes_at_once_and_later_ones_wait_for_the_take() -> None:
    posted: list[Event] = []
    gate = TokenGate(posted.append, gap=10.0)
    gate.offer(TokenEvent(1, "Hel"))
    gate.offer(TokenEvent(1, "lo"))
    gate.offer(TokenEvent(1, " there"))
    assert posted == [TokensWaiting(None)]  # one wake-up for three tokens
    assert gate.take() == [TokenEvent(1, "Hello there")]
    assert gate.take() == []


def test_release_wakes_for_waiting_tokens_before_another_event() -> None:
    async def scenario() -> None:
        posted: list[Event] = []
        gate = TokenGate(posted.append, gap=10.0)
        gate.offer(TokenEvent(1, "a"))
        gate.take()  # the gate is now shut for the gap
        gate.offer(TokenEvent(1, "b"))
        assert posted == [TokensWaiting(None)]
        gate.release()  # e.g. ChatDone is next: the waiting "b" must be taken first
        assert posted == [TokensWaiting(None), TokensWaiting(None)]
        assert gate.take() == [TokenEvent(1, "b")]
        gate.release()  # nothing waiting: no wake-up
        assert len(posted) == 2

    asyncio.run(scenario())


def test_requests_are_kept_apart_in_order() -> None:
    gate = TokenGate(lambda _e: None)
    for event in (TokenEvent(1, "a"), TokenEvent(1, "b"), TokenEvent(2, "x"), TokenEvent(1, "c")):
        gate.offer(event)
    assert gate.take() == [TokenEvent(1, "ab"), TokenEvent(2, "x"), TokenEvent(1, "c")]


def test_a_merged_batch_keeps_the_latest_token_count() -> None:
    """The chat's "generating: N tokens" line reads the count from the merged event."""
    gate = TokenGate(lambda _e: None, gap=10.0)
    for text, count in (("a", 1), ("b", 2), ("c", 3)):
        gate.offer(TokenEvent(1, text, count))
    gate.offer(TokenEvent(2, "x", 7))
    assert gate.take() == [TokenEvent(1, "abc", 3), TokenEvent(2, "x", 7)]


def test_the_gate_reopens_after_the_gap_and_wakes_for_what_came_meanwhile() -> None:
    async def scenario() -> tuple[list[Event], list[TokenEvent]]:
        posted: list[Event] = []
        gate = TokenGate(posted.append, gap=0.01)
        gate.offer(TokenEvent(1, "a"))
        taken = gate.take()
        gate.offer(TokenEvent(1, "b"))
        await asyncio.sleep(0.05)
        taken += gate.take()
        await asyncio.sleep(0.05)
        gate.offer(TokenEvent(1, "c"))  # open again: wakes at once
        return posted, taken + gate.take()

    posted, taken = asyncio.run(scenario())
    assert posted == [TokensWaiting(None)] * 3
    assert "".join(t.text for t in taken) == "abc"


def test_a_producer_thread_loses_nothing() -> None:
    async def scenario() -> str:
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()
        done: list[Event] = []
        gate = TokenGate(lambda _e: loop.call_soon_threadsafe(woken.set), gap=0.001)

        def produce() -> None:
            for index in range(2000):
                gate.offer(TokenEvent(7, f"{index},"))
            gate.release()
            done.append(ChatDone(7, "", TurnStats(0, 0, 0, 0, 0, 0, "stop")))
            loop.call_soon_threadsafe(woken.set)

        thread = threading.Thread(target=produce)
        thread.start()
        text = ""
        while not done or woken.is_set():
            await woken.wait()
            woken.clear()
            text += "".join(t.text for t in gate.take())
        thread.join()
        return text + "".join(t.text for t in gate.take())

    assert asyncio.run(scenario()) == "".join(f"{i}," for i in range(2000))


def test_a_taker_that_comes_back_itself_is_not_woken_until_a_release() -> None:
    async def scenario() -> tuple[list[Event], list[TokenEvent]]:
        posted: list[Event] = []
        gate = TokenGate(posted.append, gap=0.001)
        gate.offer(TokenEvent(1, "a"))
        taken = gate.take(reopen=False)
        gate.offer(TokenEvent(1, "b"))
        await asyncio.sleep(0.02)  # well past the gap: still no wake-up
        assert posted == [TokensWaiting(None)]
        taken += gate.take(reopen=False)  # the taker's own schedule
        gate.offer(TokenEvent(1, "c"))
        gate.release()  # the reply's end: what waits is announced before it
        return posted, taken + gate.take(reopen=False)

    posted, taken = asyncio.run(scenario())
    assert posted == [TokensWaiting(None)] * 2
    assert "".join(t.text for t in taken) == "abc"
