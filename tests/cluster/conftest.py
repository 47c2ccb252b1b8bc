"""Fixtures for the cluster tests: the tiny llama that splits over 2 ranks, and a watch on
every process a test's rank group starts, so none survives a test — even a failing one.

Rank groups are found from outside, the way a user would look: the processes whose command
line names the test model's folder (``mlx.launch`` and each rank carry it).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from tiny_llama import build_tiny_llama  # tests/cluster is on sys.path (rootdir-less conftest)


@pytest.fixture(scope="session")
def tiny_llama_dir(smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer random llama, 4 heads and 2 key/value heads, with SmolLM2's tokenizer."""
    return build_tiny_llama(tmp_path_factory.mktemp("cluster") / "tiny-llama-tp", smollm2_dir)


@pytest.fixture(scope="session")
def nine_heads_dir(smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same, with SmolLM2's head counts (9 heads, 3 key/value heads)."""
    dest = tmp_path_factory.mktemp("cluster") / "tiny-llama-9h"
    return build_tiny_llama(dest, smollm2_dir, heads=9, kv_heads=3)


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


@pytest.fixture
def no_leftovers(tiny_llama_dir: Path) -> Iterator[None]:
    """After the test: no process of its group may be left; any that is, is killed."""
    yield
    left = group_processes(tiny_llama_dir)
    for process in left:
        with contextlib.suppress(psutil.Error):
            process.kill()
    assert not left, f"processes left behind: {[p.cmdline() for p in left]}"
