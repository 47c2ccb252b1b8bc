"""While a reply streams, Python's full garbage collections wait until a pause after it.

A full collection walks every object the process holds (the app, the tokenizer, the
model's modules: hundreds of thousands) with the GIL held, whichever thread triggers it.
With the app open it took 25–60 ms on the H200 machine's CPU and 100–140 ms on our 2-core
VM, a few times per 1,024-token reply: each one stopped the reply for as long (a token
normally takes 2–3 ms there). Young collections still run while a reply streams, so
short-lived cycles are freed as before. The full collection comes back once no reply has
streamed for ``QUIET_S``, and runs then if one is due, when a pause is not seen. Not at the
reply's end: the collections held back are due that moment, and the first allocation would
run one right when the app draws the reply's end (a 0.5 s reply on a GPU loses 5–10 % to
it) or, left to later allocations, when the next question is sent.

The collector's thresholds belong to the whole process, so holds are counted: nested or
overlapping replies (a batch) restore the thresholds once, after the last one ends. A server
that never goes quiet (a batch that keeps taking new requests) still gets a full
collection every ``MAX_HELD_S``: garbage that lived long enough to need one (a cycle holding
a finished request's arrays) must not wait for a pause that may never come.
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

# generation-1 collections allowed before a full one while held: never, in practice
HELD_FULL_THRESHOLD = 1_000_000_000
MAX_HELD_S = 30.0  # the longest full collections wait while replies keep streaming
QUIET_S = 1.0  # and how long they still wait once the last reply has ended

T = TypeVar("T")

_lock = threading.Lock()
_holds = 0
_saved: tuple[int, int, int] | None = None
_since = 0.0  # when the hold began, or when the last full collection ended while held
_clock = time.monotonic
_quiet: threading.Timer | None = None  # ends the hold ``QUIET_S`` after the last reply


@contextmanager
def full_collections_deferred() -> Iterator[None]:
    """No full (generation 2) collection starts inside this block, nor in the ``QUIET_S``
    after the last such block ends; young ones still do."""
    _hold()
    try:
        yield
    finally:
        _release()


def deferring_full_collections(handler: Callable[[T], None]) -> Callable[[T], None]:
    """``handler`` run inside ``full_collections_deferred`` (for a request handler)."""

    def held(request: T) -> None:
        with full_collections_deferred():
            handler(request)

    return held


def _hold() -> None:
    global _holds, _saved, _since, _quiet
    with _lock:
        if _quiet is not None:  # the last reply ended a moment ago: still held
            _quiet.cancel()
            _quiet = None
        if _saved is None:
            _saved = gc.get_threshold()
            _since = _clock()
            gc.set_threshold(_saved[0], _saved[1], HELD_FULL_THRESHOLD)
            gc.callbacks.append(_after_collection)
        _holds += 1


def _release() -> None:
    global _holds, _quiet
    with _lock:
        _holds -= 1
        if _holds == 0 and _saved is not None:
            quiet = threading.Timer(QUIET_S, lambda: _end_hold(quiet))
            quiet.daemon = True
            quiet.start()
            _quiet = quiet


def _end_hold(quiet: threading.Timer) -> None:
    """``QUIET_S`` after the last reply ended, unless another began: collect as usual, and
    run the full collection held back now, if one is due (left to the next allocations,
    it would run when the next question is sent)."""
    global _saved, _quiet
    with _lock:
        if _quiet is not quiet or _holds or _saved is None:  # a reply began meanwhile
            return
        _quiet = None
        saved, _saved = _saved, None
        gc.callbacks.remove(_after_collection)
        gc.set_threshold(*saved)
    if gc.get_count()[2] >= saved[2]:
        gc.collect()


def _after_collection(phase: str, info: dict[str, int]) -> None:
    """While held: let the next full collection happen once ``MAX_HELD_S`` has passed
    without one; hold again once it has run."""
    global _since
    saved = _saved
    if phase != "stop" or saved is None:
        return
    if info["generation"] == 2:
        _since = _clock()
        gc.set_threshold(saved[0], saved[1], HELD_FULL_THRESHOLD)
    elif _clock() - _since > MAX_HELD_S:
        gc.set_threshold(*saved)
