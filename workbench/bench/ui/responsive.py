"""Group "responsive": how long a key takes to be handled while a reply streams in.

The real app runs over the real runner and model. A printable key is delivered to the
focused chat input every 40–120 ms (as the terminal driver would deliver it), and the delay
is measured to the moment the input's cursor moves — a watcher on its ``selection``
reactive, which fires as the key is applied. Keys are pressed while the app is idle (the
baseline) and while a reply is streaming — from its first token to its last — and the
report gives p50 and p99 of each.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from workbench.bench.context import BenchContext
from workbench.bench.harness import Goal, Metric, percentile
from workbench.bench.texts import DECODE_PROMPT
from workbench.bench.ui.appkit import press, settled, wait_until
from workbench.bench.ui.realapp import real_app
from workbench.bench.ui.stream import PaneWatch

P99_GOAL = Goal("<", 50, on="a", unit="ms")
KEY_TIMEOUT_S = 10.0
IDLE_KEYS = 30


class KeyProbe:
    """Presses keys into the chat input and records how long each took to land."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.chat_input = app.main_screen.chat.input
        self.landed: float | None = None
        app.main_screen.watch(self.chat_input, "selection", self._moved, init=False)

    def _moved(self, _old: object, _new: object) -> None:
        if self.landed is None:
            self.landed = time.perf_counter()

    async def once(self) -> float:
        """Milliseconds from delivering a key to the input applying it."""
        self.landed = None
        pressed = press(self.app, "x", "x")
        await wait_until(lambda: self.landed is not None, KEY_TIMEOUT_S, "a key to be handled")
        return ((self.landed or pressed) - pressed) * 1000


async def idle_delays(probe: KeyProbe, rng: random.Random) -> list[float]:
    delays = []
    for _ in range(IDLE_KEYS):
        delays.append(await probe.once())
        await asyncio.sleep(rng.uniform(0.04, 0.12))
    return delays


async def streaming_delays(
    app: Any, probe: KeyProbe, watch: PaneWatch, rng: random.Random
) -> list[float]:
    """Start a reply with Ctrl+S; from its first token on, press keys until it is done."""
    screen = app.main_screen
    await screen.action_new_session()
    screen.chat.input.text = DECODE_PROMPT
    screen.chat.input.focus()
    await settled(screen)
    watch.reset()
    press(app, "ctrl+s")
    await wait_until(lambda: watch.first is not None, 600, "the first token in the app")
    delays = []
    while watch.end is None:
        delay = await probe.once()
        if watch.end is None:  # pressed and handled while tokens were still arriving
            delays.append(delay)
        await asyncio.sleep(rng.uniform(0.04, 0.12))
    return delays


def key_metrics(idle: list[float], busy: list[float]) -> list[Metric]:
    labels = {"a_label": "streaming", "b_label": "idle", "a_samples": tuple(busy),
              "b_samples": tuple(idle)}  # fmt: skip
    return [
        Metric("key handling p50", "ms", percentile(busy, 50), percentile(idle, 50), **labels),
        Metric("key handling p99", "ms", percentile(busy, 99), percentile(idle, 99), **labels,
               goal=P99_GOAL, note=f"{len(busy)} keys while streaming, {len(idle)} idle"),
    ]  # fmt: skip


async def measure(context: BenchContext) -> list[Metric]:
    tokens = 16 if context.options.quick else 64
    rng = random.Random(11)
    async with real_app(context, tokens) as (app, _log):
        probe = KeyProbe(app)
        watch = PaneWatch(app.main_screen.chat)
        app.main_screen.chat.input.focus()
        await settled(app.main_screen)
        context.say(f"pressing keys while idle, then while {tokens} tokens stream…")
        idle = await idle_delays(probe, rng)
        busy = []
        for _ in range(1 if context.options.quick else 2):
            busy += await streaming_delays(app, probe, watch, rng)
    return key_metrics(idle, busy)


def run(context: BenchContext) -> list[Metric]:
    return asyncio.run(measure(context))
