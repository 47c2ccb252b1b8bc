"""Group "tui": a reply streamed into the chat pane of the real app vs raw ``stream_generate``.

The app runs headless (``run_test``) over the real runner and model. The user's path is
taken literally: the question is typed into the chat input and Ctrl+S is delivered as a
key; the clock then runs until text reaches the chat pane (``ChatPane.feed``, where the
chat feature hands the streamed text to the widget) and until the pane is told the
reply is finished.
The raw side generates the same greedy reply from the same prompt on its own thread.

Both sides start their reply the same way: the app settles, then a pause as long as a
person's typing. The GPU idles during that pause on the app's side, so it idles before the
raw side's reply too: neither side starts from a state of the machine the other never sees
(an idle H200 runs at a fraction of its top clock).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from workbench.bench.context import BenchContext
from workbench.bench.decode import (
    DecodeGoals,
    bandwidth_metrics,
    decode_metrics,
    same_reply_note,
)
from workbench.bench.harness import Goal, Metric, alternate_async
from workbench.bench.raw import Generation
from workbench.bench.texts import DECODE_PROMPT, decode_messages
from workbench.bench.ui.appkit import press, settled
from workbench.bench.ui.realapp import real_app
from workbench.core.types import SamplingSettings

# decode ≥ 0.95× raw; the app may add 10 ms to raw's first token (on a GPU), 5 % on a CPU
TUI_GOALS = DecodeGoals(Goal(">=", 0.95), 0.010, Goal("<=", 1.05))
REPLY_TIMEOUT_S = 600.0
# Before each reply, on both sides: the app finishes what the last change set off (drawing
# it, mounting the next turn's widgets), as it would while a question is typed.
TYPING_PAUSE_S = 0.2


class PaneWatch:
    """When streamed text first reaches the chat pane, and when the reply is finished there.

    Wraps the pane instance's ``feed`` and ``finish_reply`` (where the chat feature's
    messages reach the widget) with time-stamping versions that then call the originals.
    """

    def __init__(self, pane: Any) -> None:
        self.first: float | None = None
        self.end: float | None = None
        self.finished = asyncio.Event()  # awaited, not polled: see ``tui_reply``
        self.text = ""
        self.tokens = 0
        feed, finish = pane.feed, pane.finish_reply

        def timed_feed(text: str) -> None:
            if self.first is None and text:
                self.first = time.perf_counter()
            feed(text)

        async def timed_finish(label: str, text: str, stats: Any) -> None:
            self.end = time.perf_counter()
            self.text, self.tokens = text, stats.generation_tokens
            self.finished.set()
            await finish(label, text, stats)

        pane.feed, pane.finish_reply = timed_feed, timed_finish

    def reset(self) -> None:
        self.first = self.end = None
        self.finished.clear()


async def before_a_reply(screen: Any) -> None:
    """What precedes every reply, the app's and raw's alike: the screen settles, and the
    machine idles as long as a person would type (longer than this)."""
    await settled(screen)
    await asyncio.sleep(TYPING_PAUSE_S)
    await settled(screen)


async def tui_reply(app: Any, watch: PaneWatch) -> Generation:
    """Type the prompt, press Ctrl+S, and time the reply as the chat pane receives it."""
    screen = app.main_screen
    await screen.action_new_session()
    screen.chat.input.text = DECODE_PROMPT
    screen.chat.input.focus()
    await before_a_reply(screen)
    watch.reset()
    started = press(app, "ctrl+s")
    # Awaited, not polled: a poll every millisecond woke the UI thread 1,000 times a second
    # for the whole reply, each time taking the GIL from the generating thread (on a GPU
    # that cost the chat a few per cent of its measured speed; a user's app never polls).
    try:
        await asyncio.wait_for(watch.finished.wait(), REPLY_TIMEOUT_S)
    except TimeoutError:
        raise TimeoutError(f"no reply in the app after {REPLY_TIMEOUT_S:.0f} s") from None
    end = (watch.end or started) - started
    first = (watch.first or watch.end or started) - started
    await settled(screen)
    return Generation(watch.text, watch.tokens, first, end)


async def measure(context: BenchContext) -> list[Metric]:
    options = context.options
    raw = context.raw_text()
    sampling = SamplingSettings(temperature=0.0, max_tokens=options.max_tokens)
    replies: dict[str, list[Generation]] = {"tui": [], "raw": []}
    async with real_app(context, options.max_tokens) as (app, _log):
        watch = PaneWatch(app.main_screen.chat)

        async def tui_side() -> dict[str, float]:
            reply = await tui_reply(app, watch)
            replies["tui"].append(reply)
            return reply.sample()

        async def raw_side() -> dict[str, float]:
            await before_a_reply(app.main_screen)
            call = context.raw_thread.call
            reply = await asyncio.to_thread(call, raw.generate, decode_messages(), sampling)
            replies["raw"].append(reply)
            return reply.sample()

        context.say(f"decoding {options.max_tokens} tokens in the app and raw, in turn…")
        paired = await alternate_async(tui_side, raw_side, options.decode_rounds)
    note = same_reply_note(replies["tui"], replies["raw"], "TUI")
    weights = context.text_model().estimated_bytes
    metrics = decode_metrics(paired, "TUI", TUI_GOALS, note)
    return metrics + bandwidth_metrics(paired, weights, "TUI")


def run(context: BenchContext) -> list[Metric]:
    context.raw_text()  # load the baseline before the app starts its own copy
    return asyncio.run(measure(context))
