"""A test's rank processes, found from outside as a user would: the processes whose
command line names the test model's folder (``mlx.launch`` and each rank carry it).

A module of its own, not the folder's ``conftest``: test modules import it by name, and a
name shared by several test folders (``conftest``) resolves to whichever was loaded last.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import psutil


def group_processes(folder: Path) -> list[psutil.Process]:
    """Running processes (zombies excluded) whose command line names ``folder``."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        with contextlib.suppress(psutil.Error):
            cmdline = process.info["cmdline"] or []
            if process.info["status"] != psutil.STATUS_ZOMBIE and str(folder) in cmdline:
                found.append(process)
    return found


def rank_pids(folder: Path) -> list[int]:
    """Pids of the rank processes (the worker module), rank order unknown."""
    return [
        p.pid
        for p in group_processes(folder)  # their command lines as read (one may die since)
        if "workbench.core.cluster.worker" in p.info["cmdline"]
        and "-c" not in p.info["cmdline"][:2]
    ]


def wait_until_gone(pid: int, timeout: float = 30.0) -> None:
    """Wait until ``pid`` has died (a zombie not yet reaped counts as dead)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return
        except psutil.NoSuchProcess:
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} still runs")
