"""How numbers read in the UI: bytes, seconds, rates.

Byte counts go through the core's one formatter (``workbench.core.units``), so a size
reads the same in the pool pane, the plan, the CLI and error messages.
"""

from __future__ import annotations

from workbench.core.units import format_bytes


def human_bytes(count: int | float | None) -> str:
    """ "93.8 MB", "1.25 GB", "512 B"; "?" when unknown — the core's one formatter."""
    return format_bytes(count)


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
