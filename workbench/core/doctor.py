"""What a bug report needs, gathered in one place: versions, MLX backend and device, BLAS,
paths, demo models and the log file.

Every probe is guarded: ``mlxbench doctor`` is what people run when something is broken, so a
missing MLX backend or an unreadable config is a line of the report, never a crash.
"""

from __future__ import annotations

import importlib.metadata
import platform
import sys
from collections.abc import Callable

from workbench import __version__
from workbench.core import paths
from workbench.core.errors import one_line
from workbench.core.units import format_bytes

PACKAGES = (
    "mlx",
    "mlx-metal",
    "mlx-cpu",
    "mlx-cuda",
    "mlx-lm",
    "mlx-vlm",
    "mlx-embeddings",
    "transformers",
    "tokenizers",
    "huggingface-hub",
    "textual",
    "rich",
    "numpy",
    "pillow",
)

Section = list[tuple[str, str]]


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _guard(probe: Callable[[], str]) -> str:
    try:
        return probe()
    except Exception as exc:  # the report must go on whatever one probe hits
        return f"unavailable ({one_line(exc, with_type=True)})"


def versions() -> Section:
    rows = [
        ("mlxbench", __version__),
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("platform", f"{platform.system()} {platform.release()} {platform.machine()}"),
    ]
    return rows + [(name, found) for name in PACKAGES if (found := _version(name))]


def _mlx_device() -> str:
    from workbench.core.config import load_config
    from workbench.core.runner.blas import prepare

    try:
        setting = load_config().openblas
    except Exception:
        setting = "auto"
    prepare(setting)  # as the runner does: before MLX is imported
    import mlx.core as mx

    device = mx.default_device()
    info = mx.device_info()
    memory = info.get("memory_size") or info.get("total_memory")
    if memory is None:  # the CPU device: models live in RAM
        import psutil

        memory = psutil.virtual_memory().total
    name = info.get("device_name") or info.get("architecture") or ""
    total = f", {format_bytes(int(memory))} memory" if isinstance(memory, int | float) else ""
    return f"{getattr(device.type, 'name', device)} {name}".strip() + total


def backend() -> Section:
    from workbench.core.runner.mlx_backend import explain

    def device() -> str:
        try:
            return _mlx_device()
        except (ImportError, OSError) as exc:
            return explain(exc)

    rows = [("device", _guard(device))]

    def blas() -> str:
        from workbench.core.runner.blas import describe

        return describe()

    rows.append(("BLAS", _guard(blas)))
    return rows


def locations() -> Section:
    from workbench.core.logs import log_file
    from workbench.core.models.catalog import hf_cache_dir

    return [
        ("MLXBENCH_HOME", str(paths._home_override() or "(not set)")),
        ("config file", _guard(lambda: _exists(paths.config_file()))),
        ("data folder", _guard(lambda: _exists(paths.data_dir()))),
        ("sessions", _guard(_sessions_dir)),
        ("imported models", _guard(lambda: _exists(paths.models_dir()))),
        ("measured sizes", _guard(lambda: _exists(paths.sizes_file()))),
        ("Hugging Face cache", _guard(lambda: _exists(hf_cache_dir()))),
        ("LM Studio models", _guard(lambda: _exists(paths.lmstudio_models_dir()))),
        ("log file", _guard(lambda: _exists(log_file()))),
    ]


def _sessions_dir() -> str:
    from workbench.core.config import load_config

    return _exists(load_config().resolved_sessions_dir)


def _exists(path: object) -> str:
    from pathlib import Path

    where = Path(str(path))
    return f"{where}" if where.exists() else f"{where} (not there yet)"


def demo_models() -> Section:
    from workbench.core.models.demo import DEMO_PACKAGES, installed_demo_models

    found = installed_demo_models()
    return [(p.name, str(found.get(p.name, "not installed"))) for p in DEMO_PACKAGES]


def report() -> list[tuple[str, Section]]:
    """Titled sections of (label, value) rows."""
    return [
        ("versions", _section(versions)),
        ("MLX", _section(backend)),
        ("paths", _section(locations)),
        ("demo models", _section(demo_models)),
    ]


def _section(build: Callable[[], Section]) -> Section:
    try:
        return build()
    except Exception as exc:
        return [("error", f"{type(exc).__name__}: {exc}")]
