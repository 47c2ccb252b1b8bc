"""The similarity matrix as a CSV file a spreadsheet or pandas opens as it is.

The first row is the header ("text" then each text); each following row is a text and its
similarities to every text, in the same order, to 6 decimals. The csv module does the
quoting (texts hold commas and quotes); the file is written atomically, named after the
time, never overwriting an earlier export.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from workbench.core.atomic import atomic_write_text


def matrix_csv(texts: Sequence[str], matrix: np.ndarray) -> str:
    """The CSV text of a square ``matrix`` whose rows and columns are ``texts``."""
    if matrix.shape != (len(texts), len(texts)):
        raise ValueError(f"matrix {matrix.shape} does not match {len(texts)} texts")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["text", *texts])
    for text, row in zip(texts, matrix, strict=True):
        writer.writerow([text, *(f"{float(v):.6f}" for v in row)])
    return out.getvalue()


def export_matrix_csv(
    texts: Sequence[str], matrix: np.ndarray, folder: Path, now: datetime | None = None
) -> Path:
    """Write ``similarity-YYYYmmdd-HHMMSS.csv`` (with -2, -3… if taken) into ``folder``."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    path = folder / f"similarity-{stamp}.csv"
    number = 2
    while path.exists():
        path = folder / f"similarity-{stamp}-{number}.csv"
        number += 1
    atomic_write_text(path, matrix_csv(texts, matrix))
    return path
