"""The pool's budget: how much memory models may take, and how many may be loaded at once.

Users write the memory limit the way they think of it — "8GB", "512MB", "60%" of the
device's memory, or a bare number of gigabytes — and this module turns it into bytes once, so
the pool only ever compares integers. Units are binary (1 GB = 1024³ bytes), which is what
``mx.get_active_memory()`` and the operating system's RAM figures count in.

The device is where the models live (``device``): GPU memory on CUDA, the recommended
working set on a Mac (Metal), RAM on CPU. A limit larger than the device's memory is capped
to it, with a warning: MLX does not fail cleanly when memory runs out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from workbench.core.errors import InputError
from workbench.core.pool.device import DeviceMemory, device_memory
from workbench.core.units import format_bytes

__all__ = ["Budget", "make_budget", "parse_memory_limit", "total_memory_bytes"]

UNITS = {
    "": 1024**3,  # a bare number means gigabytes
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "gib": 1024**3,
    "t": 1024**4,
    "tb": 1024**4,
    "tib": 1024**4,
}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d*)?|\.\d+)\s*(%|[a-z]*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Budget:
    """What the pool may hold: at most ``memory_limit_bytes`` and ``max_models`` models."""

    memory_limit_bytes: int
    max_models: int
    device: str = field(default="", compare=False)  # e.g. "GPU memory (NVIDIA H200)"
    warning: str = field(default="", compare=False)  # why the limit was capped, if it was

    def __post_init__(self) -> None:
        if self.memory_limit_bytes <= 0:
            raise InputError(
                f"memory limit must be more than 0 bytes (got {self.memory_limit_bytes})"
            )
        if self.max_models < 1:
            raise InputError(f"max models must be at least 1 (got {self.max_models})")


def total_memory_bytes() -> int:
    """The memory of the device models live on (what "60%" is a percentage of)."""
    return device_memory().total_bytes


def parse_memory_limit(text: str | int | float, total_bytes: int | None = None) -> int:
    """Bytes for "8GB", "512MB", "60%", "1.5" (GB); ``InputError`` for anything else.

    ``total_bytes`` is the memory a percentage refers to (default: this device's).
    """
    if isinstance(text, bool):
        raise InputError(f"memory limit must be like 8GB, 512MB or 60% (got {text!r})")
    match = _PATTERN.match(str(text))
    if match is None:
        raise InputError(f"memory limit must be like 8GB, 512MB or 60% (got {text!r})")
    number, unit = float(match.group(1)), match.group(2).lower()
    if unit == "%":
        if not 0 < number <= 100:
            raise InputError(f"memory limit percentage must be in (0, 100] (got {text!r})")
        total = total_bytes if total_bytes is not None else total_memory_bytes()
        return int(total * number / 100)
    if unit not in UNITS:
        raise InputError(f"unknown memory unit {match.group(2)!r} in {text!r} (use GB, MB or %)")
    value = int(number * UNITS[unit])
    if value <= 0:
        raise InputError(f"memory limit must be more than 0 (got {text!r})")
    return value


def make_budget(
    memory_limit: str | int | float, max_models: int, device: DeviceMemory | None = None
) -> Budget:
    """A ``Budget`` from user-facing values (the config file, command-line flags).

    ``device`` (default: this machine's) is what a percentage is of, and the cap: a limit
    larger than the device's memory becomes that memory, and ``warning`` says so.
    """
    if isinstance(max_models, bool) or not isinstance(max_models, int):
        raise InputError(f"max models must be a whole number (got {max_models!r})")
    device = device or device_memory()
    limit = parse_memory_limit(memory_limit, device.total_bytes)
    budget = Budget(limit, max_models, device=device.describe())
    if limit <= device.total_bytes:
        return budget
    warning = (
        f"memory limit {format_bytes(limit)} is more than the {format_bytes(device.total_bytes)} "
        f"of {device.describe()}; using {format_bytes(device.total_bytes)}"
    )
    return replace(budget, memory_limit_bytes=device.total_bytes, warning=warning)
