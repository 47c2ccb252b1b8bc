"""RoPE scaling recovered from a GGUF file.

llama.cpp stores linear scaling as metadata but Llama 3.x scaling only as its result: a
``rope_freqs`` tensor of per-frequency factors. mlx-lm wants Meta's ``rope_scaling`` dict, so
the factors are recomputed from Meta's published constants and compared with the stored ones;
anything else is refused rather than guessed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from workbench.core.errors import GGUFError
from workbench.core.gguf.reader import GGUFHeader

# Llama 3.x scaling as Meta ships it; llama.cpp stores only the resulting per-frequency factors
LLAMA3_SCALING = {
    "low_freq_factor": 1.0,
    "high_freq_factor": 4.0,
    "original_max_position_embeddings": 8192,
}


def llama3_rope_factors(head_dim: int, base: float, factor: float) -> np.ndarray:
    """The factors llama.cpp's converter writes to ``rope_freqs`` for Llama 3 scaling."""
    low, high = LLAMA3_SCALING["low_freq_factor"], LLAMA3_SCALING["high_freq_factor"]
    context = LLAMA3_SCALING["original_max_position_embeddings"]
    factors = []
    for i in range(0, head_dim, 2):
        wavelen = 2 * math.pi * base ** (i / head_dim)
        if wavelen < context / high:
            factors.append(1.0)
        elif wavelen > context / low:
            factors.append(factor)
        else:
            smooth = (context / wavelen - low) / (high - low)
            factors.append(1 / ((1 - smooth) / factor + smooth))
    return np.array(factors, dtype=np.float32)


def _llama3_scaling(header: GGUFHeader, head_dim: int, base: float) -> dict[str, Any] | None:
    """Recover Llama 3 ``rope_scaling`` from the ``rope_freqs`` tensor, if the file has one."""
    tensor = next((t for t in header.tensors if t.name == "rope_freqs.weight"), None)
    if tensor is None:
        return None
    count = tensor.nbytes // 4
    stored = np.fromfile(
        header.path, dtype="<f4", count=count, offset=header.data_offset + tensor.offset
    )
    factor = float(stored.max()) if tensor.type_name == "F32" and count else 0.0
    if (
        factor <= 0
        or stored.shape != (head_dim // 2,)
        or not np.allclose(llama3_rope_factors(head_dim, base, factor), stored, rtol=1e-4)
    ):
        raise GGUFError(
            f"{header.path.name}: RoPE frequency factors that do not follow Llama 3 scaling "
            "are not supported"
        )
    return {"rope_type": "llama3", "factor": factor, **LLAMA3_SCALING}


def rope_scaling(header: GGUFHeader, head_dim: int, base: float) -> dict[str, Any] | None:
    arch = header.get("general.architecture")
    kind = header.string(f"{arch}.rope.scaling.type", None)
    if kind in (None, "none"):
        return _llama3_scaling(header, head_dim, base)
    factor = header.number(f"{arch}.rope.scaling.factor", None)
    if kind != "linear" or not factor:
        raise GGUFError(f"{header.path.name}: RoPE scaling '{kind}' is not supported")
    return {"type": "linear", "factor": float(factor)}
