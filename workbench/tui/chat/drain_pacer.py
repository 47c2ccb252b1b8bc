"""How often a streamed reply may be redrawn: as often as the UI thread can afford.

Every redraw of the reply (Markdown parsing, layout, painting) runs on the UI thread and
holds the GIL, which on a GPU the generating thread needs to build each next step. A fixed
redraw rate costs nothing at 10 tok/s and halves decode at 500 tok/s. So the pacer reads
the UI thread's own CPU clock (``time.thread_time``) and lets the next drain happen only
once the UI's CPU time since the last drain is at most ``share`` of the wall time since
then: a redraw that costs 2 ms allows ~12 redraws a second at 2.5 %, one that costs 10 ms
about 2.5. ``delay`` says how long until the next drain is due, so the drain's timer
sleeps until then instead of ticking at the top rate to ask.

New text never waits longer than ``max_interval`` — at a reading pace. A redraw's cost
grows with the reply's last block (Textual lays out and paints the whole block again), so
near the end of a long reply it can pass ``share`` of that interval; while text streams
faster than anyone reads (``fast_chars_per_s``: a GPU's pace, where each redraw is taken
from the model's steps), the share wins and the wait may stretch to
``fast_max_interval``. Slow text (a CPU's 10 tok/s, whose steps barely need the GIL)
keeps the shorter wait: there the few new words matter more than the share.

The pace is learnt from the text that has arrived (``arrived``), not only from what was
drawn: after the first text, nothing is drawn for a while, and a pace read only at drains
was unknown until the second one. Until then the short wait applied, so on the H200 every
256-token reply that outlasted 0.75 s was redrawn once more (tens of milliseconds of the UI
thread) just before its end.
"""

from __future__ import annotations

import time
from collections.abc import Callable

SHARE = 0.025  # of wall time the UI thread may spend on a streaming reply
MIN_INTERVAL_S = 1 / 30  # never redraw more often than this (the timer's own period)
MAX_INTERVAL_S = 0.75  # and never leave new text undrawn for longer than this…
FAST_MAX_INTERVAL_S = 2.0  # …or this, while the text streams faster than:
FAST_CHARS_PER_S = 250.0  # ~60 tokens a second
EARLY_S = 0.001  # a timer that wakes this much before the drain is due finds it due


class DrainPacer:
    """Decides whether a drain is due; call ``drained`` after each one."""

    def __init__(
        self,
        share: float = SHARE,
        min_interval: float = MIN_INTERVAL_S,
        max_interval: float = MAX_INTERVAL_S,
        clock: Callable[[], float] = time.perf_counter,
        cpu_clock: Callable[[], float] = time.thread_time,
        fast_max_interval: float = FAST_MAX_INTERVAL_S,
        fast_chars_per_s: float = FAST_CHARS_PER_S,
    ) -> None:
        self.share = share
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.fast_max_interval = fast_max_interval
        self.fast_chars_per_s = fast_chars_per_s
        self._clock = clock
        self._cpu_clock = cpu_clock
        self._wall = float("-inf")  # the first drain is due at once
        self._cpu = 0.0
        self._first: tuple[float, int] | None = None  # when the first drain was, its length
        self._fast = False

    @property
    def longest_wait(self) -> float:
        """The longest new text may wait now (longer while it streams fast)."""
        return self.fast_max_interval if self._fast else self.max_interval

    def due(self) -> bool:
        """Whether the UI has been quiet enough since the last drain to draw again."""
        return self.delay() <= EARLY_S

    def delay(self) -> float:
        """Seconds until a drain is due, if the UI spends no more CPU meanwhile (0: now).

        The drain's timer sleeps this long instead of ticking at the top rate and asking.
        """
        waited = self._clock() - self._wall
        longest = self.longest_wait
        if waited >= longest:
            return 0.0
        affordable_after = (self._cpu_clock() - self._cpu) / self.share
        due_after = min(max(affordable_after, self.min_interval), longest)
        return max(0.0, due_after - waited)

    def drained(self, drawn_chars: int = 0) -> None:
        """A drain just happened, and the reply has ``drawn_chars`` characters on screen
        now: measure the next interval from here, and how fast the text comes."""
        self._wall = self._clock()
        self._cpu = self._cpu_clock()
        if self._first is None:
            self._first = (self._wall, drawn_chars)
            return
        self.arrived(drawn_chars)

    def arrived(self, chars: int) -> None:
        """The reply has ``chars`` characters so far, drawn or not: how fast the text
        comes since the first drain (nothing is known before it)."""
        if self._first is None:
            return
        seconds = self._clock() - self._first[0]
        self._fast = seconds > 0 and (chars - self._first[1]) / seconds >= self.fast_chars_per_s
