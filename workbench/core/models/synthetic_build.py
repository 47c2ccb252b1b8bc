"""Build and save the weights of a synthetic model (imports MLX; see ``synthetic``).

Layer by layer, so that an 8B shape never holds all of its float32 weights at once: each
layer is drawn at a scale that keeps activations finite, cast, quantized if asked and
evaluated; then everything is saved as one safetensors file the way mlx-lm saves models.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import mlx.nn as nn

    from workbench.core.models.synthetic import SyntheticSpec

DTYPES = {16: "float16", 32: "float32"}
HEADS = ("model.embed_tokens", "lm_head")


def _scaled(module: nn.Module, seed: int) -> None:
    """Draw every matrix of ``module`` ~ N(0, 1/fan_in) and every norm as ones."""
    import mlx.core as mx
    from mlx.utils import tree_flatten, tree_unflatten

    fresh = []
    for index, (name, value) in enumerate(dict(tree_flatten(module.parameters())).items()):
        if value.ndim < 2:
            fresh.append((name, mx.ones_like(value)))
            continue
        key = mx.random.key(seed * 100_003 + index)
        scale = 1.0 / math.sqrt(value.shape[-1])
        fresh.append((name, mx.random.normal(value.shape, key=key) * scale))
    module.update(tree_unflatten(fresh))


def write_weights(
    folder: Path, spec: SyntheticSpec, config: dict[str, object], stop_ids: list[int]
) -> dict[str, object]:
    """Save random weights of ``spec`` in ``folder``; returns ``config`` with quantization."""
    import mlx.core as mx
    import mlx.nn as nn
    from mlx.utils import tree_flatten
    from mlx_lm.models import llama

    model = llama.Model(llama.ModelArgs.from_dict(config))
    dtype = getattr(mx, "float32" if spec.float32 else DTYPES.get(spec.bits, "float16"))
    quantize = spec.bits < 16
    for index, layer in enumerate(model.model.layers):
        _scaled(layer, index + 1)
        layer.set_dtype(dtype)
        if quantize:
            nn.quantize(layer, group_size=spec.group, bits=spec.bits)
        mx.eval(layer.parameters())
    _scaled(model.model.embed_tokens, 0)
    model.model.norm.weight = mx.ones_like(model.model.norm.weight)
    head = model.model.embed_tokens if spec.tied else model.lm_head
    if not spec.tied:
        _scaled(model.lm_head, 10_000)
    weight = head.weight
    rows = mx.array([i for i in stop_ids if i < weight.shape[0]])
    weight[rows] = 0.0  # stop tokens score exactly 0: a greedy reply runs to its limit
    head.weight = weight
    model.model.embed_tokens.set_dtype(dtype)
    model.model.norm.set_dtype(dtype)
    if not spec.tied:
        model.lm_head.set_dtype(dtype)
    if quantize:
        nn.quantize(
            model, group_size=spec.group, bits=spec.bits,
            class_predicate=lambda path, module: path in HEADS,
        )  # fmt: skip
    weights = dict(tree_flatten(model.parameters()))
    mx.eval(weights)
    mx.save_safetensors(str(folder / "model.safetensors"), weights, metadata={"format": "mlx"})
    config = dict(
        config, torch_dtype="float32" if spec.float32 else DTYPES.get(spec.bits, "float16")
    )
    if quantize:
        config["quantization"] = {"group_size": spec.group, "bits": spec.bits}
        config["quantization_config"] = config["quantization"]
    return config
