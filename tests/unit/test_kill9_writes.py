"""kill -9 in the middle of writes: a session or the app's state file is always either the
old version or the new one — never half-written — and no finished save is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from workbench.core.sessions.store import SessionStore
from workbench.core.themes import remembered_theme

SESSION_WRITER = """
import sys
from pathlib import Path
from workbench.core.sessions.store import SessionMessage, SessionStore

store = SessionStore(Path(sys.argv[1]))
session = store.new_session()
for n in range(1, 10**6):
    session = store.save(session.with_message(SessionMessage("user", f"turn {n} " + "x" * 4000)))
    print(session.id, n, flush=True)
"""

THEME_WRITER = """
from workbench.core.themes import remember_theme

for n in range(1, 10**6):
    remember_theme(f"theme-{n}" + "-" * (n % 700))
    print(n, flush=True)
"""


def writer(script: str, *args: str, home: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
        "MLXBENCH_HOME": str(home),
    }
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def kill_after(proc: subprocess.Popen[str], saves: int, extra_delay: float) -> list[str]:
    """Let ``saves`` writes finish, wait a little more (mid-write, likely), then kill -9."""
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(saves)]
    time.sleep(extra_delay)
    os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate()
    return [line for line in [*lines, *rest.splitlines()] if line.strip()]


@pytest.mark.parametrize("delay", [0.0, 0.003, 0.011, 0.05])
def test_kill9_during_session_writes_loses_nothing_saved(tmp_path: Path, delay: float) -> None:
    root = tmp_path / "sessions"
    reported = kill_after(writer(SESSION_WRITER, str(root), home=tmp_path), 15, delay)
    session_id, last = reported[-1].split()[0], int(reported[-1].split()[1])
    result = SessionStore(root).list()
    assert result.problems == () and [s.id for s in result.sessions] == [session_id]
    messages = SessionStore(root).load(session_id).messages
    assert len(messages) >= last  # every save the writer finished is there
    assert [m.content.split()[1] for m in messages] == [str(n) for n in range(1, len(messages) + 1)]


@pytest.mark.parametrize("delay", [0.0, 0.002, 0.013])
def test_kill9_during_theme_state_writes_keeps_a_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, delay: float
) -> None:
    reported = kill_after(writer(THEME_WRITER, home=tmp_path), 30, delay)
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path))
    name = remembered_theme()  # None would mean the file was half-written (or lost)
    assert name is not None and name.startswith("theme-")
    assert int(name.removeprefix("theme-").rstrip("-")) >= int(reported[-1])
