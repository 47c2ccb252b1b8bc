"""Bad input corpus, files and streams: FIFOs, devices, folders, huge files and bad UTF-8
are refused with one line before anything is read — never a hang, never a MemoryError."""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from workbench.core.config import load_config
from workbench.core.errors import InputError
from workbench.core.safe_read import read_stdin_text, read_text
from workbench.core.themes import ThemeError, load_theme_file, remembered_theme


def finishes(call: Callable[[], object]) -> BaseException | object:
    """Run ``call`` on a thread; its result or exception. A hang fails the test (it would
    otherwise hang the whole suite: a FIFO with no writer blocks ``open`` forever)."""
    box: list[object] = []

    def target() -> None:
        try:
            box.append(call())
        except BaseException as exc:
            box.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(30)
    assert box, "the call blocked (it never returned)"
    return box[0]


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "pipe.txt"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda tmp: Path("/dev/zero"), "not a regular file"),
        (lambda tmp: Path("/dev/null"), "not a regular file"),
        (lambda tmp: tmp, "is a folder"),
        (lambda tmp: tmp / "missing.txt", "No such file"),
    ],
)
def test_text_inputs_that_are_not_regular_files_are_refused(
    tmp_path: Path, make: Callable[[Path], Path], words: str
) -> None:
    result = finishes(lambda: read_text(make(tmp_path), 1024, "--file"))
    assert isinstance(result, InputError) and words in str(result)


def test_a_fifo_with_no_writer_is_refused_not_waited_on(fifo: Path) -> None:
    result = finishes(lambda: read_text(fifo, 1024, "--file"))
    assert isinstance(result, InputError)
    assert "not a regular file" in str(result) and str(fifo) in str(result)


def test_a_file_over_the_limit_is_refused_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_bytes(b"x" * 5000)
    with pytest.raises(InputError, match=r"larger than 3\.9 KB"):
        read_text(big, 4000, "--file")
    assert read_text(big, 5000, "--file") == "x" * 5000


def test_invalid_utf8_in_a_file_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes("café".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8 text \\(bad byte at offset 3\\)"):
        read_text(path, 1024, "--file")


def test_stdin_must_be_utf8_and_within_the_limit() -> None:
    assert read_stdin_text(100, io.BytesIO("héllo".encode())) == "héllo"
    with pytest.raises(InputError, match="standard input is not UTF-8"):
        read_stdin_text(100, io.BytesIO(b"ab\xff\xfe"))
    with pytest.raises(InputError, match="standard input is larger than"):
        read_stdin_text(10, io.BytesIO(b"y" * 11))


def test_config_path_that_is_a_folder_is_one_clear_error(tmp_path: Path) -> None:
    folder = tmp_path / "config.toml"
    folder.mkdir()
    with pytest.raises(InputError, match=r"config\.toml is a folder, not a file"):
        load_config(folder)


def test_config_that_is_a_fifo_or_huge_is_refused(tmp_path: Path, fifo: Path) -> None:
    result = finishes(lambda: load_config(fifo))
    assert isinstance(result, InputError) and "not a regular file" in str(result)
    huge = tmp_path / "config.toml"
    huge.write_text("# " + "x" * (2 * 1024**2))
    with pytest.raises(InputError, match=r"larger than 1\.0 MB"):
        load_config(huge)


def test_theme_file_that_is_a_fifo_is_a_theme_problem(fifo: Path) -> None:
    theme = fifo.with_name("night.toml")
    fifo.rename(theme)
    result = finishes(lambda: load_theme_file(theme))
    assert isinstance(result, ThemeError) and "not a regular file" in str(result)


def test_state_file_that_is_a_fifo_is_ignored_not_waited_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path))
    (tmp_path / "data").mkdir()
    os.mkfifo(tmp_path / "data" / "state.json")
    assert finishes(remembered_theme) is None
