"""Waiting for the garbage collector's thresholds to come back after a reply.

Full collections held back while a reply streams come back ``collector.QUIET_S`` after the
last reply ended, on a timer thread; tests that check they do wait for it here.
"""

from __future__ import annotations

import gc
import time

from workbench.core.runner import collector
from workbench.core.runner.collector import HELD_FULL_THRESHOLD


def restored_within(seconds: float) -> bool:
    """Whether full collections are allowed again (no hold left) within ``seconds``."""
    deadline = time.monotonic() + seconds
    while gc.get_threshold()[2] == HELD_FULL_THRESHOLD:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def restored_after_the_quiet_period() -> bool:
    """Whether full collections are allowed again within ``collector.QUIET_S`` (as it is
    now), with room to spare on a slow machine. A test that reads the thresholds first
    waits here for an earlier test's reply's hold to end."""
    return restored_within(collector.QUIET_S + 5.0)
