"""Group "startup": from typing ``mlxbench`` to the first frame on screen.

Measured as a user sees it: the command runs in a fresh process on a pseudo-terminal
(120×40), and the clock stops when the first frame's content (the "Embeddings" tab label)
is written to the terminal. Python's start-up and every import on the way count. The app is
then asked to quit with Ctrl+Q (and killed if it does not).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time

from workbench.bench.context import BenchContext
from workbench.bench.harness import Goal, Metric, NotAvailable, median, repeat

FRAME_MARKER = b"Embeddings"
ALT_SCREEN = b"\x1b[?1049h"
QUIT = b"\x11"  # Ctrl+Q
ROWS, COLUMNS = 40, 120
FIRST_FRAME_GOAL = Goal("<", 1.0, on="a", unit="s")
TIMEOUT_S = 60.0


def command() -> list[str]:
    """``mlxbench`` with no arguments, run by this interpreter."""
    return [sys.executable, "-m", "workbench.cli"]


def _readable(text: bytes) -> str:
    """The last line of terminal output, without escape sequences."""
    plain = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", b"", text)
    lines = [ln.strip() for ln in plain.decode(errors="replace").splitlines() if ln.strip()]
    return lines[-1] if lines else "no output"


def _spawn(master: int, slave: int) -> subprocess.Popen:
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(COLUMNS), "LINES": str(ROWS)}
    return subprocess.Popen(
        command(), stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True
    )


def _read_until_frame(master: int, child: subprocess.Popen, started: float) -> float:
    seen = b""
    while time.perf_counter() - started < TIMEOUT_S:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                seen += os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            at = seen.find(ALT_SCREEN)
            if at >= 0 and FRAME_MARKER in seen[at:]:
                return time.perf_counter() - started
        elif child.poll() is not None:
            break
    raise NotAvailable(f"the app drew no frame (it said: {_readable(seen)})")


def _stop(master: int, child: subprocess.Popen) -> None:
    """Ask the app to quit, reading its output meanwhile (a full terminal would block it)."""
    with contextlib.suppress(OSError):
        os.write(master, QUIT)
    deadline = time.perf_counter() + 15
    while child.poll() is None and time.perf_counter() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                os.read(master, 65536)
            except OSError:  # terminal closed: the app is exiting
                time.sleep(0.01)
    if child.poll() is None:
        child.kill()
    child.wait(timeout=15)


def first_frame_seconds() -> float:
    """Seconds from starting ``mlxbench`` to its first frame on a pseudo-terminal."""
    master, slave = pty.openpty()
    try:
        started = time.perf_counter()
        child = _spawn(master, slave)
        os.close(slave)
        slave = -1
        try:
            return _read_until_frame(master, child, started)
        finally:
            _stop(master, child)
    finally:
        os.close(master)
        if slave >= 0:
            os.close(slave)


def run(context: BenchContext) -> list[Metric]:
    context.say("starting mlxbench on a pseudo-terminal…")
    rounds = 1 if context.options.quick else 5
    samples = repeat(lambda: {"frame": first_frame_seconds()}, rounds)["frame"]
    return [
        Metric("start to first frame", "s", median(samples), a_label="mlxbench",
               a_samples=tuple(samples), goal=FIRST_FRAME_GOAL,
               note="fresh process on a 120×40 pseudo-terminal, median"),
    ]  # fmt: skip
