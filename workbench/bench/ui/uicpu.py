"""Group "uicpu": UI-thread CPU time per streamed token, at 10 and at 1,000 messages.

On a fast GPU the generating thread is Python-bound, so every millisecond the UI thread
holds the GIL is taken from decoding; on our CPU machines decode is too slow for that to
show in tok/s. This group measures the cause instead of the symptom, with no model: the
real app runs headless over ``PacedRunner``, which streams a Markdown reply (paragraphs,
lists, code) at a GPU's pace, and the UI thread's own CPU clock (``time.thread_time``) is
read from Ctrl+S to the reply's end. Per token, at 10 and 1,000 transcript messages:
the cost must be small and must not grow with the transcript.
"""

from __future__ import annotations

import asyncio
import queue
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from workbench.bench.context import BenchContext
from workbench.bench.harness import Goal, Metric, Paired, median
from workbench.bench.ui.appkit import SCREEN_SIZE, laid_out, press, sessions_dir, settled
from workbench.bench.ui.pane import ECHO_MODEL, SIZES, show, transcript
from workbench.core.protocol import (
    ChatDone,
    ChatRequest,
    Event,
    Request,
    RunnerReady,
    ShutdownRequest,
    TokenEvent,
)
from workbench.core.runner.collector import full_collections_deferred
from workbench.core.types import TurnStats

FLAT_GOAL = Goal("<=", 1.2)
# At 500 tok/s a token lasts 2 ms; 5 % of that is what the UI may take for decode to stay
# at ≥ 0.95× raw on a Python-bound GPU.
SHARE_GOAL = Goal("<", 5, on="a", unit="%")
TOKENS_PER_S = 500.0
PARAGRAPH = (
    "The keeper climbed the **spiral stair** each evening, counting the steps as his father "
    "had, and wrote the weather in a book that nobody read. "
)
SECTION = (
    f"## Part {{n}}\n\n{PARAGRAPH * 3}\n\n- the lamp, trimmed and lit\n- the log, written\n"
    f"- the door, *bolted* twice\n\n```python\nfor step in range({{n}}):\n    climb(step)\n```\n\n"
    f"{PARAGRAPH * 2}\n\n"
)


def reply_tokens(count: int) -> list[str]:
    """``count`` pieces of a long Markdown reply, about four characters each, as a model
    streams them."""
    text = "".join(SECTION.format(n=n) for n in range(1, 2 + count // 150))
    pieces = [text[i : i + 4] for i in range(0, len(text), 4)]
    return pieces[:count]


class PacedRunner:
    """A runner double that streams ``reply_tokens`` at ``TOKENS_PER_S`` on its own thread.

    Full garbage collections wait while it streams, as they do in the app: one walks the
    app's objects for 100+ ms on our VM, and would be counted as the UI's per-token cost.
    """

    tokens = 256

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
                with full_collections_deferred():  # as the runner's chat handler does
                    self._stream(request.request_id)

    def _stream(self, rid: int) -> None:
        pieces = reply_tokens(self.tokens)
        started = time.perf_counter()
        for index, piece in enumerate(pieces):
            pause = started + index / TOKENS_PER_S - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            self._callback(TokenEvent(rid, piece))
        seconds = time.perf_counter() - started
        stats = TurnStats(8, len(pieces), 0.0, 0.0, len(pieces) / seconds, 0, "length")
        self._callback(ChatDone(rid, "".join(pieces), stats))


class StreamClock:
    """UI-thread CPU and wall clocks read when the pane is told the reply is finished.

    Wraps the pane's ``finish_reply`` (where the end of a reply reaches the widget).
    """

    def __init__(self, pane: Any) -> None:
        self.done = asyncio.Event()
        self.end: tuple[float, float] = (0.0, 0.0)
        finish = pane.finish_reply

        async def finished(label: str, text: str, stats: Any) -> None:
            self.end = (time.thread_time(), time.perf_counter())
            await finish(label, text, stats)
            self.done.set()

        pane.finish_reply = finished


async def one_reply(screen: Any, clock: StreamClock) -> dict[str, float]:
    """UI-thread CPU per token and its share of the wall time, Ctrl+S to the reply's end.

    The window starts at the key, not at the first token: when the UI thread is slow, the
    tokens can all arrive in one batch, and a window from the first of them would be empty.
    """
    screen.chat.input.text = "Tell me about the lighthouse."
    screen.chat.input.focus()
    await laid_out(screen)
    clock.done.clear()
    start = (time.thread_time(), time.perf_counter())
    press(screen.app, "ctrl+s")
    await clock.done.wait()
    await settled(screen)
    cpu, wall = clock.end[0] - start[0], clock.end[1] - start[1]
    return {"cpu_us": cpu / PacedRunner.tokens * 1e6, "share": 100 * cpu / max(wall, 1e-9)}


async def measure(rounds: int, folder: Path) -> Paired:
    from workbench.tui.app import MlxbenchApp

    app = MlxbenchApp(
        [ECHO_MODEL], PacedRunner, sessions_dir(folder), export_dir=folder / "exports",
        theme="textual-dark",
    )  # fmt: skip
    paired = Paired()
    async with app.run_test(size=SCREEN_SIZE):
        screen = app.main_screen
        clock = StreamClock(screen.chat)
        bases = {n: transcript(screen.controller.store.new_session(), n) for n in SIZES}
        for index in range(rounds + 1):  # round 0 is the warm-up
            for size in SIZES if index % 2 == 0 else SIZES[::-1]:
                await show(screen, bases[size])
                sample = await one_reply(screen, clock)
                if index:
                    paired.add("b" if size == SIZES[0] else "a", sample)
    return paired


def run(context: BenchContext) -> list[Metric]:
    options = context.options
    PacedRunner.tokens = min(options.max_tokens, 1024) if not options.quick else 128
    context.say(
        f"streaming {PacedRunner.tokens} tokens at {TOKENS_PER_S:.0f} tok/s into transcripts "
        f"of {SIZES[0]} and {SIZES[1]} messages…"
    )
    with tempfile.TemporaryDirectory(prefix="mlxbench-bench-") as tmp:
        paired = asyncio.run(measure(options.decode_rounds, Path(tmp)))
    big, small = f"{SIZES[1]} msgs", f"{SIZES[0]} msgs"
    note = f"{PacedRunner.tokens}-token Markdown reply at {TOKENS_PER_S:.0f} tok/s, no model"
    return [
        paired.metric(
            "cpu_us", "UI CPU per streamed token", "µs", (big, small), goal=FLAT_GOAL,
            note=note,
        ),
        Metric(
            f"UI CPU share of the reply, {big}", "%", _median(paired.a.get("share", [])),
            a_label=big, goal=SHARE_GOAL,
        ),
        Metric(
            f"UI CPU share of the reply, {small}", "%", _median(paired.b.get("share", [])),
            a_label=small, goal=SHARE_GOAL,
        ),
    ]  # fmt: skip


def _median(values: list[float]) -> float | None:
    return median(values)
