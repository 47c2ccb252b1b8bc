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
import sys
from collections.abc import Callable
from dataclasses import dataclass

from workbench.core.config import Config

BLAS_MODULE = "workbench.core.blas"


@dataclass(frozen=True)
class MlxHooks:
    """``start`` imports MLX and returns ``(blas, device)``; ``finish`` ends the thread's
    MLX use; the others measure and free."""

    start: Callable[[], tuple[str, str]]
    active_memory: Callable[[], int]
    release: Callable[[], None]
    finish: Callable[[], None] = lambda: None


def real_hooks(config: Config | None = None) -> MlxHooks:
    """The real MLX calls (``config.openblas`` decides the BLAS choice on Linux)."""
    setting = config.openblas if config is not None else "auto"
    return MlxHooks(
        start=lambda: start_mlx(setting),
        active_memory=active_memory,
        release=release,
        finish=finish,
    )


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


def finish() -> None:
    """At the end of the owner thread: destroy its MLX streams.

    MLX requires this of every thread that used it: left to thread-local destructors at
    exit, the streams' teardown aborted the process here about one run in two ("terminate
    called without an active exception", exit 134) after embeddings on a worker thread.
    """
    if "mlx.core" not in sys.modules:
        return
    gc.collect()
    import mlx.core as mx

    if hasattr(mx, "clear_streams"):
        mx.clear_streams()
