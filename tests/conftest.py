"""Shared fixtures: the bundled demo models, ready to use.

The SmolLM2 GGUF is imported once per test session (into a session temp folder, never the
user's models folder) and shared by every real-model test. A missing demo package is a
set-up failure, not a reason to skip: the fixtures fail with the command that fixes it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.core.models.demo import installed_demo_models

SMOLLM2 = "SmolLM2-135M-Instruct"
MINILM = "all-MiniLM-L6-v2"
GEMMA = "gemma-3-270m"


def _demo_path(name: str) -> Path:
    path = installed_demo_models().get(name)
    if path is None:
        pytest.fail(f"demo model {name} is not installed: run `mlxbench demo install`")
    return path


@pytest.fixture(scope="session")
def smollm2_gguf() -> Path:
    """The bundled SmolLM2-135M-Instruct Q4_1 GGUF file (read-only: never write to it)."""
    return _demo_path(SMOLLM2)


@pytest.fixture(scope="session")
def smollm2_dir(smollm2_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2 imported to an MLX model folder, once per session (treat as read-only)."""
    from workbench.core.gguf.importer import ensure_imported

    return ensure_imported(smollm2_gguf, dest_root=tmp_path_factory.mktemp("gguf-models"))


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """The bundled all-MiniLM-L6-v2 model folder (read-only)."""
    return _demo_path(MINILM)


@pytest.fixture(scope="session")
def gemma_gguf() -> Path:
    """The bundled Gemma 3 270M Q4_K_M GGUF, joined from its chunks (read-only)."""
    return _demo_path(GEMMA)


@pytest.fixture(scope="session")
def gemma_dir(gemma_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Gemma 3 270M imported (K-quants re-quantized), once per session (treat as read-only)."""
    from workbench.core.gguf.importer import ensure_imported

    return ensure_imported(gemma_gguf, dest_root=tmp_path_factory.mktemp("gemma-models"))
