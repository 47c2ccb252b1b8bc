"""The few MLX calls the runner makes itself, behind plain functions it can be given.

The runner owns the MLX thread: it imports MLX there (after choosing the BLAS, which must
happen before the import), measures active memory around each load (inside ``isolate``),
and gives memory back after an eviction. Those calls live here so the runner and the pool
stay testable with fakes; ``MlxHooks`` is what tests replace. MLX is imported inside the
functions only.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.util
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass

from workbench.core.config import Config

BLAS_MODULE = "workbench.core.runner.blas"
# where mlx-lm and mlx-vlm keep the (thread-local) stream they generate on
GENERATION_STREAM_MODULES = ("mlx_lm.generate", "mlx_vlm.generate.common")
# How long another thread may hold the GIL before the owner thread gets it back (Python's
# default is 5 ms). See ``shorten_gil_switch``.
GIL_SWITCH_S = 0.001


@dataclass(frozen=True)
class MlxHooks:
    """``start`` imports MLX and returns ``(blas, device)``; ``finish`` ends the thread's
    MLX use; ``isolate`` is the context a load is measured in; the others measure and free."""

    start: Callable[[], tuple[str, str]]
    active_memory: Callable[[], int]
    release: Callable[[], None]
    finish: Callable[[], None] = lambda: None
    isolate: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext


def real_hooks(config: Config | None = None) -> MlxHooks:
    """The real MLX calls (``config.openblas`` decides the BLAS choice on Linux)."""
    setting = config.openblas if config is not None else "auto"
    return MlxHooks(
        start=lambda: start_mlx(setting),
        active_memory=active_memory,
        release=release,
        finish=finish,
        isolate=isolate,
    )


def start_mlx(blas_setting: str = "auto") -> tuple[str, str]:
    """On the owner thread: choose the BLAS, import MLX; returns ``(blas, device)``."""
    shorten_gil_switch()
    blas = "MLX's own BLAS"
    if importlib.util.find_spec(BLAS_MODULE) is not None:
        blas = importlib.import_module(BLAS_MODULE).prepare(blas_setting).describe()
    import mlx.core as mx

    device = mx.default_device()
    return blas, getattr(device.type, "name", str(device))


def shorten_gil_switch() -> None:
    """Let the owner thread wait at most ``GIL_SWITCH_S`` for the GIL, not 5 ms.

    On a GPU the generating thread is Python-bound: it builds each step's graph, waits for
    the GPU with the GIL released, then needs the GIL back at once. While the UI thread or
    a server's event loop runs Python (a layout, a response), Python hands the GIL over only
    every switch interval: with the default 5 ms, a request picked up while the app drew
    the screen started ~5 ms late, and a token at 500 tok/s (2 ms) could wait two tokens'
    time. One millisecond keeps that wait small; the extra switches cost microseconds.
    """
    if sys.getswitchinterval() > GIL_SWITCH_S:
        sys.setswitchinterval(GIL_SWITCH_S)


def active_memory() -> int:
    """Bytes MLX holds in arrays right now (parameters, caches in use)."""
    import mlx.core as mx

    return int(mx.get_active_memory())


def release() -> None:
    """Give freed arrays' memory back: collect cycles, then empty MLX's buffer cache."""
    gc.collect()
    import mlx.core as mx

    mx.clear_cache()


@contextlib.contextmanager
def isolate() -> Iterator[None]:
    """While a load is measured, nothing but the load may change MLX's active memory.

    Two things could, each making the model look smaller than it is:

    - Work still in flight: mlx-lm evaluates the next token asynchronously, so when a reply
      stops, its last step is still running and holds the turn's arrays (about 8 MB for
      SmolLM2) for ~20 ms; MiniLM loaded right after measured 82.7 MB instead of 86.6.
      ``wait_for_mlx`` finishes that work before the baseline is read. (A full
      ``gc.collect()`` before the baseline used to hide this by taking ~30 ms.)
    - Python's cycle collector, which may run at any moment (any thread's allocations
      trigger it) and free arrays that older garbage holds. ``gc.freeze()`` puts every
      object that exists now out of every collection's reach, so such garbage stays put and
      cancels out of the delta, and the ``release()`` around the load collects only what
      is new (about 1 ms) where a full collection scans the whole heap (~90,000 objects
      with transformers imported: 25-40 ms here, and it ran twice per load). Freezing and
      unfreezing are constant time; nothing else in the process freezes, so unfreezing
      hands every object back to the collector (an eviction's full collection frees it).
    """
    wait_for_mlx()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def wait_for_mlx() -> None:
    """Finish the MLX work queued on this thread's streams (the engines' included)."""
    import mlx.core as mx

    mx.synchronize()
    for name in GENERATION_STREAM_MODULES:
        stream = getattr(sys.modules.get(name), "generation_stream", None)
        if stream is not None:
            mx.synchronize(stream)


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
