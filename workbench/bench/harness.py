"""The measuring discipline every benchmark group shares: A/B alternation, medians, goals.

Our machines are shared and noisy, so absolute numbers mean little; what holds is a ratio
measured side by side in one run. ``alternate`` runs one warm-up of each side, then rounds
in A B / B A order (so a slow drift favours neither side) and keeps every sample. A
``Metric`` holds the medians of both sides and their ratio (A / B: ours over the baseline)
and checks it against its ``Goal``. Groups that cannot run yet are reported, not crashed.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

Sample = Mapping[str, float]
Side = Callable[[], Sample]
AsyncSide = Callable[[], Awaitable[Sample]]


class NotAvailable(Exception):
    """A group cannot run here (missing code, model or library); the message says why."""


@dataclass(frozen=True)
class Goal:
    """What a metric should reach: ``on`` ("ratio" or "a") compared with ``op`` to ``limit``."""

    op: str  # ">=" | "<=" | "<"
    limit: float
    on: str = "ratio"
    unit: str = "×"

    def check(self, value: float | None) -> bool | None:
        if value is None:
            return None
        if self.op == ">=":
            return value >= self.limit
        if self.op == "<=":
            return value <= self.limit
        if self.op == "<":
            return value < self.limit
        raise ValueError(f"unknown goal operator {self.op!r}")

    @property
    def text(self) -> str:
        symbol = {">=": "≥", "<=": "≤", "<": "<"}[self.op]
        number = f"{self.limit:.2f}" if self.unit == "×" else f"{self.limit:g}"
        space = "" if self.unit == "×" else " "
        return f"{symbol} {number}{space}{self.unit}"


def median(values: Sequence[float]) -> float | None:
    """The median, or None for no samples."""
    return float(statistics.median(values)) if values else None


def percentile(values: Sequence[float], pct: float) -> float | None:
    """The ``pct`` percentile by linear interpolation between closest ranks."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def ratio(a: float | None, b: float | None) -> float | None:
    """``a / b``, or None when either is missing or ``b`` is zero."""
    if a is None or b is None or b == 0:
        return None
    return a / b


@dataclass(frozen=True)
class Metric:
    """One row of the report: A (ours) against B (the baseline), or A alone."""

    name: str
    unit: str
    a: float | None
    b: float | None = None
    a_label: str = ""
    b_label: str = ""
    a_samples: tuple[float, ...] = ()
    b_samples: tuple[float, ...] = ()
    goal: Goal | None = None
    note: str = ""

    @property
    def ratio(self) -> float | None:
        return ratio(self.a, self.b)

    @property
    def pair_ratios(self) -> tuple[float, ...]:
        """A/B of the samples taken side by side (same round): the spread of the ratio."""
        if len(self.a_samples) != len(self.b_samples):
            return ()
        pairs = zip(self.a_samples, self.b_samples, strict=True)
        return tuple(a / b for a, b in pairs if b)

    @property
    def passed(self) -> bool | None:
        if self.goal is None:
            return None
        return self.goal.check(self.ratio if self.goal.on == "ratio" else self.a)


@dataclass
class Paired:
    """Samples of both sides, by measurement key (one side call yields several keys)."""

    a: dict[str, list[float]] = field(default_factory=dict)
    b: dict[str, list[float]] = field(default_factory=dict)

    def add(self, side: str, sample: Sample) -> None:
        target = self.a if side == "a" else self.b
        for key, value in sample.items():
            target.setdefault(key, []).append(float(value))

    def metric(self, key: str, name: str, unit: str, labels: tuple[str, str], **kw) -> Metric:
        """A metric from the medians of ``key`` on both sides."""
        a, b = self.a.get(key, []), self.b.get(key, [])
        return Metric(
            name, unit, median(a), median(b), labels[0], labels[1], tuple(a), tuple(b), **kw
        )


def alternate(a: Side, b: Side, rounds: int, warmup: int = 1) -> Paired:
    """Run ``warmup`` unrecorded calls of each side, then ``rounds`` recorded ones, ABBA."""
    for _ in range(warmup):
        a()
        b()
    paired = Paired()
    for index in range(rounds):
        order = (("a", a), ("b", b)) if index % 2 == 0 else (("b", b), ("a", a))
        for side, call in order:
            paired.add(side, call())
    return paired


async def alternate_async(a: AsyncSide, b: AsyncSide, rounds: int, warmup: int = 1) -> Paired:
    """``alternate`` for sides that are coroutines (e.g. one of them drives the app)."""
    for _ in range(warmup):
        await a()
        await b()
    paired = Paired()
    for index in range(rounds):
        order = (("a", a), ("b", b)) if index % 2 == 0 else (("b", b), ("a", a))
        for side, call in order:
            paired.add(side, await call())
    return paired


def repeat(call: Side, rounds: int, warmup: int = 1) -> dict[str, list[float]]:
    """One side alone: ``warmup`` unrecorded calls, then ``rounds`` recorded ones."""
    for _ in range(warmup):
        call()
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        for key, value in call().items():
            samples.setdefault(key, []).append(float(value))
    return samples


@dataclass(frozen=True)
class GroupResult:
    """What one group produced: its metrics, or why it could not run."""

    name: str
    title: str
    status: str  # "ok" | "not available" | "error"
    metrics: tuple[Metric, ...] = ()
    reason: str = ""
    seconds: float = 0.0


@dataclass(frozen=True)
class Group:
    """A named measurement: ``run(context)`` returns metrics or raises ``NotAvailable``."""

    name: str
    title: str
    run: Callable[[object], Sequence[Metric]]


def run_group(group: Group, context: object) -> GroupResult:
    """Run one group; a missing piece becomes "not available", a crash becomes "error"."""
    started = time.perf_counter()
    try:
        metrics = tuple(group.run(context))
        status, reason = "ok", ""
    except NotAvailable as exc:
        metrics, status, reason = (), "not available", str(exc)
    except Exception as exc:  # one broken group must not hide the others' figures
        metrics, status, reason = (), "error", f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - started
    return GroupResult(group.name, group.title, status, metrics, reason, seconds)


def require(module: str, *names: str) -> object:
    """Import ``module`` (and check it has ``names``) or raise ``NotAvailable`` saying so."""
    import importlib

    try:
        loaded = importlib.import_module(module)
    except ImportError as exc:
        raise NotAvailable(f"{module} cannot be imported ({exc})") from exc
    missing = [name for name in names if not hasattr(loaded, name)]
    if missing:
        raise NotAvailable(f"{module} has no {', '.join(missing)} yet")
    return loaded
