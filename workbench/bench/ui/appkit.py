"""Running the real app headless for a measurement, and a runner double that answers at once.

``EchoRunner`` speaks the runner protocol with no model: a chat gets a fixed reply at once,
so what is measured is the app's own cost (saving the session, mounting, layout). The
groups that need a real model use the real runner through the same factory parameter.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

from workbench.core.protocol import (
    ChatDone,
    ChatRequest,
    Event,
    Request,
    RunnerReady,
    ShutdownRequest,
    TokenEvent,
)
from workbench.core.types import TurnStats

SCREEN_SIZE = (120, 40)
LAYOUT_WAIT_S = 0.05
ECHO_REPLY = "Noted: **ok**."


class EchoRunner:
    """A runner double: every chat request is answered with ``ECHO_REPLY`` immediately."""

    def __init__(self, callback: Callable[[Event], None]) -> None:
        self._callback = callback
        self._requests: queue.Queue[Request] = queue.Queue()

    def submit(self, request: Request) -> None:
        self._requests.put(request)

    def stop(self) -> None:
        self._requests.put(ShutdownRequest())

    def run(self) -> None:
        self._callback(RunnerReady(None, blas="", device="none"))
        while not isinstance(request := self._requests.get(), ShutdownRequest):
            if isinstance(request, ChatRequest):
                rid = request.request_id
                self._callback(TokenEvent(rid, ECHO_REPLY))
                stats = TurnStats(1, 1, 0.0, 0.0, 0.0, 0, "stop")
                self._callback(ChatDone(rid, ECHO_REPLY, stats))


async def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Poll ``condition`` every millisecond; the ``perf_counter`` when it first held."""
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(0.001)
    return time.perf_counter()


async def settled(node) -> float:
    """Wait until the screen has handled everything pending and repainted; ``perf_counter``."""
    done = asyncio.Event()
    node.call_after_refresh(done.set)
    await done.wait()
    return time.perf_counter()


async def laid_out(screen, rounds: int = 50) -> None:
    """Wait until the sizes on ``screen`` stop changing from one frame to the next: what was
    just mounted (a shown session) has been laid out, scroll bars included, before a
    measurement starts. Frames are ``LAYOUT_WAIT_S`` apart: a mount's layout comes in a
    later frame than the repaint ``settled`` waits for."""
    before = None
    for _ in range(rounds):
        await asyncio.sleep(LAYOUT_WAIT_S)
        await settled(screen)
        sizes = tuple((w.size, w.virtual_size) for w in screen.walk_children())
        if sizes == before:
            return
        before = sizes


def press(app, key: str, character: str | None = None) -> float:
    """Deliver a key as the terminal driver does (a ``Key`` event to the app); ``perf_counter``.

    Unlike ``Pilot.press`` this does not wait for the app to go idle afterwards, so the
    caller measures how long the key takes to be handled, not how long idling takes.
    """
    from textual import events

    event = events.Key(key, character)
    moment = time.perf_counter()
    app.post_message(event)
    return moment


class Stopwatch:
    """Timestamps of things happening on the UI thread, keyed by name."""

    def __init__(self) -> None:
        self.marks: dict[str, list[float]] = {}
        self.lock = threading.Lock()

    def mark(self, name: str) -> None:
        with self.lock:
            self.marks.setdefault(name, []).append(time.perf_counter())

    def clear(self) -> None:
        with self.lock:
            self.marks.clear()


def sessions_dir(root: Path) -> Path:
    folder = root / "sessions"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
