"""The memory of the device the models live on: what a budget is a share of.

MLX keeps weights in GPU memory on CUDA, in unified memory on a Mac (where Metal's
recommended working set is what a process can use without swapping), and in RAM on CPU.
The device is found without importing MLX where that is enough (CPU: RAM from psutil);
only a CUDA or Metal build of MLX is asked (``mx.device_info()``).
"""

from __future__ import annotations

import functools
import importlib
import importlib.metadata
import sys
from collections.abc import Mapping
from dataclasses import dataclass

CUDA_DISTRIBUTIONS = ("mlx-cuda-13", "mlx-cuda-12", "mlx-cuda")


@dataclass(frozen=True)
class DeviceMemory:
    """How much memory models may live in, and where (``kind``: "gpu", "metal", "ram")."""

    total_bytes: int
    kind: str
    name: str = ""

    def describe(self) -> str:
        """E.g. "GPU memory (NVIDIA H200)", "Metal working set (Apple M4 Max)", "RAM"."""
        what = {"gpu": "GPU memory", "metal": "Metal working set", "ram": "RAM"}[self.kind]
        return f"{what} ({self.name})" if self.name else what


def from_device_info(info: Mapping[str, object], ram_bytes: int) -> DeviceMemory:
    """The memory ``mx.device_info()`` describes; RAM when it names no device memory.

    CUDA reports ``total_memory``; Metal ``max_recommended_working_set_size`` (and
    ``memory_size``, the whole unified memory); the CPU build neither.
    """
    name = str(info.get("device_name", "") or "")
    working_set = info.get("max_recommended_working_set_size")
    if isinstance(working_set, int) and working_set > 0:
        return DeviceMemory(working_set, "metal", name)
    total = info.get("total_memory")
    if isinstance(total, int) and total > 0:
        return DeviceMemory(total, "gpu", name)
    return DeviceMemory(ram_bytes, "ram")


def ram_bytes() -> int:
    import psutil

    return int(psutil.virtual_memory().total)


def has_gpu_build() -> bool:
    """Whether MLX here can use a GPU: a Mac (Metal) or a CUDA build installed."""
    if sys.platform == "darwin":
        return True
    for name in CUDA_DISTRIBUTIONS:
        try:
            importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        return True
    return False


@functools.cache
def device_memory() -> DeviceMemory:
    """This machine's device memory (asked once per process)."""
    ram = ram_bytes()
    if not has_gpu_build():
        return DeviceMemory(ram, "ram")
    try:
        # Imported by name: the budget module is reachable from the UI layer, which must
        # never import MLX; only commands (before the app starts) call this function.
        mx = importlib.import_module("mlx.core")
        if mx.default_device() != mx.gpu:
            return DeviceMemory(ram, "ram")
        return from_device_info(mx.device_info(), ram)
    except Exception:  # no usable GPU after all: the models live in RAM
        return DeviceMemory(ram, "ram")
