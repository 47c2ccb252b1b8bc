"""Full garbage collections wait while a reply streams; young ones go on."""

from __future__ import annotations

import gc
import time
from collections.abc import Iterator

import pytest
from collections_held import restored_after_the_quiet_period, restored_within

from workbench.core.runner import collector
from workbench.core.runner.collector import (
    HELD_FULL_THRESHOLD,
    deferring_full_collections,
    full_collections_deferred,
)

QUIET_S = 0.05


@pytest.fixture(autouse=True)
def short_quiet(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Full collections come back ``QUIET_S`` after the last reply (1 s in the app)."""
    assert restored_after_the_quiet_period()  # an earlier test's reply's hold ends
    monkeypatch.setattr(collector, "QUIET_S", QUIET_S)
    yield
    assert restored_within(2.0)  # no test leaves the hold behind


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
    assert gc.get_threshold()[2] == HELD_FULL_THRESHOLD  # the reply's end is drawn first
    assert restored_within(2.0)
    assert gc.get_threshold() == before
    del kept


def test_a_reply_that_follows_at_once_keeps_the_hold() -> None:
    """Back-to-back replies (a chat, then the next question): no full collection between."""
    before = gc.get_threshold()
    with full_collections_deferred():
        pass
    time.sleep(QUIET_S / 5)
    with full_collections_deferred():
        time.sleep(QUIET_S * 2)  # longer than the quiet period the first reply began
        assert gc.get_threshold()[2] == HELD_FULL_THRESHOLD
    assert restored_within(2.0)
    assert gc.get_threshold() == before


def test_overlapping_holds_restore_the_thresholds_once_the_last_ends() -> None:
    before = gc.get_threshold()
    first, second = full_collections_deferred(), full_collections_deferred()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[2] == HELD_FULL_THRESHOLD  # a reply is still streaming
    second.__exit__(None, None, None)
    assert restored_within(2.0)
    assert gc.get_threshold() == before


def test_a_failing_handler_still_restores_the_thresholds() -> None:
    before = gc.get_threshold()

    def handler(request: str) -> None:
        assert gc.get_threshold()[2] == HELD_FULL_THRESHOLD
        raise RuntimeError(request)

    with pytest.raises(RuntimeError, match="boom"):
        deferring_full_collections(handler)("boom")
    assert restored_within(2.0)
    assert gc.get_threshold() == before


def test_replies_that_never_stop_still_get_a_full_collection_now_and_then(
    collections: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
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
    assert restored_within(2.0)
    assert gc.get_threshold() == before
    del kept, more
