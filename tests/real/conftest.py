"""Real-model fixtures for tests under ``tests/real``: the tiny test vision model.

``tiny_vlm_dir`` builds the random-weight LLaVA of ``vlm_fixture`` once per session from the
imported SmolLM2's tokenizer (``smollm2_dir`` in ``tests/conftest.py``). Treat it as
read-only; copy it first to test damage.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from vlm_fixture import build_tiny_llava  # tests/real is on sys.path (rootdir-less conftest)


@pytest.fixture(scope="session")
def tiny_vlm_dir(smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny LLaVA model folder (2-layer CLIP on 32 px images, 2-layer llama, random)."""
    return build_tiny_llava(tmp_path_factory.mktemp("tiny-vlm") / "tiny-llava", smollm2_dir)
