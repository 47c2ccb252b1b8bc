"""Diagnostic variants of the bench's tui group, then probe.py as usual.

NODRAW=all: the reply's streamed text is never drawn; NODRAW=first: only its first text.
PAUSE=S: the idle pause before each reply (both sides). RAWPAUSE=0: the raw side starts at
once after the previous reply (the bench as it was before the pause was made symmetric).
"""
import os, runpy, sys, inspect
from workbench.tui.chat import streaming
from workbench.bench.ui import stream

MODE = os.environ.get("NODRAW", "")
if MODE:
    async def _write_buffer(self):
        if self._closed or not self._buffer:
            return False
        chunk = "".join(self._buffer)
        self._buffer.clear()
        self._drawn_chars += len(chunk)
        if not self._written:
            self._written = True
            if MODE == "first":
                await self.markdown.append(chunk)
        return True
    streaming.ReplyStream._write_buffer = _write_buffer
if "PAUSE" in os.environ:
    stream.TYPING_PAUSE_S = float(os.environ["PAUSE"])
if os.environ.get("RAWPAUSE") == "0":
    original = stream.before_a_reply
    async def before_a_reply(screen):
        if inspect.currentframe().f_back.f_code.co_name == "raw_side":
            return
        await original(screen)
    stream.before_a_reply = before_a_reply
if "SWITCH" in os.environ:
    from workbench.core.runner import mlx_hooks
    mlx_hooks.GIL_SWITCH_S = float(os.environ["SWITCH"])
print("variant:", {k: os.environ.get(k) for k in ("NODRAW", "PAUSE", "RAWPAUSE", "SWITCH")}, file=sys.stderr)
sys.argv = ["probe.py"] + sys.argv[1:]
runpy.run_path("docs/measurements/h200/probe.py", run_name="__main__")
