"""Fixtures for the cluster tests: the tiny llama that splits over 2 ranks, and a watch on
every process a test's rank group starts, so none survives a test — even a failing one.

Rank groups are found from outside, the way a user would look: the processes whose command
line names the test model's folder (``mlx.launch`` and each rank carry it).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from rank_processes import group_processes
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


@pytest.fixture
def no_leftovers(tiny_llama_dir: Path) -> Iterator[None]:
    """After the test: no process of its group may be left; any that is, is killed."""
    yield
    left = group_processes(tiny_llama_dir)
    for process in left:
        with contextlib.suppress(psutil.Error):
            process.kill()
    assert not left, f"processes left behind: {[p.cmdline() for p in left]}"
