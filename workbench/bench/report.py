"""Benchmark results as a plain-text table for people and as JSON for scripts.

Both views carry the same rows: every metric with both medians, the ratio, the goal and a
pass mark; every group that could not run with its reason. Plain text on purpose: the core
never imports a UI library, and the table must read the same in a log file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

from workbench.bench.harness import GroupResult, Metric, median

HEADERS = ("metric", "A", "B", "ratio", "goal", "")
MARKS = {True: "✓", False: "✗", None: ""}


def format_value(value: float | None, unit: str) -> str:
    """A number with its unit, at a precision that reads well (seconds below 1 as ms)."""
    if value is None:
        return "–"
    if unit == "s" and abs(value) < 1:
        return f"{value * 1000:.0f} ms" if abs(value) >= 0.01 else f"{value * 1000:.2f} ms"
    if unit == "×":
        return f"{value:.2f}×"
    if unit == "tok" and float(value).is_integer():
        return f"{value:.0f} {unit}"
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:.{digits}f} {unit}"


def _side(label: str, value: float | None, unit: str) -> str:
    if value is None and not label:
        return ""
    text = format_value(value, unit)
    return f"{label} {text}" if label else text


def metric_row(metric: Metric) -> tuple[str, ...]:
    ratio = metric.ratio
    return (
        metric.name,
        _side(metric.a_label, metric.a, metric.unit),
        _side(metric.b_label, metric.b, metric.unit) if metric.b_label else "",
        format_value(ratio, "×") if ratio is not None else "",
        metric.goal.text if metric.goal else "",
        MARKS[metric.passed],
    )


def round_spread(metric: Metric) -> str:
    """For a ratio with a goal, the ratios of the rounds' side-by-side pairs: on a machine
    whose speed drifts from one round to the next, this says how far one ratio can be trusted."""
    pairs = metric.pair_ratios
    if metric.goal is None or metric.goal.on != "ratio" or len(pairs) < 3:
        return ""
    middle = median(pairs) or 0.0
    return (
        f"per round: median {middle:.2f}×, {min(pairs):.2f}–{max(pairs):.2f}× "
        f"over {len(pairs)} rounds"
    )


def _rows(results: Sequence[GroupResult]) -> list[tuple[str, ...] | str]:
    rows: list[tuple[str, ...] | str] = []
    for group in results:
        rows.append(f"{group.title} [{group.name}] ({group.seconds:.0f} s)")
        if group.status != "ok":
            rows.append((f"{group.status}: {group.reason}", "", "", "", "", ""))
        for metric in group.metrics:
            rows.append(metric_row(metric))
            spread = round_spread(metric)
            if spread:
                rows.append((f"  {spread}", "", "", "", "", ""))
            if metric.note:
                rows.append((f"  {metric.note}", "", "", "", "", ""))
    return rows


def render_table(results: Sequence[GroupResult], machine: dict[str, object]) -> str:
    """The report as aligned text: one header line per group, one row per metric."""
    rows = _rows(results)
    widths = [len(h) for h in HEADERS]
    for row in rows:
        if isinstance(row, tuple) and row[1:] != ("",) * 5:
            widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = [_machine_line(machine), "", _join(HEADERS, widths), _join(("",) * 6, widths, "─")]
    for row in rows:
        lines.append(row if isinstance(row, str) else _join(row, widths))
    return "\n".join(line.rstrip() for line in lines)


def _join(cells: Sequence[str], widths: Sequence[int], fill: str = " ") -> str:
    if cells[1:] == ("",) * 5 and cells[0]:
        return cells[0]  # a note or a status: let it run past the first column
    return "  ".join(cell.ljust(width, fill) for cell, width in zip(cells, widths, strict=True))


def _machine_line(machine: dict[str, object]) -> str:
    ram = machine.get("ram_bytes")
    ram_text = f"{int(ram) / 2**30:.0f} GB RAM" if isinstance(ram, int) else ""
    parts = [
        str(machine.get("cpu", "")),
        f"{machine.get('cores_logical')} cores",
        ram_text,
        str(machine.get("os", "")),
        f"mlx {machine.get('mlx')}",
        f"BLAS: {machine.get('blas')}",
        _device_text(machine),
    ]
    return " · ".join(part for part in parts if part)


def _device_text(machine: dict[str, object]) -> str:
    memory = machine.get("device_memory_bytes")
    if not machine.get("device") or not isinstance(memory, int):
        return ""
    return f"models on {machine['device']}: {memory / 2**30:.0f} GB"


def metric_json(metric: Metric) -> dict[str, object]:
    data = asdict(metric)
    data["a_samples"] = list(metric.a_samples)
    data["b_samples"] = list(metric.b_samples)
    goal = metric.goal
    data["goal"] = None if goal is None else {**asdict(goal), "text": goal.text}
    data["ratio"] = metric.ratio
    data["pair_ratios"] = list(metric.pair_ratios)
    data["passed"] = metric.passed
    return data


def to_json(
    results: Sequence[GroupResult], machine: dict[str, object], settings: dict[str, object]
) -> dict[str, object]:
    """The report as plain data (``json.dumps``-able), with the machine and run settings."""
    return {
        "machine": machine,
        "settings": settings,
        "groups": [
            {
                "name": group.name,
                "title": group.title,
                "status": group.status,
                "reason": group.reason,
                "seconds": group.seconds,
                "metrics": [metric_json(metric) for metric in group.metrics],
            }
            for group in results
        ],
        "total_seconds": sum(group.seconds for group in results),
    }
