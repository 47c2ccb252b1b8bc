"""The few MLX calls the runner makes itself, behind plain functions it can be given.

The runner owns the MLX thread: it imports MLX there (after choosing the BLAS, which must
happen before the import), measures active memory around each load, and gives memory back
after an eviction. Those calls live here so the runner and the pool stay testable with
fakes; ``MlxHooks`` is what tests replace. MLX is imported inside the functions only.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass

from workbench.core.config import Config

BLAS_MODULE = "workbench.core.blas"


@dataclass(frozen=True)
class MlxHooks:
    """``start`` imports MLX and returns ``(blas, device)``; the others measure and free."""

    start: Callable[[], tuple[str, str]]
    active_memory: Callable[[], int]
    release: Callable[[], None]


def real_hooks(config: Config | None = None) -> MlxHooks:
    """The real MLX calls (``config.openblas`` decides the BLAS choice on Linux)."""
    setting = config.openblas if config is not None else "auto"
    return MlxHooks(start=lambda: start_mlx(setting), active_memory=active_memory, release=release)


def start_mlx(blas_setting: str = "auto") -> tuple[str, str]:
    """On the owner thread: choose the BLAS, import MLX; returns ``(blas, device)``."""
    blas = "MLX's own BLAS"
    if importlib.util.find_spec(BLAS_MODULE) is not None:
        blas = importlib.import_module(BLAS_MODULE).prepare(blas_setting).describe()
    import mlx.core as mx

    device = mx.default_device()
    return blas, getattr(device.type, "name", str(device))


def active_memory() -> int:
    """Bytes MLX holds in arrays right now (parameters, caches in use)."""
    import mlx.core as mx

    return int(mx.get_active_memory())


def release() -> None:
    """Give freed arrays' memory back: collect cycles, then empty MLX's buffer cache."""
    gc.collect()
    import mlx.core as mx

    mx.clear_cache()
