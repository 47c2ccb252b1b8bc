"""``mlxbench bench``: our layers measured against the MLX libraries, side by side.

Each measurement group lives in its own module and returns ``Metric`` rows; ``harness``
holds the shared discipline (A/B alternation, medians, goals), ``report`` the table and
JSON. The groups that drive the Textual app live outside ``core`` (the core never imports
the UI) and are handed to ``run_bench`` by the command.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from workbench.bench.context import BenchContext, BenchOptions, Progress
from workbench.bench.harness import Group, GroupResult, Metric, run_group
from workbench.core.errors import InputError

# Every group, in the order they run and are reported. UI groups are supplied by the caller.
ORDER = (
    "decode", "tui", "uicpu", "cache", "load", "embed", "startup", "responsive", "pane", "blas",
)  # fmt: skip
ORDER += ("gemma",)
OPT_IN = ("gemma",)  # minutes on a CPU: runs only when named in --only

__all__ = ["ORDER", "BenchOptions", "Group", "GroupResult", "Metric", "core_groups", "run_bench"]


def _run(module: str):
    """A group's ``run`` that imports its module only when the group runs."""

    def run(context: object) -> Sequence[Metric]:
        import importlib

        return importlib.import_module(f"workbench.bench.{module}").run(context)

    return run


def core_groups() -> list[Group]:
    """The groups that need no UI: pool vs raw, prompt cache, loads, embeddings, BLAS."""
    return [
        Group("decode", "1. decode through the pool vs raw mlx-lm", _run("decode")),
        Group("cache", "3. prompt cache: TTFT turn N vs turn 1", _run("cache")),
        Group("load", "4. model load through the pool vs raw", _run("load")),
        Group("embed", "5. embeddings through the pool vs raw", _run("embed")),
        Group("blas", "BLAS on vs off (child process each)", _run("blas_gain")),
        Group("gemma", "Gemma 3 270M: GGUF import, decode through the pool vs raw", _run("gemma")),
    ]


def select(groups: Sequence[Group], only: Sequence[str]) -> list[Group]:
    """The groups to run, in report order; unknown names in ``only`` are an ``InputError``."""
    known = {group.name for group in groups}
    unknown = [name for name in only if name not in known]
    if unknown:
        names = ", ".join(g.name for g in sorted(groups, key=lambda g: _rank(g.name)))
        raise InputError(f"unknown bench group {', '.join(unknown)}; choose from: {names}")
    chosen = [g for g in groups if g.name in only or (not only and g.name not in OPT_IN)]
    return sorted(chosen, key=lambda g: _rank(g.name))


def _rank(name: str) -> int:
    return ORDER.index(name) if name in ORDER else len(ORDER)


def check_models(context: BenchContext) -> None:
    """Models the user named must exist and be of the right kind before anything runs."""
    if context.options.text_model is not None:
        context.text_model()
    if context.options.embed_model is not None:
        context.embed_model()


def run_bench(
    options: BenchOptions, groups: Sequence[Group], progress: Progress | None = None
) -> tuple[list[GroupResult], float]:
    """Run the selected groups in one process; returns their results and the total seconds."""
    say = progress or (lambda _message: None)
    chosen = select(groups, options.only)
    context = BenchContext(options, say)
    started = time.perf_counter()
    results = []
    try:
        check_models(context)
        for group in chosen:
            say(f"── {group.title}")
            result = run_group(group, context)
            say(f"   {result.status} in {result.seconds:.0f} s {result.reason}".rstrip())
            results.append(result)
    finally:
        context.close()
    return results, time.perf_counter() - started
