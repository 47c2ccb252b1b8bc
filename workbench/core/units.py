"""The one way mlxbench writes a byte count, in the CLI, the TUI, errors and exports.

A size read in three spellings ("94 MB", "93.8 MB", "~93.8 MB") looks like three sizes, so
every layer formats through here. Binary units (1 GB = 1024³ bytes), the ones the pool
budgets in: kilobytes and megabytes with one decimal ("93.8 MB"), gigabytes with two
("1.25 GB") because a budget is often a few of them.
"""

from __future__ import annotations

_UNITS = ("KB", "MB", "GB")


def format_bytes(count: int | float | None) -> str:
    """ "512 B", "10.0 KB", "93.8 MB", "150.0 MB", "1.25 GB"; "?" when unknown."""
    if count is None:
        return "?"
    value = float(count)
    if abs(value) < 1024:
        return f"{value:.0f} B"
    for unit in _UNITS:
        value /= 1024
        if abs(value) < 1024 or unit == "GB":
            break
    return f"{value:.2f} GB" if unit == "GB" else f"{value:.1f} {unit}"
