"""Full garbage collections wait while a reply streams; young ones go on."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from workbench.core.runner.collector import (
    HELD_FULL_THRESHOLD,
    deferring_full_collections,
    full_collections_deferred,
)


class Cycle:
    def __init__(self) -> None:
        self.me = self


@pytest.fixture
def collections() -> Iterator[list[int]]:
    """The generation of every collection that runs meanwhile."""
    seen: list[int] = []

    def record(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            seen.append(info["generation"])

    gc.collect()
    gc.callbacks.append(record)
    yield seen
    gc.callbacks.remove(record)


def churn() -> list[Cycle]:
    """Enough cyclic garbage for many young collections, and survivors for a full one."""
    kept = []
    for index in range(400_000):
        cycle = Cycle()
        if index % 2:
            kept.append(cycle)
    return kept


def test_the_same_work_runs_full_collections_when_not_held(collections: list[int]) -> None:
    kept = churn()
    assert 2 in collections and 0 in collections
    del kept


def test_no_full_collection_starts_while_held(collections: list[int]) -> None:
    before = gc.get_threshold()
    with full_collections_deferred():
        assert gc.get_threshold() == (before[0], before[1], HELD_FULL_THRESHOLD)
        kept = churn()
    assert 0 in collections and 1 in collections  # young garbage is still collected
    assert 2 not in collections
    assert gc.get_threshold() == before
    del kept


def test_overlapping_holds_restore_the_thresholds_once_the_last_ends() -> None:
    before = gc.get_threshold()
    first, second = full_collections_deferred(), full_collections_deferred()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[2] == HELD_FULL_THRESHOLD  # a reply is still streaming
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before


def test_a_failing_handler_still_restores_the_thresholds() -> None:
    before = gc.get_threshold()

    def handler(request: str) -> None:
        assert gc.get_threshold()[2] == HELD_FULL_THRESHOLD
        raise RuntimeError(request)

    with pytest.raises(RuntimeError, match="boom"):
        deferring_full_collections(handler)("boom")
    assert gc.get_threshold() == before


def test_replies_that_never_stop_still_get_a_full_collection_now_and_then(
    collections: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    from workbench.core.runner import collector

    now = [1000.0]
    monkeypatch.setattr(collector, "_clock", lambda: now[0])
    before = gc.get_threshold()
    with full_collections_deferred():
        kept = churn()
        assert 2 not in collections
        now[0] += collector.MAX_HELD_S + 1  # streaming for longer than that, with no pause
        more = churn()
        assert collections.count(2) == 1  # one, then held again
        assert gc.get_threshold()[2] == HELD_FULL_THRESHOLD
    assert gc.get_threshold() == before
    del kept, more
