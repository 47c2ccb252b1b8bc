"""The rules behind attachments: what a paste means, thumbnail shapes, short sources."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from workbench.tui.chat.attachments import pasted_image_sources, short_source
from workbench.tui.chat.image_preview import make_thumbnail, thumbnail_cells


@pytest.fixture
def pictures(tmp_path: Path) -> Path:
    for name in ("a.png", "b.JPG", "with space.webp"):
        Image.new("RGB", (4, 4)).save(tmp_path / name, format="PNG")
    (tmp_path / "notes.txt").write_text("text")
    (tmp_path / "folder.png").mkdir()
    return tmp_path


def test_a_data_uri_paste_is_an_image_whatever_follows(tmp_path: Path) -> None:
    uri = "data:image/png;base64,iVBORw0KGgo="
    assert pasted_image_sources(f"  {uri}\n") == [uri]
    assert pasted_image_sources("DATA:IMAGE/JPEG;base64,xyz") == ["DATA:IMAGE/JPEG;base64,xyz"]
    assert pasted_image_sources("data:text/plain;base64,aGk=") == []


def test_pasted_paths_of_existing_images_in_the_forms_terminals_paste(pictures: Path) -> None:
    a, b, spaced = pictures / "a.png", pictures / "b.JPG", pictures / "with space.webp"
    assert pasted_image_sources(str(a)) == [str(a)]
    assert pasted_image_sources(f"'{spaced}'") == [str(spaced)]
    assert pasted_image_sources(f'"{a}"\n') == [str(a)]
    assert pasted_image_sources(str(spaced).replace(" ", "\\ ")) == [str(spaced)]
    assert pasted_image_sources(f"file://{str(spaced).replace(' ', '%20')}") == [str(spaced)]
    assert pasted_image_sources(f"{a}\n\n{b}\n") == [str(a), str(b)]


def test_anything_else_pastes_as_text(pictures: Path) -> None:
    assert pasted_image_sources("What is in this picture?") == []
    assert pasted_image_sources(str(pictures / "missing.png")) == []
    assert pasted_image_sources(str(pictures / "notes.txt")) == []
    assert pasted_image_sources(str(pictures / "folder.png")) == []
    assert pasted_image_sources(f"{pictures / 'a.png'}\nplus some text") == []
    assert pasted_image_sources("https://example.org/cat.png") == []  # a link stays text
    assert pasted_image_sources("") == []
    assert pasted_image_sources("x\0.png") == []


@pytest.mark.parametrize(
    ("size", "box", "cells"),
    [
        ((3000, 1500), (12, 5), (12, 3)),  # wide: full width, rows from the aspect
        ((300, 600), (16, 6), (6, 6)),  # tall: full height, columns from the aspect
        ((100, 50), (16, 6), (16, 4)),
        ((1, 1000), (16, 6), (1, 6)),  # a sliver still gets a cell
        ((1000, 1), (16, 6), (16, 1)),
        ((0, 0), (16, 6), (12, 6)),  # no size: drawn square, never a division by zero
    ],
)
def test_thumbnail_cells_keep_the_aspect_within_the_box(size, box, cells) -> None:
    assert thumbnail_cells(size, *box) == cells


def test_thumbnails_are_small_rgb_copies() -> None:
    original = Image.new("RGBA", (2000, 1000), (0, 0, 0, 0))
    small = make_thumbnail(original)
    assert small.mode == "RGB" and max(small.size) <= 192 and small.size == (192, 96)
    assert original.size == (2000, 1000) and original.mode == "RGBA"


def test_short_sources_fit_a_card() -> None:
    assert short_source("data:image/png;base64,AAAA") == "pasted data URI"
    assert short_source("/tmp/cat.png") == "/tmp/cat.png"
    long = "/home/someone/Pictures/holidays/2025/summer/beach/sunset-over-the-sea.jpg"
    cut = short_source(long)
    assert len(cut) == 30 and cut.startswith("…") and cut.endswith("sunset-over-the-sea.jpg")


def test_the_app_imports_with_stdout_on_a_terminal_but_stdin_not(tmp_path: Path) -> None:
    """textual-image would ask the terminal and fail (termios.error); it must ask nothing."""
    result = tmp_path / "result.txt"
    program = (
        "import workbench.tui.app\n"
        "from workbench.tui.chat import image_preview\n"
        f"open({str(result)!r}, 'w').write(str(image_preview._DETECTED))\n"
    )
    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-c", program],
            stdin=subprocess.DEVNULL,
            stdout=terminal,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            check=False,
        )
        os.set_blocking(controller, False)
        try:
            written = os.read(controller, 4096)
        except (BlockingIOError, OSError):
            written = b""
    finally:
        os.close(terminal)
        os.close(controller)
    assert done.returncode == 0, done.stderr
    assert result.read_text() == "False"  # not asked: half-blocks will be used
    assert b"\x1b[" not in written  # no query was sent to the terminal
