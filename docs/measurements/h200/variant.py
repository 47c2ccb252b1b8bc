"""Diagnostic variants of the bench's tui group, then probe.py as usual.

NODRAW=all: the reply's streamed text is never drawn; NODRAW=first: only its first text.
PAUSE=S: the idle pause before each reply (both sides). RAWPAUSE=0: the raw side starts at
once after the previous reply (the bench as it was before the pause was made symmetric).
SWITCH=S: the GIL switch interval while MLX generates.
"""

import inspect
import os
import runpy
import sys

from workbench.bench.ui import stream
from workbench.tui.chat import streaming

MODE = os.environ.get("NODRAW", "")
VARIABLES = ("NODRAW", "PAUSE", "RAWPAUSE", "SWITCH")


_drawn_buffer = streaming.ReplyStream._write_buffer


async def _write_buffer(self) -> bool:
    """The app's own drain, with its drawing calls skipped: all of them (NODRAW=all) or all
    but the reply's first text (NODRAW=first)."""

    async def skip(_chunk: str) -> None:
        return None

    keep_first = MODE == "first" and not self._written
    self._stream.write = skip
    if not keep_first:
        self.markdown.append = skip
    try:
        return await _drawn_buffer(self)
    finally:
        del self._stream.write
        if not keep_first:
            del self.markdown.append


def _skip_the_raw_sides_pause() -> None:
    original = stream.before_a_reply

    async def before_a_reply(screen) -> None:
        caller = inspect.currentframe().f_back  # type: ignore[union-attr]
        if caller is not None and caller.f_code.co_name == "raw_side":
            return
        await original(screen)

    stream.before_a_reply = before_a_reply


if MODE:
    streaming.ReplyStream._write_buffer = _write_buffer
if "PAUSE" in os.environ:
    stream.TYPING_PAUSE_S = float(os.environ["PAUSE"])
if os.environ.get("RAWPAUSE") == "0":
    _skip_the_raw_sides_pause()
if "SWITCH" in os.environ:
    from workbench.core.runner import mlx_hooks

    mlx_hooks.GIL_SWITCH_S = float(os.environ["SWITCH"])
print("variant:", {k: os.environ.get(k) for k in VARIABLES}, file=sys.stderr)
sys.argv = ["probe.py", *sys.argv[1:]]
runpy.run_path("docs/measurements/h200/probe.py", run_name="__main__")
