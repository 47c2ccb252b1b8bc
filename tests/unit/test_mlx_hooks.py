"""``mlx_hooks.isolate``: the garbage collector's view while a load is measured.

Real ``gc`` objects, no MLX: finishing MLX work in flight is stubbed out. What the pool's
load measurement relies on: garbage that existed before the load is not collected during
it, even by a full ``gc.collect()`` (so it cannot make the model look smaller); garbage the
load makes is; and afterwards (also after a failed load) everything is collectable again,
so an eviction's full collection still frees it all.
"""

from __future__ import annotations

import gc
import weakref

import pytest

from workbench.core.runner import mlx_hooks


class Node:
    """One half of a reference cycle: freed only by the cycle collector."""

    def __init__(self) -> None:
        self.other = self


def cyclic_garbage() -> weakref.ref[Node]:
    node = Node()
    ref = weakref.ref(node)
    del node
    return ref


@pytest.fixture(autouse=True)
def no_mlx(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mlx_hooks, "wait_for_mlx", lambda: None)


def test_older_garbage_survives_collections_inside_and_goes_after() -> None:
    gc.collect()
    older = cyclic_garbage()
    with mlx_hooks.isolate():
        newer = cyclic_garbage()
        gc.collect()  # a full collection, as Python's own may run mid-load
        assert older() is not None  # still held: the memory it holds cannot come and go
        assert newer() is None  # the load's own garbage is collected
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert older() is None


def test_a_failed_load_leaves_nothing_frozen() -> None:
    older = cyclic_garbage()
    with pytest.raises(RuntimeError), mlx_hooks.isolate():
        raise RuntimeError("the load failed")
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert older() is None


def test_the_real_hooks_measure_loads_in_isolation() -> None:
    assert mlx_hooks.real_hooks().isolate is mlx_hooks.isolate


def test_starting_mlx_lets_the_owner_thread_take_the_gil_back_within_a_millisecond() -> None:
    """Python's default (5 ms) made a request wait for the GIL while the app drew."""
    import sys

    before = sys.getswitchinterval()
    try:
        sys.setswitchinterval(0.005)
        mlx_hooks.shorten_gil_switch()  # what start_mlx does first, on the owner thread
        assert sys.getswitchinterval() <= mlx_hooks.GIL_SWITCH_S == 0.001
        sys.setswitchinterval(0.0002)  # a shorter one someone chose is kept
        mlx_hooks.shorten_gil_switch()
        assert sys.getswitchinterval() == pytest.approx(0.0002)
    finally:
        sys.setswitchinterval(before)
