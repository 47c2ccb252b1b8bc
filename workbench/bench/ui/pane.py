"""Group "pane": does adding to a chat cost the same at 10 and at 1,000 messages?

The real app runs headless with ``EchoRunner`` (no model), so only the app's own costs
count. Two measurements, each at 10 and at 1,000 messages, alternated: appending a message
to the chat pane until the screen has settled, and a whole turn as the user does it (Ctrl+S
with the question typed → the question saved and shown → the reply shown), which also pays
for saving the session file.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from workbench.bench.context import BenchContext
from workbench.bench.harness import Goal, Metric, Paired
from workbench.bench.ui.appkit import (
    SCREEN_SIZE,
    EchoRunner,
    press,
    sessions_dir,
    settled,
    wait_until,
)
from workbench.core.sessions.store import Session, SessionMessage
from workbench.core.types import Family, ModelInfo, ModelKind

FLAT_GOAL = Goal("<=", 1.2)
SIZES = (10, 1000)
ECHO_MODEL = ModelInfo(
    id="bench/echo", name="echo", path=Path("/nonexistent/echo"), kind=ModelKind.TEXT,
    family=Family.OTHER, source="path",
)  # fmt: skip
REPLY = (
    "Here is what I found:\n\n- the first point, with *emphasis*\n- the second point\n\n"
    "```python\nprint('hello')\n```\n\nAnything else?"
)


def transcript(session: Session, count: int) -> Session:
    """``session`` with ``count`` alternating questions and Markdown replies."""
    messages = []
    for index in range(count):
        if index % 2 == 0:
            messages.append(SessionMessage("user", f"Question number {index // 2 + 1}?"))
        else:
            messages.append(SessionMessage("assistant", REPLY, model_id=ECHO_MODEL.id))
    return replace(session, model_id=ECHO_MODEL.id, messages=tuple(messages))


async def show(screen, session: Session) -> None:
    """Open ``session`` the way the sessions screen does (save, resume, show)."""
    screen.controller.store.save(session)
    screen.controller.resume(session.id)
    await screen.chat.show_session(screen.controller.session, screen.names)


async def append_once(screen) -> float:
    """Seconds from adding a message to the pane until the screen has repainted."""
    await settled(screen)
    message = SessionMessage("assistant", REPLY, model_id=ECHO_MODEL.id)
    started = time.perf_counter()
    await screen.chat.add_messages([message], screen.names)
    return await settled(screen) - started


async def send_once(screen) -> float:
    """Seconds from Ctrl+S until question and reply are saved, shown and repainted."""
    before = len(screen.controller.session.messages)
    screen.chat.input.text = "One more question?"
    screen.chat.input.focus()
    await settled(screen)
    started = press(screen.app, "ctrl+s")
    await wait_until(
        lambda: len(screen.controller.session.messages) == before + 2
        and not screen.chat.streaming,
        30, "the echo reply",
    )  # fmt: skip
    return await settled(screen) - started


async def measure(rounds: int, per_round: int, folder: Path) -> tuple[Paired, dict[int, int]]:
    from workbench.tui.app import MlxbenchApp

    app = MlxbenchApp(
        [ECHO_MODEL], EchoRunner, sessions_dir(folder), export_dir=folder / "exports",
        theme="textual-dark",
    )  # fmt: skip
    paired = Paired()
    mounted: dict[int, int] = {}
    async with app.run_test(size=SCREEN_SIZE):
        screen = app.main_screen
        bases = {n: transcript(screen.controller.store.new_session(), n) for n in SIZES}
        for index in range(rounds + 1):  # round 0 is the warm-up
            order = SIZES if index % 2 == 0 else SIZES[::-1]
            for size in order:
                await show(screen, bases[size])
                mounted[size] = len(screen.chat.log_view.messages)
                appends = [await append_once(screen) for _ in range(per_round)]
                await show(screen, bases[size])
                sends = [await send_once(screen) for _ in range(per_round)]
                side = "b" if size == SIZES[0] else "a"
                for append, send in zip(appends, sends, strict=True):
                    if index:
                        paired.add(side, {"append": append, "send": send})
    return paired, mounted


def run(context: BenchContext) -> list[Metric]:
    options = context.options
    per_round = 2 if options.quick else 8
    context.say(f"appending to transcripts of {SIZES[0]} and {SIZES[1]} messages…")
    with tempfile.TemporaryDirectory(prefix="mlxbench-bench-") as tmp:
        paired, mounted = asyncio.run(measure(options.rounds, per_round, Path(tmp)))
    labels = (f"{SIZES[1]} msgs", f"{SIZES[0]} msgs")
    widgets = ", ".join(f"{mounted.get(n, '?')} of {n}" for n in SIZES[::-1])
    return [
        paired.metric(
            "append", "append a message to the pane", "s", labels, goal=FLAT_GOAL,
            note=f"messages mounted as widgets before appending: {widgets}",
        ),
        paired.metric(
            "send", "send a turn (instant model), shown", "s", labels, goal=FLAT_GOAL,
            note="includes saving the session file, which grows with the transcript",
        ),
    ]  # fmt: skip
