"""Translate a GGUF (llama, Mistral, Qwen 2/3, Gemma 3) into what mlx-lm's models expect.

The per-family differences live in ``gguf_arch``; this module applies them:

- tensor names: llama.cpp's ``blk.N.attn_q`` → Hugging Face's ``model.layers.N.self_attn.q_proj``;
- the rows of Q and K, which llama.cpp permutes for llama's RoPE layout and which must be put
  back (for quantized tensors the weight, scales and biases rows alike);
- the quantization description: GGUF files mix bit widths (a "Q4_K_M" file keeps some tensors
  at 5, 6 or 8 bits), so the config gets per-module entries wherever a module differs from the
  default, and re-quantized tensors never drop below the precision the file gave them.

Array code only uses ``reshape``/``swapaxes``, so it works on MLX and NumPy arrays alike.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from workbench.core.errors import GGUFError
from workbench.core.gguf.arch import ARCHITECTURES, Architecture, is_norm
from workbench.core.gguf.checks import check_layers, check_shapes
from workbench.core.gguf.reader import GGUFHeader, TensorInfo
from workbench.core.gguf.rope import llama3_rope_factors, rope_scaling
from workbench.core.gguf.tokenizer import eos_token_ids

__all__ = ["llama3_rope_factors"]

# MLX reads these GGUF types itself (quantized ones as affine groups of 32), losslessly
NATIVE_TYPES = ("F32", "F16", "Q4_0", "Q4_1", "Q8_0")
QUANT_BITS = {"Q4_0": 4, "Q4_1": 4, "Q8_0": 8}
# These are dequantized with the ``gguf`` package and re-quantized for MLX
SOURCE_BITS = {
    "Q2_K": 2,
    "Q3_K": 3,
    "Q4_0": 4,
    "Q4_1": 4,
    "Q4_K": 4,
    "Q5_0": 5,
    "Q5_1": 5,
    "Q5_K": 5,
    "Q6_K": 6,
    "Q8_0": 8,
}
FLOAT_TYPES = ("F32", "F16", "BF16")
SUPPORTED_TYPES = (*FLOAT_TYPES, *SOURCE_BITS)
BITS_CHOICES = (2, 3, 4, 5, 6, 8)
GROUP_SIZE = 32
_SUFFIXES = ("weight", "bias", "scales", "biases")
IGNORED_TENSORS = ("rope_freqs.weight",)  # handled through the RoPE config, not as weights


def architecture(header: GGUFHeader) -> Architecture:
    """The supported architecture of ``header``, or a one-line refusal."""
    arch = header.get("general.architecture")
    if not isinstance(arch, str) or arch not in ARCHITECTURES:
        shown = arch if isinstance(arch, str) else None
        raise GGUFError(
            f"{header.path.name}: architecture '{shown}' is not supported; "
            f"supported: {', '.join(ARCHITECTURES)} (Mistral files are 'llama')"
        )
    return ARCHITECTURES[arch]


def tensor_name(gguf_name: str, arch: Architecture | None = None) -> str | None:
    """The Hugging Face name of a tensor (``blk.0.attn_q.scales`` → ``...q_proj.scales``)."""
    arch = arch or ARCHITECTURES["llama"]
    module, _, suffix = gguf_name.rpartition(".")
    hf_module = arch.module_name(module) if suffix in _SUFFIXES else None
    return f"{hf_module}.{suffix}" if hf_module else None


def known_tensor_name(gguf_name: str, arch: Architecture, header: GGUFHeader) -> str:
    """``tensor_name``, or the one-line refusal for a tensor the family does not have."""
    hf_name = tensor_name(gguf_name, arch)
    if hf_name is None:
        raise GGUFError(
            f"{header.path.name}: unexpected tensor '{gguf_name}' for a {arch.name} model"
        )
    return hf_name


def unpermute(array: Any, n_heads: int) -> Any:
    """Undo llama.cpp's Q/K row permutation (rows only: works for weights, scales, biases)."""
    rows = array.shape[0]
    head_dim = rows // n_heads
    shape = (n_heads, head_dim // 2, 2, *array.shape[1:])
    return array.reshape(shape).swapaxes(1, 2).reshape(array.shape)


def _key(header: GGUFHeader, suffix: str) -> str:
    return f"{header.get('general.architecture')}.{suffix}"


def _int(header: GGUFHeader, suffix: str, default: int | None = None) -> int:
    """A positive hyper-parameter; without a default, an absent one is a one-line error."""
    key = _key(header, suffix)
    if default is None:
        return header.integer(key, low=1, high=1 << 31)
    return header.integer(key, default, low=1, high=1 << 31)


def _float(header: GGUFHeader, suffix: str, default: float | None = None) -> float:
    """A float32 metadata value as the short decimal it was written as (1e-05, not 9.99e-06)."""
    key = _key(header, suffix)
    value = header.number(key) if default is None else header.number(key, default)
    return float(f"{value:.7g}")


def check_importable(header: GGUFHeader) -> None:
    """Refuse, with one clear line, anything this importer would convert wrongly."""
    name = header.path.name
    arch = architecture(header)
    if header.integer(_key(header, "expert_count"), 0, low=0, high=1 << 16) > 0:
        raise GGUFError(f"{name}: mixture-of-experts models cannot be imported")
    if not header.tensors:
        raise GGUFError(f"{name}: the GGUF file has no tensors (a vocabulary-only file?)")
    bad = sorted({t.type_name for t in header.tensors if t.type_name not in SUPPORTED_TYPES})
    if bad:
        raise GGUFError(
            f"{name}: tensor type {', '.join(bad)} is not supported "
            f"(supported: {', '.join(SUPPORTED_TYPES)})"
        )
    for tensor in header.tensors:
        if tensor.name not in IGNORED_TENSORS:
            known_tensor_name(tensor.name, arch, header)
    names = {t.name: t for t in header.tensors}
    if "token_embd.weight" not in names:
        raise GGUFError(f"{name}: the GGUF file has no token embedding (token_embd.weight)")
    rows = names["token_embd.weight"].dims[-1]
    tokens = len(header.strings("tokenizer.ggml.tokens") or [])
    if tokens and rows != tokens:
        raise GGUFError(f"{name}: the embedding has {rows} rows but the vocabulary {tokens} tokens")
    check_layers(header, _int(header, "block_count"))
    hidden, heads = _int(header, "embedding_length"), _int(header, "attention.head_count")
    head_dim = _int(header, "attention.key_length", hidden // heads)
    kv_heads = _int(header, "attention.head_count_kv", heads)
    ffn = _int(header, "feed_forward_length")
    check_shapes(header, hidden, heads * head_dim, kv_heads * head_dim, ffn)


def native(header: GGUFHeader) -> bool:
    """True when MLX can read every tensor itself (no re-quantization needed)."""
    return all(t.type_name in NATIVE_TYPES for t in header.tensors)


def target_bits(tensor: TensorInfo, bits: int) -> int | None:
    """The MLX bits for one tensor of a re-quantized import, or None to keep it as floats."""
    if tensor.type_name not in SOURCE_BITS or len(tensor.dims) != 2 or tensor.dims[0] % GROUP_SIZE:
        return None
    return max(bits, SOURCE_BITS[tensor.type_name])


def bits_by_module(header: GGUFHeader, bits: int = 4) -> dict[str, int]:
    """Hugging Face module → MLX bits, for every quantized weight of the import."""
    arch, keep = architecture(header), native(header)
    found: dict[str, int] = {}
    for tensor in header.tensors:
        if not tensor.name.endswith(".weight"):
            continue
        chosen = QUANT_BITS.get(tensor.type_name) if keep else target_bits(tensor, bits)
        if chosen is not None:
            module = known_tensor_name(tensor.name, arch, header).removesuffix(".weight")
            found[module] = chosen
    return found


def quantization(header: GGUFHeader, bits: int = 4) -> dict[str, Any] | None:
    """mlx-lm's ``quantization`` dict: default bits + per-module entries where bits differ."""
    modules = bits_by_module(header, bits)
    if not modules:
        return None
    default_bits = Counter(modules.values()).most_common(1)[0][0]
    config: dict[str, Any] = {"group_size": GROUP_SIZE, "bits": default_bits}
    for module, module_bits in sorted(modules.items()):
        if module_bits != default_bits:
            config[module] = {"group_size": GROUP_SIZE, "bits": module_bits}
    return config


def _gemma3_extra(header: GGUFHeader) -> dict[str, Any]:
    extra = dict(ARCHITECTURES["gemma3"].fixed)
    extra["sliding_window"] = _int(header, "attention.sliding_window", 512)
    if _int(header, "embedding_length") == 5376:  # Gemma 3 27B scales by hidden / heads
        extra["query_pre_attn_scalar"] = 168
    return extra


def model_config(header: GGUFHeader, bits: int = 4) -> dict[str, Any]:
    """The ``config.json`` contents for the mlx-lm model of the file's architecture."""
    arch = architecture(header)
    hidden, heads = _int(header, "embedding_length"), _int(header, "attention.head_count")
    head_dim = _int(header, "attention.key_length", hidden // heads)
    rope_theta = _float(header, "rope.freq_base", 10000.0)
    names = {t.name for t in header.tensors}
    eos = eos_token_ids(header)
    tokens = header.strings("tokenizer.ggml.tokens")
    config = {
        "architectures": [arch.class_name],
        "model_type": arch.model_type,
        "hidden_size": hidden,
        "intermediate_size": _int(header, "feed_forward_length"),
        "num_hidden_layers": _int(header, "block_count"),
        "num_attention_heads": heads,
        "num_key_value_heads": _int(header, "attention.head_count_kv", heads),
        "head_dim": head_dim,
        "rms_norm_eps": _float(header, "attention.layer_norm_rms_epsilon"),
        "rope_theta": rope_theta,
        "rope_scaling": rope_scaling(header, head_dim, rope_theta),
        "max_position_embeddings": _int(header, "context_length", 2048),
        "vocab_size": header.integer(
            _key(header, "vocab_size"), len(tokens or []) or None, low=1, high=1 << 31
        ),
        "tie_word_embeddings": "output.weight" not in names,
        "attention_bias": "blk.0.attn_q.bias" in names,
        "mlp_bias": "blk.0.ffn_up.bias" in names,
        "bos_token_id": header.integer("tokenizer.ggml.bos_token_id", None, low=0),
        "eos_token_id": eos[0] if len(eos) == 1 else eos,
        "torch_dtype": "float16" if native(header) else "float32",
    }
    if arch.name == "gemma3":
        config.update(_gemma3_extra(header))
    quant = quantization(header, bits)
    if quant is not None:
        config["quantization"] = quant
        config["quantization_config"] = quant
    return config


def fix_tensor(hf_name: str, array: Any, header: GGUFHeader) -> Any:
    """Apply the family's quirks to one tensor (rows un-permuted, Gemma's norm offset)."""
    arch = architecture(header)
    if arch.permute_qk and ".self_attn.q_proj." in hf_name:
        return unpermute(array, _int(header, "attention.head_count"))
    if arch.permute_qk and ".self_attn.k_proj." in hf_name:
        heads = _int(header, "attention.head_count")
        return unpermute(array, _int(header, "attention.head_count_kv", heads))
    if arch.norm_plus_one and is_norm(hf_name):
        return array - 1.0
    return array


def convert_weights(arrays: dict[str, Any], header: GGUFHeader) -> dict[str, Any]:
    """Rename GGUF arrays (as MLX loads them) to Hugging Face names, applying the quirks."""
    arch = architecture(header)
    converted = {}
    for name, array in arrays.items():
        if name in IGNORED_TENSORS:
            continue
        hf_name = known_tensor_name(name, arch, header)
        converted[hf_name] = fix_tensor(hf_name, array, header)
    return converted
