"""Similarity maths for the embeddings explorer and `mlxbench embed`.

Embedding engines promise L2-normalised vectors, but a matrix that shows 1.03 on its
diagonal, or NaN for an all-zero vector, would mislead the user more than any bug in the
model. So every function here normalises again, maps zero vectors to similarity 0 instead
of NaN, clips to [-1, 1], and breaks ties by input order so results are deterministic.
Plain numpy: no MLX, so it runs on the UI thread and in unit tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from workbench.core.errors import InputError

_EPS = 1e-12


@dataclass(frozen=True)
class Neighbour:
    """One ranked text: its position in the input and its cosine similarity."""

    index: int
    score: float


def as_matrix(vectors: npt.ArrayLike) -> np.ndarray:
    """Return ``vectors`` as a 2-D float64 array, or raise ``InputError`` saying why not."""
    try:
        matrix = np.asarray(vectors, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(
            f"embedding vectors are not a rectangular table of numbers: {exc}"
        ) from exc
    if matrix.ndim != 2 or matrix.shape[0] == 0 or matrix.shape[1] == 0:
        raise InputError(f"expected at least one non-empty embedding vector, got {matrix.shape}")
    if not np.all(np.isfinite(matrix)):
        raise InputError("embedding vectors contain NaN or infinite values")
    return matrix


def normalise_rows(matrix: np.ndarray) -> np.ndarray:
    """L2-normalise each row; all-zero rows stay zero (similarity 0 to everything)."""
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    safe = np.where(norms > _EPS, norms, 1.0)
    return np.where(norms > _EPS, matrix / safe, 0.0)


def cosine_matrix(vectors: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """The n×n cosine-similarity matrix, symmetric, clipped to [-1, 1], never NaN.

    The diagonal is exactly 1 for every non-zero vector and 0 for a zero vector.
    """
    unit = normalise_rows(as_matrix(vectors))
    sims: np.ndarray = np.clip(unit @ unit.T, -1.0, 1.0)
    sims = (sims + sims.T) / 2.0  # remove float asymmetry
    nonzero = np.linalg.norm(unit, axis=1) > 0.5
    np.fill_diagonal(sims, np.where(nonzero, 1.0, 0.0))
    return sims


def _ranked(scores: np.ndarray, exclude: int | None = None) -> list[Neighbour]:
    """Indices by descending score; ties keep input order (stable sort)."""
    order = np.argsort(-scores, kind="stable")
    return [Neighbour(int(i), float(scores[i])) for i in order if i != exclude]


def top_k_neighbours(matrix: np.ndarray, row: int, k: int) -> list[Neighbour]:
    """The ``k`` most similar rows to ``row`` in a similarity matrix, excluding ``row`` itself.

    Ties are broken by index (lower first). Fewer than ``k`` are returned when the matrix
    has fewer than ``k + 1`` rows.
    """
    sims = np.asarray(matrix, dtype=np.float64)
    if sims.ndim != 2 or sims.shape[0] != sims.shape[1]:
        raise InputError(f"a similarity matrix must be square, got shape {sims.shape}")
    if not 0 <= row < sims.shape[0]:
        raise InputError(f"row {row} is outside a {sims.shape[0]}-row matrix")
    if k < 0:
        raise InputError(f"k must be zero or more, got {k}")
    return _ranked(sims[row], exclude=row)[:k]


def rank_against(
    query: Sequence[float] | np.ndarray, vectors: Sequence[Sequence[float]] | np.ndarray
) -> list[Neighbour]:
    """Every vector ranked by cosine similarity to ``query``, most similar first."""
    corpus = normalise_rows(as_matrix(vectors))
    q = as_matrix(np.expand_dims(query, 0) if np.ndim(query) == 1 else query)
    if q.shape != (1, corpus.shape[1]):
        raise InputError(
            f"the query has {q.shape[-1]} dimensions but the texts have {corpus.shape[1]}"
        )
    q_unit = normalise_rows(q)[0]
    scores = np.clip(corpus @ q_unit, -1.0, 1.0)
    return _ranked(scores)


def project_2d(vectors: Sequence[Sequence[float]] | np.ndarray) -> np.ndarray:
    """Project the (normalised) vectors onto their first two principal components.

    Returns an n×2 array. Components are found with an SVD of the centred data; each
    component's sign is fixed so its largest-magnitude loading is positive, which makes the
    picture the same from run to run. Missing components (n < 3, or identical vectors) are 0.
    """
    unit = normalise_rows(as_matrix(vectors))
    centred = unit - unit.mean(axis=0, keepdims=True)
    out = np.zeros((unit.shape[0], 2), dtype=np.float64)
    if unit.shape[0] < 2:
        return out
    _, singular, vt = np.linalg.svd(centred, full_matrices=False)
    for c in range(min(2, vt.shape[0])):
        if singular[c] <= _EPS * max(1.0, singular[0]):
            break
        axis = vt[c]
        if axis[np.argmax(np.abs(axis))] < 0:
            axis = -axis
        out[:, c] = centred @ axis
    return out
