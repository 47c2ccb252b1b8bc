"""The machine a benchmark ran on, so that figures from different runs can be read fairly.

Ratios travel between machines; absolute numbers do not. The JSON report carries the CPU,
cores, memory, OS, library versions and the BLAS in use next to the figures.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sys
from pathlib import Path

import psutil

from workbench.core.runner import blas


def cpu_model() -> str:
    """The CPU's marketing name (``/proc/cpuinfo`` on Linux, ``platform`` elsewhere)."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("model name", "Model", "cpu model") and value.strip():
                return value.strip()
    return platform.processor() or platform.machine()


def version_of(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def machine_info() -> dict[str, object]:
    """CPU, cores, RAM, OS, Python and MLX versions, and the BLAS this process uses."""
    info = blas.current()
    return {
        "cpu": cpu_model(),
        "cores_logical": os.cpu_count(),
        "cores_physical": psutil.cpu_count(logical=False),
        "ram_bytes": psutil.virtual_memory().total,
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "mlx": version_of("mlx"),
        "mlx_lm": version_of("mlx-lm"),
        "mlx_embeddings": version_of("mlx-embeddings"),
        "textual": version_of("textual"),
        "blas": blas.describe(),
        "blas_reason": info.reason if info else "not chosen yet",
        **_device(),
    }


def _device() -> dict[str, object]:
    """Where the models lived: the device, its memory, its bandwidth where known."""
    from workbench.bench.bandwidth import bandwidth_bytes_per_s
    from workbench.core.pool.device import device_memory

    memory = device_memory()
    return {
        "device": memory.describe(),
        "device_memory_bytes": memory.total_bytes,
        "device_bandwidth_bytes_per_s": bandwidth_bytes_per_s(memory.name),
    }
