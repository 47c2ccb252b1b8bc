"""The server's status and code for each failure class, cluster and image ones included (the
most specific class wins: a host without room is a memory failure before a plan failure)."""

from __future__ import annotations

import pytest

from workbench.core import errors
from workbench.serve.errors import from_workbench


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.ClusterDown("cluster 'a' stopped during the reply"), 503, "cluster_down"),
        (errors.HostMemoryError("rank 1 on b needs 9 GB"), 503, "insufficient_memory"),
        (errors.ClusterPlanError("9 attention heads"), 400, "model_not_splittable"),
        (errors.InsufficientMemoryError("no room"), 503, "insufficient_memory"),
        (errors.InputError("temperature must be ≥ 0"), 400, "invalid_value"),
        (errors.ImageTooLarge("cat.png: 9 MB is over the 8 MB limit"), 413, "request_too_large"),
        (errors.ImageError("cat.png: not an image"), 400, "invalid_image"),
        (errors.WorkbenchError("something else"), 500, "internal_error"),
    ],
)
def test_each_failure_has_its_status_and_code(
    error: errors.WorkbenchError, status: int, code: str
) -> None:
    answer = from_workbench(error)
    assert (answer.status_code, answer.code, answer.message) == (status, code, str(error))
