"""How durations read in the UI.

Byte counts have one home, the core's ``workbench.core.units.format_bytes``, used as is
everywhere (pool pane, plan, compare, CLI, error messages), so a size reads the same.
"""

from __future__ import annotations


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
