"""Similarity maths: known answers, ties, self-exclusion, and no NaN from zero vectors."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from workbench.core.embeddings.similarity import (
    Neighbour,
    cosine_matrix,
    normalise_rows,
    project_2d,
    rank_against,
    top_k_neighbours,
)
from workbench.core.errors import InputError


def test_cosine_matrix_of_known_vectors() -> None:
    # x axis, y axis, 45° between them, and the opposite of x.
    vectors = [[1, 0], [0, 1], [1, 1], [-1, 0]]
    sims = cosine_matrix(vectors)
    half = 1 / math.sqrt(2)
    expected = np.array(
        [
            [1, 0, half, -1],
            [0, 1, half, 0],
            [half, half, 1, -half],
            [-1, 0, -half, 1],
        ]
    )
    np.testing.assert_allclose(sims, expected, atol=1e-12)


def test_cosine_matrix_normalises_unnormalised_input() -> None:
    sims = cosine_matrix([[3, 0], [10, 0], [0, 0.001]])
    np.testing.assert_allclose(sims, [[1, 1, 0], [1, 1, 0], [0, 0, 1]], atol=1e-12)


def test_zero_vector_gives_zero_similarity_not_nan() -> None:
    sims = cosine_matrix([[0, 0, 0], [1, 2, 3]])
    assert not np.isnan(sims).any()
    np.testing.assert_array_equal(sims, [[0, 0], [0, 1]])
    ranking = rank_against([0, 0, 0], [[1, 0, 0], [0, 1, 0]])
    assert [n.score for n in ranking] == [0.0, 0.0]
    assert not np.isnan(normalise_rows(np.zeros((2, 3)))).any()


def test_single_vector_gives_one_by_one_matrix() -> None:
    np.testing.assert_array_equal(cosine_matrix([[0.2, 0.4]]), [[1.0]])
    assert top_k_neighbours(cosine_matrix([[0.2, 0.4]]), 0, 5) == []


def test_top_k_excludes_self_and_sorts_descending() -> None:
    sims = cosine_matrix([[1, 0], [1, 0.1], [0, 1], [1, 0.5]])
    result = top_k_neighbours(sims, 0, 3)
    assert [n.index for n in result] == [1, 3, 2]
    assert all(n.index != 0 for n in result)
    assert result[0].score > result[1].score > result[2].score


def test_top_k_excludes_self_even_when_a_duplicate_scores_the_same() -> None:
    # Rows 0 and 2 are identical: row 2 must come back for row 0 but row 0 must not.
    sims = cosine_matrix([[1, 0], [0, 1], [1, 0]])
    result = top_k_neighbours(sims, 0, 5)
    assert result == [Neighbour(2, 1.0), Neighbour(1, 0.0)]


def test_ties_are_broken_by_input_order() -> None:
    sims = np.array(
        [
            [1.0, 0.5, 0.5, 0.5],
            [0.5, 1.0, 0.2, 0.2],
            [0.5, 0.2, 1.0, 0.2],
            [0.5, 0.2, 0.2, 1.0],
        ]
    )
    assert [n.index for n in top_k_neighbours(sims, 0, 3)] == [1, 2, 3]
    assert [n.index for n in top_k_neighbours(sims, 3, 3)] == [0, 1, 2]
    ranked = rank_against([1, 0], [[0, 1], [1, 0], [0, 2], [5, 0]])
    assert [n.index for n in ranked] == [1, 3, 0, 2]


def test_top_k_limits_and_validates() -> None:
    sims = cosine_matrix(np.eye(4))
    assert len(top_k_neighbours(sims, 1, 2)) == 2
    assert top_k_neighbours(sims, 1, 0) == []
    with pytest.raises(InputError, match="outside"):
        top_k_neighbours(sims, 4, 1)
    with pytest.raises(InputError, match="square"):
        top_k_neighbours(np.ones((2, 3)), 0, 1)


def test_rank_against_known_query() -> None:
    texts = [[0, 1], [1, 1], [1, 0], [-1, 0]]
    ranked = rank_against([2, 0], texts)
    assert [n.index for n in ranked] == [2, 1, 0, 3]
    assert ranked[0].score == pytest.approx(1.0)
    assert ranked[1].score == pytest.approx(1 / math.sqrt(2))
    assert ranked[3].score == pytest.approx(-1.0)


def test_rank_against_rejects_dimension_mismatch() -> None:
    with pytest.raises(InputError, match="3 dimensions but the texts have 2"):
        rank_against([1, 0, 0], [[1, 0]])


@pytest.mark.parametrize(
    "bad",
    [[], [[]], [[1, 2], [3]], [[1, float("nan")]], [[float("inf"), 0]], [["a", "b"]]],
)
def test_bad_vectors_raise_input_error(bad: object) -> None:
    with pytest.raises(InputError):
        cosine_matrix(bad)  # type: ignore[arg-type]


def test_project_2d_recovers_a_planar_layout() -> None:
    # Points spread along one direction much more than another: PC1 carries the spread.
    vectors = [[1, 0.0, 0], [1, 0.2, 0], [1, -0.2, 0], [1, 0.0, 0.05]]
    points = project_2d(vectors)
    assert points.shape == (4, 2)
    assert not np.isnan(points).any()
    assert np.var(points[:, 0]) > np.var(points[:, 1]) > 0
    # Sign convention makes the output deterministic for the same input.
    np.testing.assert_array_equal(points, project_2d(vectors))


def test_project_2d_degenerate_inputs_give_zeros() -> None:
    np.testing.assert_array_equal(project_2d([[1, 2, 3]]), [[0, 0]])
    np.testing.assert_allclose(project_2d([[1, 0], [2, 0], [3, 0]]), np.zeros((3, 2)))
    two = project_2d([[1, 0], [0, 1]])
    assert two[:, 1].tolist() == [0.0, 0.0]  # only one component exists
    assert two[0, 0] == pytest.approx(-two[1, 0])


@settings(max_examples=60, deadline=None)
@given(
    arrays(
        np.float64,
        st.tuples(st.integers(1, 8), st.integers(1, 6)),
        elements=st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False),
    )
)
def test_cosine_matrix_properties(vectors: np.ndarray) -> None:
    sims = cosine_matrix(vectors)
    assert sims.shape == (len(vectors), len(vectors))
    assert not np.isnan(sims).any()
    assert (sims <= 1.0).all() and (sims >= -1.0).all()
    np.testing.assert_array_equal(sims, sims.T)
