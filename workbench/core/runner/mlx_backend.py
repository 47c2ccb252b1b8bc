"""What to tell the user when MLX itself cannot be imported.

On Linux the ``mlx`` package is only the Python half: the native library comes from an extra
(``mlx[cpu]`` or ``mlx[cuda12]``), and without it ``import mlx.core`` fails with
"libmlx.so: cannot open shared object file". That message does not say what to install;
``explain`` turns it (and any other failed MLX import) into one line that does.
"""

from __future__ import annotations

import sys

from workbench.core.errors import one_line

EXTRA_HINT = (
    "MLX's native backend is missing: install mlxbench with an extra, "
    "`pip install 'mlxbench[cpu]'` "
    "(or `uv tool install 'mlxbench[cpu]'`; NVIDIA GPUs: 'mlxbench[cuda]')"
)


def is_backend_missing(exc: BaseException) -> bool:
    """True when ``exc`` is MLX's native library (or the package) failing to import."""
    if not isinstance(exc, ImportError | OSError):
        return False
    name = getattr(exc, "name", None) or ""
    return "libmlx" in str(exc) or name == "mlx" or name.startswith("mlx.")


def explain(exc: BaseException) -> str:
    """One line for a failed MLX start: the cause, and on Linux the extra to install."""
    first = one_line(exc)
    if not is_backend_missing(exc):
        return f"cannot start MLX: {first}"
    if sys.platform == "darwin":
        return f"cannot start MLX: {first}; reinstall mlxbench (`pip install -U mlxbench`)"
    return f"cannot start MLX: {first}; {EXTRA_HINT}"
