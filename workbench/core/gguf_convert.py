"""Translate a llama-family GGUF into what mlx-lm's ``llama`` model expects.

Three things are easy to get subtly wrong, and each one gives a model that loads but talks
nonsense, so they live here together and are tested directly:

- tensor names: llama.cpp's ``blk.N.attn_q`` → Hugging Face's ``model.layers.N.self_attn.q_proj``;
- the rows of Q and K, which llama.cpp permutes for its RoPE layout and which must be put back
  (for quantized tensors the weight, scales and biases rows alike);
- the quantization description: GGUF files mix bit widths (a "Q4_1" file keeps the embedding
  at 8 bits), so the config gets per-module entries wherever a module differs from the default.

Array code only uses ``reshape``/``swapaxes``, so it works on MLX and NumPy arrays alike.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import numpy as np

from workbench.core.errors import GGUFError
from workbench.core.gguf_reader import GGUFHeader
from workbench.core.gguf_tokenizer import eos_token_ids

SUPPORTED_TYPES = ("F32", "F16", "Q4_0", "Q4_1", "Q8_0")
QUANT_BITS = {"Q4_0": 4, "Q4_1": 4, "Q8_0": 8}
GROUP_SIZE = 32  # MLX reads every GGUF block format as affine groups of 32

_TOP_LEVEL = {"token_embd": "model.embed_tokens", "output_norm": "model.norm", "output": "lm_head"}
_LAYER_PARTS = {
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
_SUFFIXES = ("weight", "bias", "scales", "biases")
IGNORED_TENSORS = ("rope_freqs.weight",)  # handled through the RoPE config, not as weights


def module_name(gguf_module: str) -> str | None:
    """The Hugging Face module name for a GGUF module name (no suffix), or None if unknown."""
    if gguf_module in _TOP_LEVEL:
        return _TOP_LEVEL[gguf_module]
    parts = gguf_module.split(".")
    if len(parts) == 3 and parts[0] == "blk" and parts[1].isdigit() and parts[2] in _LAYER_PARTS:
        return f"model.layers.{parts[1]}.{_LAYER_PARTS[parts[2]]}"
    return None


def tensor_name(gguf_name: str) -> str | None:
    """The Hugging Face name of a tensor (``blk.0.attn_q.scales`` → ``...q_proj.scales``)."""
    module, _, suffix = gguf_name.rpartition(".")
    hf_module = module_name(module) if suffix in _SUFFIXES else None
    return f"{hf_module}.{suffix}" if hf_module else None


def unpermute(array: Any, n_heads: int) -> Any:
    """Undo llama.cpp's Q/K row permutation (rows only: works for weights, scales, biases)."""
    rows = array.shape[0]
    head_dim = rows // n_heads
    shape = (n_heads, head_dim // 2, 2, *array.shape[1:])
    return array.reshape(shape).swapaxes(1, 2).reshape(array.shape)


def _require(header: GGUFHeader, key: str) -> Any:
    value = header.get(key)
    if value is None:
        raise GGUFError(f"{header.path.name}: GGUF metadata '{key}' is missing")
    if isinstance(value, list):
        raise GGUFError(f"{header.path.name}: per-layer '{key}' values are not supported")
    return value


def check_importable(header: GGUFHeader) -> None:
    """Refuse, with one clear line, anything this importer would convert wrongly."""
    name = header.path.name
    arch = header.get("general.architecture")
    if arch != "llama":
        raise GGUFError(
            f"{name}: architecture '{arch}' is not supported; "
            "only llama-family GGUF files can be imported"
        )
    if int(header.get("llama.expert_count", 0) or 0) > 0:
        raise GGUFError(f"{name}: mixture-of-experts llama files cannot be imported")
    bad = sorted({t.type_name for t in header.tensors if t.type_name not in SUPPORTED_TYPES})
    if bad:
        raise GGUFError(
            f"{name}: tensor type {', '.join(bad)} is not supported "
            f"(supported: {', '.join(SUPPORTED_TYPES)})"
        )
    for tensor in header.tensors:
        if tensor.name not in IGNORED_TENSORS and tensor_name(tensor.name) is None:
            raise GGUFError(f"{name}: unexpected tensor '{tensor.name}' for a llama model")


def quantization(header: GGUFHeader) -> dict[str, Any] | None:
    """mlx-lm's ``quantization`` dict: default bits + per-module entries where bits differ."""
    bits_by_module = {}
    for tensor in header.tensors:
        if tensor.type_name in QUANT_BITS and tensor.name.endswith(".weight"):
            module = module_name(tensor.name.removesuffix(".weight"))
            bits_by_module[module] = QUANT_BITS[tensor.type_name]
    if not bits_by_module:
        return None
    default_bits = Counter(bits_by_module.values()).most_common(1)[0][0]
    config: dict[str, Any] = {"group_size": GROUP_SIZE, "bits": default_bits}
    for module, bits in sorted(bits_by_module.items()):
        if bits != default_bits:
            config[module] = {"group_size": GROUP_SIZE, "bits": bits}
    return config


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


def _rope_scaling(header: GGUFHeader, head_dim: int, base: float) -> dict[str, Any] | None:
    kind = header.get("llama.rope.scaling.type")
    if kind in (None, "none"):
        return _llama3_scaling(header, head_dim, base)
    factor = header.get("llama.rope.scaling.factor")
    if kind != "linear" or not factor:
        raise GGUFError(f"{header.path.name}: RoPE scaling '{kind}' is not supported")
    return {"type": "linear", "factor": float(factor)}


def _f32(value: Any) -> float:
    """A float32 metadata value as the short decimal it was written as (1e-05, not 9.99e-06)."""
    return float(f"{float(value):.7g}")


def model_config(header: GGUFHeader) -> dict[str, Any]:
    """The ``config.json`` contents for mlx-lm's llama model."""
    hidden = int(_require(header, "llama.embedding_length"))
    heads = int(_require(header, "llama.attention.head_count"))
    kv_heads = int(header.get("llama.attention.head_count_kv") or heads)
    names = {t.name for t in header.tensors}
    eos = eos_token_ids(header)
    head_dim = int(header.get("llama.attention.key_length") or hidden // heads)
    rope_theta = _f32(header.get("llama.rope.freq_base", 10000.0))
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": hidden,
        "intermediate_size": int(_require(header, "llama.feed_forward_length")),
        "num_hidden_layers": int(_require(header, "llama.block_count")),
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads,
        "head_dim": head_dim,
        "rms_norm_eps": _f32(_require(header, "llama.attention.layer_norm_rms_epsilon")),
        "rope_theta": rope_theta,
        "rope_scaling": _rope_scaling(header, head_dim, rope_theta),
        "max_position_embeddings": int(header.get("llama.context_length", 2048)),
        "vocab_size": int(
            header.get("llama.vocab_size") or len(header.get("tokenizer.ggml.tokens") or [])
        ),
        "tie_word_embeddings": "output.weight" not in names,
        "attention_bias": "blk.0.attn_q.bias" in names,
        "mlp_bias": "blk.0.ffn_up.bias" in names,
        "bos_token_id": header.get("tokenizer.ggml.bos_token_id"),
        "eos_token_id": eos[0] if len(eos) == 1 else eos,
        "torch_dtype": "float16",
    }
    quant = quantization(header)
    if quant is not None:
        config["quantization"] = quant
        config["quantization_config"] = quant
    return config


def convert_weights(arrays: dict[str, Any], header: GGUFHeader) -> dict[str, Any]:
    """Rename GGUF arrays (as MLX loads them) to Hugging Face names, un-permuting Q and K."""
    heads = int(_require(header, "llama.attention.head_count"))
    kv_heads = int(header.get("llama.attention.head_count_kv") or heads)
    converted = {}
    for name, array in arrays.items():
        if name in IGNORED_TENSORS:
            continue
        hf_name = tensor_name(name)
        if hf_name is None:
            raise GGUFError(f"{header.path.name}: unexpected tensor '{name}' for a llama model")
        if ".self_attn.q_proj." in hf_name:
            array = unpermute(array, heads)
        elif ".self_attn.k_proj." in hf_name:
            array = unpermute(array, kv_heads)
        converted[hf_name] = array
    return converted
