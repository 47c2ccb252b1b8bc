"""The measuring discipline on synthetic samples: medians, ratios, goals, A/B order, statuses."""

from __future__ import annotations

import pytest

from workbench.bench import Group, core_groups, select
from workbench.bench.harness import (
    Goal,
    Metric,
    NotAvailable,
    Paired,
    alternate,
    median,
    percentile,
    ratio,
    repeat,
    require,
    run_group,
)
from workbench.core.errors import InputError


def test_median_and_percentiles() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 3.0, 2.0]) == 2.5
    assert median([]) is None
    values = [float(v) for v in range(1, 101)]  # 1..100
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 99) == pytest.approx(99.01)
    assert percentile(values, 100) == 100.0
    assert percentile([], 50) is None


def test_ratio_is_a_over_b_and_missing_when_undefined() -> None:
    assert ratio(9.0, 10.0) == pytest.approx(0.9)
    assert ratio(None, 1.0) is None
    assert ratio(1.0, 0.0) is None


@pytest.mark.parametrize(
    ("goal", "value", "passed"),
    [
        (Goal(">=", 0.98), 0.98, True),
        (Goal(">=", 0.98), 0.97, False),
        (Goal("<=", 1.3), 1.31, False),
        (Goal("<=", 1.3), 1.0, True),
        (Goal("<", 1.0, on="a", unit="s"), 1.0, False),
        (Goal("<", 1.0, on="a", unit="s"), 0.4, True),
    ],
)
def test_goal_checks(goal: Goal, value: float, passed: bool) -> None:
    assert goal.check(value) is passed
    assert goal.check(None) is None


def test_goal_text() -> None:
    assert Goal(">=", 0.98).text == "≥ 0.98×"
    assert Goal("<", 50, on="a", unit="ms").text == "< 50 ms"


def test_metric_checks_the_ratio_or_its_own_value() -> None:
    slower = Metric("tok/s", "tok/s", a=4.7, b=5.0, goal=Goal(">=", 0.98))
    assert slower.ratio == pytest.approx(0.94)
    assert slower.passed is False
    alone = Metric("first frame", "s", a=0.6, goal=Goal("<", 1.0, on="a", unit="s"))
    assert alone.ratio is None
    assert alone.passed is True
    assert Metric("info", "x", a=1.0, b=2.0).passed is None


def test_alternate_warms_up_both_sides_then_runs_abba_and_keeps_only_recorded_samples() -> None:
    calls: list[str] = []
    counter = {"a": 0, "b": 0}

    def side(name: str):
        def call() -> dict[str, float]:
            calls.append(name)
            counter[name] += 1
            return {"t": float(counter[name]), "n": 1.0}

        return call

    paired = alternate(side("a"), side("b"), rounds=4, warmup=1)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b", "b", "a"]
    assert paired.a["t"] == [2.0, 3.0, 4.0, 5.0]  # the warm-up (1.0) is not recorded
    assert paired.b["t"] == [2.0, 3.0, 4.0, 5.0]
    metric = paired.metric("t", "time", "s", ("ours", "raw"))
    assert (metric.a, metric.b, metric.ratio) == (3.5, 3.5, 1.0)
    assert metric.a_samples == (2.0, 3.0, 4.0, 5.0)
    assert (metric.a_label, metric.b_label) == ("ours", "raw")


def test_repeat_drops_warmups() -> None:
    values = iter([100.0, 1.0, 2.0, 3.0])
    assert repeat(lambda: {"x": next(values)}, rounds=3, warmup=1) == {"x": [1.0, 2.0, 3.0]}


def test_paired_metric_of_a_missing_key_has_no_values() -> None:
    metric = Paired().metric("absent", "x", "s", ("a", "b"))
    assert (metric.a, metric.b, metric.ratio) == (None, None, None)


def test_run_group_reports_unavailable_and_errors_without_raising() -> None:
    def missing(_context: object) -> list[Metric]:
        raise NotAvailable("runner not there yet")

    def broken(_context: object) -> list[Metric]:
        raise ValueError("boom")

    def fine(_context: object) -> list[Metric]:
        return [Metric("x", "s", 1.0)]

    assert run_group(Group("m", "M", missing), None).status == "not available"
    assert run_group(Group("m", "M", missing), None).reason == "runner not there yet"
    failed = run_group(Group("b", "B", broken), None)
    assert (failed.status, failed.reason) == ("error", "ValueError: boom")
    ok = run_group(Group("f", "F", fine), None)
    assert ok.status == "ok"
    assert [m.name for m in ok.metrics] == ["x"]


def test_require_turns_missing_code_into_not_available() -> None:
    with pytest.raises(NotAvailable, match="cannot be imported"):
        require("workbench.core.no_such_module")
    with pytest.raises(NotAvailable, match="no_such_name"):
        require("workbench.core.types", "no_such_name")
    assert require("workbench.core.types", "ModelInfo").ModelInfo is not None


def test_select_keeps_report_order_and_refuses_unknown_names() -> None:
    groups = core_groups()
    assert [g.name for g in select(groups, ("blas", "decode"))] == ["decode", "blas"]
    assert [g.name for g in select(groups, ())] == ["decode", "cache", "load", "embed", "blas"]
    with pytest.raises(InputError, match="unknown bench group nope"):
        select(groups, ("nope",))


def test_pair_ratios_compare_samples_of_the_same_round() -> None:
    metric = Metric("x", "s", 2.0, 2.0, a_samples=(1.0, 2.0, 3.0), b_samples=(2.0, 2.0, 0.0))
    assert metric.pair_ratios == (0.5, 1.0)  # a zero baseline sample has no ratio
    assert Metric("y", "s", 1.0, a_samples=(1.0,)).pair_ratios == ()
