"""No traceback reaches a user: closed pipes end quietly, unexpected exceptions become one
line plus the log file (which holds the traceback), a missing MLX backend names the extra,
and a MLXBENCH_HOME that is a file is one clear message."""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench import cli
from workbench.core import logs


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLXBENCH_LOG", raising=False)
    yield tmp_path / "home"
    logs.close_logging()


def run_with(handler, monkeypatch: pytest.MonkeyPatch, *argv: str) -> int:
    """``mlxbench models`` with its handler replaced (bound when the parser is built)."""
    from workbench.commands import models

    monkeypatch.setattr(models, "run", handler)
    return cli.main(["models", *argv])


def test_an_unexpected_error_is_one_line_and_the_traceback_is_in_the_log(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(_args: argparse.Namespace) -> int:
        {}["missing"]  # a bug deep inside
        return 0

    assert run_with(broken, monkeypatch) == 1
    err = capsys.readouterr().err
    log_file = home / "logs" / "mlxbench.log"
    assert err == f"mlxbench: unexpected error: KeyError: 'missing' (details in {log_file})\n"
    text = log_file.read_text()
    assert "Traceback (most recent call last)" in text and "KeyError: 'missing'" in text


def test_a_missing_mlx_backend_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_backend(_args: argparse.Namespace) -> int:
        raise ImportError("libmlx.so: cannot open shared object file: No such file or directory")

    assert run_with(no_backend, monkeypatch) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "libmlx.so" in err and "mlxbench[cpu]" in err


def test_mlxbench_home_that_is_a_file_is_one_clear_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "not-a-folder"
    file.write_text("x")
    monkeypatch.setenv("MLXBENCH_HOME", str(file))
    assert cli.main(["models"]) == 2
    assert capsys.readouterr().err == (
        f"mlxbench: error: MLXBENCH_HOME={file} is a file, not a folder: point it at a folder\n"
    )


def test_debug_flag_and_environment_set_the_log_level(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def noisy(_args: argparse.Namespace) -> int:
        logging.getLogger("workbench.test").debug("a debug detail")
        return 0

    assert run_with(noisy, monkeypatch) == 0
    log_file = home / "logs" / "mlxbench.log"
    assert not log_file.exists() or "a debug detail" not in log_file.read_text()
    monkeypatch.setenv("MLXBENCH_LOG", "debug")
    assert run_with(noisy, monkeypatch) == 0
    assert "a debug detail" in log_file.read_text()


def test_a_closed_pipe_ends_quietly_with_status_zero(tmp_path: Path) -> None:
    """Like ``mlxbench embed … | head``: the reader goes away mid-output."""
    script = textwrap.dedent(
        """
        import argparse, sys
        from workbench import cli

        def flood(_args):
            for n in range(10**6):
                print("row", n, "x" * 60)
            return 0

        from workbench.commands import models
        models.run = flood
        sys.exit(cli.main(["models"]))
        """
    )
    env = {"PYTHONPATH": str(Path(cli.__file__).parents[1]), "MLXBENCH_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
    )
    assert proc.stdout is not None and proc.stdout.read(100).startswith(b"row 0")
    proc.stdout.close()  # what `head` does after its lines
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and err == b""
