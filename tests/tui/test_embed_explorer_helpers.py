"""The explorer's plain helpers: text splitting, file rules, labels, colour scales."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from rich.cells import cell_len

from workbench.core.errors import InputError
from workbench.tui.embeddings.colour_scale import (
    NEGATIVE,
    POSITIVE,
    VIRIDIS,
    diverging,
    luminance,
    sequential,
    text_colour,
    to_hex,
)
from workbench.tui.embeddings.texts import read_texts_file, split_texts, truncate


def test_split_texts_keeps_order_and_drops_blank_lines() -> None:
    assert split_texts("  a \n\n\tb\r\n   \nc") == ("a", "b", "c")
    assert split_texts("") == ()
    assert split_texts("same\nsame") == ("same", "same")


def test_read_texts_file_rules(tmp_path: Path) -> None:
    good = tmp_path / "t.txt"
    good.write_text("one\n\ntwo\n", encoding="utf-8")
    assert read_texts_file(good) == ("one", "two")

    blank = tmp_path / "blank.txt"
    blank.write_text("\n  \n")
    with pytest.raises(InputError, match="no non-blank lines"):
        read_texts_file(blank)

    big = tmp_path / "big.txt"
    big.write_text("x" * (1024 * 1024 + 1))
    with pytest.raises(InputError, match=r"limit is 1\.0 MB"):
        read_texts_file(big)

    latin = tmp_path / "latin.txt"
    latin.write_bytes("café".encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8 text"):
        read_texts_file(latin)


def test_only_regular_files_are_read_and_nothing_blocks(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    errors: list[str] = []

    def attempt() -> None:
        try:
            read_texts_file(fifo)
        except InputError as exc:
            errors.append(str(exc))

    reader = threading.Thread(target=attempt, daemon=True)
    reader.start()
    reader.join(timeout=20)
    if reader.is_alive():
        with open(fifo, "w"):  # a writer lets the stuck reader finish, so the run can end
            pass
        pytest.fail("reading a FIFO blocked instead of being refused")
    assert errors == [f"{fifo} is not a regular file (a device, pipe or socket)"]
    with pytest.raises(InputError, match="not a regular file"):
        read_texts_file(Path("/dev/zero"))  # endless: must be refused, not read
    with pytest.raises(InputError, match="is a folder"):
        read_texts_file(tmp_path)


def test_truncate_fits_terminal_cells() -> None:
    assert truncate("short", 10) == "short"
    assert truncate("exactly10!", 10) == "exactly10!"
    assert truncate("a longer sentence", 8) == "a longe…"
    wide = truncate("日本語のテキスト", 7)
    assert cell_len(wide) <= 7 and wide.endswith("…")
    assert truncate("tab\there\x1b[31m", 20) == "tab here [31m"
    assert truncate("anything", 0) == ""


def test_diverging_scale_ends_and_neutral_middle() -> None:
    neutral = (40, 40, 40)
    scale = diverging(neutral)
    assert scale.colour(-1.0) == NEGATIVE
    assert scale.colour(0.0) == neutral
    assert scale.colour(1.0) == POSITIVE
    assert scale.colour(5.0) == POSITIVE  # clamped
    half = scale.colour(0.5)
    assert all(min(a, b) <= c <= max(a, b) for a, b, c in zip(neutral, POSITIVE, half, strict=True))
    assert scale.ticks(5) == [-1.0, -0.5, 0.0, 0.5, 1.0]


def test_sequential_scale_spans_the_data_and_survives_a_single_value() -> None:
    scale = sequential(0.2, 0.6)
    assert scale.colour(0.2) == VIRIDIS[0]
    assert scale.colour(0.6) == VIRIDIS[-1]
    flat = sequential(0.5, 0.5)
    assert flat.low < 0.5 < flat.high
    assert flat.colour(0.5) != flat.colour(flat.low)


def test_text_colour_contrasts_with_the_background() -> None:
    assert text_colour((255, 255, 255)) == (0, 0, 0)
    assert text_colour((0, 0, 0)) == (255, 255, 255)

    def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
        hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
        return (hi + 0.05) / (lo + 0.05)

    for background in (*VIRIDIS, NEGATIVE, POSITIVE, (128, 128, 128), (200, 40, 40)):
        chosen = text_colour(background)
        other = (0, 0, 0) if chosen == (255, 255, 255) else (255, 255, 255)
        assert contrast(chosen, background) >= contrast(other, background)
    assert to_hex((255, 0, 16)) == "#ff0010"


def test_labels_take_what_the_numbers_leave() -> None:
    from workbench.tui.embeddings.texts import fit_label_width

    texts = ["The cat sat on the mat.", "Stock markets fell sharply today after the news."]
    assert fit_label_width(200, texts, 6) == 3 + 48 + 1  # whole texts on a wide screen
    assert fit_label_width(44, texts * 2 + ["x"], 6) == 44 - 5 * 6  # every column, short labels
    assert fit_label_width(32, texts * 2, 6) == 32 - 4 * 6  # four columns, the rest for labels
    assert fit_label_width(20, texts * 5, 6) == 5  # just "▶10 ": numbers before text
