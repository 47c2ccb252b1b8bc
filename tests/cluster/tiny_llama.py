"""A tiny random-weight llama that tensor parallelism can split over 2 ranks, built on the spot.

SmolLM2 (9 attention heads, 3 key/value heads) cannot be split over 2 ranks, and no other
real text model ships offline, so the 2-rank tests use this: a 2-layer llama with 4
attention heads and 2 key/value heads, weights from a fixed seed (every build is identical)
and SmolLM2's real tokenizer and chat template. It says nothing sensible; what matters is
that one process and a sharded group of ranks produce the same greedy tokens.

``build_tiny_llama(dest, tokenizer_from)`` writes the folder; ``tokenizer_from`` is a folder
holding SmolLM2's tokenizer files (e.g. the imported demo model).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np

SEED = 4321
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "generation_config.json",
)


def tiny_llama_config(vocab_size: int, eos: list[int], heads: int = 4, kv_heads: int = 2) -> dict:
    """The model's ``config.json``: small, float32, heads divisible by 2."""
    return {
        "model_type": "llama",
        "architectures": ["LlamaForCausalLM"],
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "intermediate_size": 128,
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "head_dim": 16,
        "rms_norm_eps": 1e-5,
        "vocab_size": vocab_size,
        "rope_theta": 10000.0,
        "max_position_embeddings": 2048,
        "tie_word_embeddings": True,
        "eos_token_id": eos,
        "torch_dtype": "float32",
    }


def build_tiny_llama(
    dest: Path, tokenizer_from: Path, *, heads: int = 4, kv_heads: int = 2
) -> Path:
    """Write the tiny llama folder at ``dest`` (must not exist or be empty); returns it."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in TOKENIZER_FILES:
        if (tokenizer_from / name).is_file():
            shutil.copyfile(tokenizer_from / name, dest / name)
    vocab_size, eos = _vocabulary(tokenizer_from)
    config = tiny_llama_config(vocab_size, eos, heads, kv_heads)
    (dest / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    _write_weights(config, dest / "model.safetensors")
    return dest


def _vocabulary(folder: Path) -> tuple[int, list[int]]:
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    settings = json.loads((folder / "tokenizer_config.json").read_text(encoding="utf-8"))
    eos = settings.get("eos_token")
    eos = eos.get("content") if isinstance(eos, dict) else eos
    eos_id = tokenizer.token_to_id(eos) if eos else None
    return tokenizer.get_vocab_size(with_added_tokens=True), [eos_id] if eos_id is not None else []


def _write_weights(config: dict[str, Any], path: Path) -> None:
    """Random weights with the exact names and shapes of mlx-lm's llama modules."""
    import mlx.core as mx
    from mlx.utils import tree_flatten
    from mlx_lm.models import llama

    model = llama.Model(llama.ModelArgs.from_dict(config))
    shapes = {name: tuple(p.shape) for name, p in tree_flatten(model.parameters())}
    rng = np.random.default_rng(SEED)
    weights = {name: mx.array(_init(name, shape, rng)) for name, shape in sorted(shapes.items())}
    mx.save_safetensors(str(path), weights, metadata={"format": "mlx"})


def _init(name: str, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    if "norm" in name:
        return np.ones(shape, dtype=np.float32)
    scale = 1.0 if "embed_tokens" in name else 0.3
    return rng.normal(0.0, scale, size=shape).astype(np.float32)
