"""The report's two views carry every row: table for people, JSON for scripts; and the CLI."""

from __future__ import annotations

import json

import pytest

from workbench import bench, cli
from workbench.bench import ui as benchui
from workbench.bench.harness import Goal, Group, GroupResult, Metric, NotAvailable
from workbench.bench.report import format_value, render_table, to_json
from workbench.core.runner import blas

MACHINE = {"cpu": "Test CPU", "cores_logical": 2, "ram_bytes": 8 * 2**30, "os": "Linux",
           "mlx": "0.0", "blas": "reference BLAS (mlx-cpu wheel)"}  # fmt: skip

RESULTS = [
    GroupResult(
        "decode",
        "1. decode",
        "ok",
        (
            Metric(
                "decode tok/s", "tok/s", 4.9, 5.0, "pool", "raw", (4.9,), (5.0,), Goal(">=", 0.98)
            ),
            Metric("TTFT", "s", 0.2, 0.25, "pool", "raw", goal=Goal("<=", 1.02)),
        ),
        seconds=12.0,
    ),
    GroupResult("tui", "2. through the TUI", "not available", reason="the app is not there yet"),
    GroupResult(
        "startup",
        "6a. start",
        "ok",
        (Metric("first frame", "s", 1.4, goal=Goal("<", 1, "a", "s")),),
    ),
]


def test_table_has_every_group_metric_goal_and_mark() -> None:
    table = render_table(RESULTS, MACHINE)
    for text in ("1. decode", "decode tok/s", "pool 4.90 tok/s", "raw 5.00 tok/s", "0.98×",
                 "≥ 0.98", "✓", "TTFT", "pool 200 ms", "0.80×",
                 "not available: the app is not there yet", "first frame", "1.40 s", "< 1 s",
                 "✗", "Test CPU", "2 cores", "8 GB RAM"):  # fmt: skip
        assert text in table, text
    row = next(line for line in table.splitlines() if line.startswith("first frame"))
    assert row.rstrip().endswith("✗")


def test_json_has_every_metric_with_samples_ratio_goal_and_verdict() -> None:
    data = to_json(RESULTS, MACHINE, {"quick": True})
    assert json.loads(json.dumps(data)) == data
    assert [g["name"] for g in data["groups"]] == ["decode", "tui", "startup"]
    assert data["groups"][1] == {
        "name": "tui", "title": "2. through the TUI", "status": "not available",
        "reason": "the app is not there yet", "seconds": 0.0, "metrics": [],
    }  # fmt: skip
    first = data["groups"][0]["metrics"][0]
    assert first["ratio"] == pytest.approx(0.98)
    assert first["passed"] is True
    assert first["goal"] == {"op": ">=", "limit": 0.98, "on": "ratio", "unit": "×",
                             "text": "≥ 0.98×"}  # fmt: skip
    assert first["a_samples"] == [4.9]
    assert first["pair_ratios"] == [pytest.approx(0.98)]
    assert data["groups"][2]["metrics"][0]["passed"] is False
    assert data["machine"] == MACHINE
    assert data["settings"] == {"quick": True}


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [(0.2, "s", "200 ms"), (0.004, "s", "4.00 ms"), (2.5, "s", "2.50 s"), (4.567, "tok/s",
     "4.57 tok/s"), (812.4, "sent/s", "812 sent/s"), (None, "s", "–"), (1.234, "×", "1.23×")],
)  # fmt: skip
def test_values_read_well(value: float | None, unit: str, text: str) -> None:
    assert format_value(value, unit) == text


@pytest.fixture
def fake_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    """Replace the real groups (MLX, the app) with two instant fakes; keep MLX out."""
    monkeypatch.setenv("MLXBENCH_HOME", "/nonexistent-mlxbench-home")
    monkeypatch.setenv(blas.ENV_VAR, "0")
    monkeypatch.setattr(blas, "_info", None)

    def measured(_context: object) -> list[Metric]:
        return [Metric("speed", "tok/s", 5.0, 5.0, "pool", "raw", goal=Goal(">=", 0.98))]

    def missing(_context: object) -> list[Metric]:
        raise NotAvailable("not built yet")

    monkeypatch.setattr(bench, "core_groups", lambda: [Group("decode", "1. decode", measured)])
    monkeypatch.setattr(benchui, "ui_groups", lambda: [Group("tui", "2. tui", missing)])


def test_cli_json_output_parses_and_lists_every_group(
    fake_groups: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["bench", "--json", "--quick"]) == 0
    out = capsys.readouterr()
    data = json.loads(out.out)
    assert [(g["name"], g["status"]) for g in data["groups"]] == [
        ("decode", "ok"),
        ("tui", "not available"),
    ]
    assert data["groups"][0]["metrics"][0]["passed"] is True
    assert data["settings"]["quick"] is True
    for key in ("cpu", "cores_logical", "ram_bytes", "os", "mlx", "blas"):
        assert key in data["machine"]
    assert "1. decode" in out.err  # progress goes to stderr, never into the JSON


def test_cli_table_and_only(fake_groups: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["bench", "--only", "tui"]) == 0
    out = capsys.readouterr().out
    assert "not available: not built yet" in out
    assert "1. decode" not in out


def test_cli_unknown_group_is_one_line_error(
    fake_groups: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["bench", "--only", "decode,warp"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "mlxbench: error: unknown bench group warp; choose from: decode, tui"


def test_cli_model_that_does_not_exist_is_one_line_error(
    fake_groups: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["bench", "--model", "/nonexistent/model-folder"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("mlxbench: error: ")
    assert "/nonexistent/model-folder" in err[-1]


def test_cli_embedding_model_given_as_text_model_is_refused(
    fake_groups: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from workbench.core.models.demo import installed_demo_models

    minilm = installed_demo_models()["all-MiniLM-L6-v2"]
    assert cli.main(["bench", "--model", str(minilm)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "mlxbench: error: --model needs a text model, and all-MiniLM-L6-v2 is an embeddings model"
    )


def test_a_ratio_with_a_goal_shows_how_its_rounds_spread() -> None:
    drifting = Metric(
        "decode tok/s", "tok/s", 400.0, 420.0, "pool", "raw",
        (300.0, 400.0, 500.0), (320.0, 410.0, 480.0), Goal(">=", 0.99),
    )  # fmt: skip
    result = GroupResult("decode", "1. decode", "ok", (drifting,))
    lines = render_table([result], MACHINE).splitlines()
    row = lines.index(next(line for line in lines if line.startswith("decode tok/s")))
    assert lines[row + 1].strip() == "per round: median 0.98×, 0.94–1.04× over 3 rounds"
    assert "per round" not in render_table(RESULTS, MACHINE)  # one round says nothing
