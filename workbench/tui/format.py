"""How numbers read in the UI: bytes, seconds, rates.

Binary units (1 GB = 1024³ bytes), the same the pool budgets in, so the memory bar and the
budget flag agree.
"""

from __future__ import annotations

_GB = 1024**3
_MB = 1024**2


def human_bytes(count: int | float | None) -> str:
    """ "98 MB", "1.2 GB", "512 B"; "?" when unknown."""
    if count is None:
        return "?"
    if abs(count) >= _GB:
        return f"{count / _GB:.1f} GB"
    if abs(count) >= _MB:
        return f"{count / _MB:.0f} MB"
    if abs(count) >= 1024:
        return f"{count / 1024:.0f} KB"
    return f"{int(count)} B"


def human_seconds(seconds: float | None) -> str:
    """ "0.42 s", "12 s", "2 min 5 s"; "?" when unknown."""
    if seconds is None:
        return "?"
    if seconds < 10:
        return f"{seconds:.2f} s" if seconds < 1 else f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"
