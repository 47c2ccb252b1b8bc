"""Stop sequences: cut the reply where one appears, and never send a part of one.

The engine knows only the model's own stop tokens; OpenAI's ``stop`` strings are matched
here, on the streamed text. Text that could be the start of a stop string is held back
until the next piece shows whether it is; when a stop string completes, everything before
it is released and the generation is cancelled (within a token step).
"""

from __future__ import annotations


class StopScanner:
    """Feed streamed pieces; get back what may be sent. ``hit`` once a stop string matched."""

    def __init__(self, stops: list[str]) -> None:
        self.stops = [s for s in stops if s]
        self.hit = False
        self._held = ""

    def feed(self, text: str) -> str:
        """The part of ``text`` (with what was held) that is safe to send now."""
        if self.hit:
            return ""
        if not self.stops:
            return text
        held = self._held + text
        found = [i for i in (held.find(s) for s in self.stops) if i >= 0]
        if found:
            self.hit, self._held = True, ""
            return held[: min(found)]
        keep = self._partial(held)
        self._held = held[len(held) - keep :] if keep else ""
        return held[: len(held) - keep]

    def flush(self) -> str:
        """At the end of a generation: what was held back (it never became a stop string)."""
        held, self._held = self._held, ""
        return "" if self.hit else held

    def _partial(self, text: str) -> int:
        """The longest end of ``text`` that is the beginning of a stop string."""
        best = 0
        for stop in self.stops:
            for size in range(min(len(stop) - 1, len(text)), best, -1):
                if text.endswith(stop[:size]):
                    best = size
                    break
        return best
