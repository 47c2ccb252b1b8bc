"""How much memory a model will take, known before anything is loaded.

The pool must decide whether a model fits *before* MLX allocates anything (MLX does not
raise on out-of-memory; it crashes). So the size comes from the cheapest trustworthy
evidence, best first:

1. ``safetensors-header``: every ``.safetensors`` file starts with an 8-byte length and a
   JSON header giving each tensor's dtype and shape, so the exact parameter bytes are known
   without reading a single weight (sharded models: the files the index names).
2. ``config-params``: parameter count worked out from ``config.json`` × bytes per
   parameter (quantization bits plus the per-group scales and biases, or the dtype).
3. ``name``: a size and precision in the name, e.g. "7B-4bit", "135M", "Q4_K_M".
4. ``default``: a fixed guess.

A GGUF file's tensor data is its size minus a small header (metadata and tokenizer), so the
file size is used as is (``gguf-file-size``): a slight over-estimate, which is the safe side.
"""

from __future__ import annotations

import json
import math
import re
import struct
from collections.abc import Mapping
from pathlib import Path

DEFAULT_BYTES = 2 * 1024**3
MAX_HEADER_BYTES = 100 * 1024**2  # real headers are kilobytes; anything this big is corrupt

DTYPE_BYTES = {
    "BOOL": 1,
    "U8": 1,
    "I8": 1,
    "F8_E4M3": 1,
    "F8_E5M2": 1,
    "F8_E8M0": 1,
    "I16": 2,
    "U16": 2,
    "F16": 2,
    "BF16": 2,
    "I32": 4,
    "U32": 4,
    "F32": 4,
    "I64": 8,
    "U64": 8,
    "F64": 8,
}
TORCH_DTYPE_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8}


class HeaderError(ValueError):
    """A safetensors header that cannot be trusted (truncated, not JSON, bad entries)."""


def read_safetensors_header(path: Path) -> dict[str, object]:
    """The JSON header of a safetensors file; reads only the header, never the weights."""
    with path.open("rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise HeaderError(f"{path.name}: shorter than a safetensors header")
        (length,) = struct.unpack("<Q", prefix)
        if length > MAX_HEADER_BYTES:
            raise HeaderError(f"{path.name}: header length {length} is not plausible")
        raw = handle.read(length)
    if len(raw) < length:
        raise HeaderError(f"{path.name}: header is truncated")
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HeaderError(f"{path.name}: header is not valid JSON ({exc})") from exc
    if not isinstance(header, dict):
        raise HeaderError(f"{path.name}: header is not a JSON object")
    return header


def _tensor_bytes(name: str, entry: object) -> int:
    """The tensor's bytes from its dtype and shape, else from its data offsets; offsets
    that run backwards, or disagree with the shape, mean the header cannot be trusted."""
    if not isinstance(entry, dict):
        raise HeaderError(f"tensor {name!r} has no description")
    shape, dtype = entry.get("shape"), entry.get("dtype")
    dims: list[int] | None = None
    if isinstance(shape, list):
        dims = [d for d in shape if isinstance(d, int) and d >= 0]
        if len(dims) != len(shape):
            raise HeaderError(f"tensor {name!r} has an impossible shape {shape!r}")
    offsets = entry.get("data_offsets")
    span: int | None = None
    if isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets):
        if not 0 <= offsets[0] <= offsets[1]:
            raise HeaderError(f"tensor {name!r} has impossible data offsets {offsets!r}")
        span = offsets[1] - offsets[0]
    if dims is not None and dtype in DTYPE_BYTES:
        size = math.prod(dims) * DTYPE_BYTES[dtype]
        if span is not None and span != size:
            raise HeaderError(f"tensor {name!r}: its offsets span {span} bytes, its shape {size}")
        return size
    if span is not None:
        return span
    raise HeaderError(f"tensor {name!r} has an unknown dtype {dtype!r} and no offsets")


def safetensors_bytes(path: Path) -> int:
    """Sum of dtype size × element count over every tensor of one safetensors file.

    ``HeaderError`` when a tensor's size makes no sense (a negative shape or offsets that
    run backwards): a header that lies would make the pool's numbers lie too.
    """
    header = read_safetensors_header(path)
    try:
        return sum(_tensor_bytes(str(k), v) for k, v in header.items() if k != "__metadata__")
    except HeaderError as exc:
        raise HeaderError(f"{path.name}: {exc}") from None


def weight_files(model_dir: Path) -> list[Path]:
    """The safetensors files of a model: those the shard index names, else all in the folder.

    Raises ``HeaderError`` when the index is unreadable or names a shard that is missing.
    """
    index = model_dir / "model.safetensors.index.json"
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AttributeError) as exc:
            raise HeaderError(f"{index.name} is unreadable ({exc})") from exc
        names = sorted(set(weight_map.values())) if isinstance(weight_map, dict) else []
        files = [model_dir / str(name) for name in names]
        missing = [f.name for f in files if not f.is_file()]
        if missing or not files:
            raise HeaderError(f"{index.name} names missing shards: {', '.join(missing[:3])}")
        return files
    return sorted(p for p in model_dir.glob("*.safetensors") if p.is_file())


def estimate_from_safetensors(model_dir: Path) -> int | None:
    """Exact parameter bytes from the headers, or None when there are no usable headers."""
    try:
        files = weight_files(model_dir)
        return sum(safetensors_bytes(f) for f in files) if files else None
    except (OSError, HeaderError):
        return None


def _int(config: Mapping[str, object], *keys: str, default: int = 0) -> int:
    for key in keys:
        value = config.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
            return int(value)
    return default


def transformer_params(config: Mapping[str, object]) -> int:
    """Parameters of a decoder or encoder stack described by a Hugging Face style config."""
    hidden = _int(config, "hidden_size", "n_embd", "d_model", "dim")
    layers = _int(config, "num_hidden_layers", "n_layer", "num_layers", "depth")
    if not hidden or not layers:
        return 0
    heads = _int(config, "num_attention_heads", "n_head", "num_heads", default=1)
    head_dim = _int(config, "head_dim", default=max(hidden // heads, 1))
    kv_heads = _int(config, "num_key_value_heads", default=heads)
    attention = 2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim
    inter = _int(config, "moe_intermediate_size", "intermediate_size", "n_inner", "mlp_dim")
    experts = _int(config, "num_local_experts", "num_experts", "n_routed_experts", default=1)
    encoder = config.get("model_type") in ("bert", "xlm-roberta", "roberta", "modernbert")
    mlp = (2 if encoder else 3) * hidden * (inter or 4 * hidden) * experts
    vocab = _int(config, "vocab_size")
    tied = config.get("tie_word_embeddings", encoder)
    embeddings = vocab * hidden * (1 if tied else 2)
    positions = _int(config, "max_position_embeddings") * hidden if encoder else 0
    return embeddings + positions + layers * (attention + mlp + 4 * hidden)


def bytes_per_param(config: Mapping[str, object]) -> float:
    """Quantized: bits plus one scale and one bias (16-bit) per group; else the dtype size."""
    quant = config.get("quantization") or config.get("quantization_config")
    if isinstance(quant, Mapping) and _int(quant, "bits"):
        group = _int(quant, "group_size", default=64)
        return (_int(quant, "bits") + 32 / group) / 8
    # configs without a dtype come from checkpoints saved in float32 (transformers' default)
    dtype = config.get("torch_dtype") or config.get("dtype") or "float32"
    return TORCH_DTYPE_BYTES.get(str(dtype), 2)


def estimate_from_config(config: Mapping[str, object] | None) -> int | None:
    """Parameter count from the config × bytes per parameter; None when it says too little."""
    if not config:
        return None
    params = transformer_params(config)
    for sub in ("text_config", "vision_config", "audio_config"):
        table = config.get(sub)
        if isinstance(table, Mapping):
            merged = (
                {"vocab_size": config.get("vocab_size"), **table} if sub == "text_config" else table
            )
            params += transformer_params(merged)
    return int(params * bytes_per_param(config)) if params else None


_MOE_SIZE = re.compile(r"(\d+)x(\d+(?:\.\d+)?)B(?![a-z0-9])", re.IGNORECASE)
_SIZE = re.compile(r"(?<![a-z0-9.])(\d+(?:\.\d+)?)([BM])(?![a-z0-9])", re.IGNORECASE)
_BITS = re.compile(r"(?<![a-z0-9])(?:(\d{1,2})-?bit|I?Q(\d)(?:_|(?![a-z0-9])))", re.IGNORECASE)
_HALF = re.compile(r"(?<![a-z0-9])(?:b?f16|fp16|bf16)(?![a-z0-9])", re.IGNORECASE)
_FULL = re.compile(r"(?<![a-z0-9])(?:f32|fp32)(?![a-z0-9])", re.IGNORECASE)


def params_from_name(name: str) -> int | None:
    """Parameter count written in a model name ("7B", "0.5B", "135M", "8x7B"), if any."""
    match = _MOE_SIZE.search(name)
    if match:
        return int(int(match.group(1)) * float(match.group(2)) * 1e9)
    match = _SIZE.search(name)
    if not match:
        return None
    scale = 1e9 if match.group(2).upper() == "B" else 1e6
    return int(float(match.group(1)) * scale)


def bytes_per_param_from_name(name: str) -> float:
    """Precision written in a name: "4bit", "Q4_K_M" (bits + group overhead), "f32"; else 2."""
    match = _BITS.search(name)
    if match:
        bits = int(match.group(1) or match.group(2))
        return (bits + 0.5) / 8
    if _FULL.search(name):
        return 4
    return 2


def estimate_from_name(name: str) -> int | None:
    params = params_from_name(name)
    return int(params * bytes_per_param_from_name(name)) if params else None


def estimate_bytes(
    model_dir: Path, config: Mapping[str, object] | None, name: str
) -> tuple[int, str]:
    """(estimated bytes, method) for a model folder, or for a ``.gguf`` file given directly.

    The method is one of "safetensors-header", "gguf-file-size", "config-params", "name",
    "default" (see the module docstring for what each means).
    """
    if model_dir.suffix.lower() == ".gguf" and model_dir.is_file():
        return model_dir.stat().st_size, "gguf-file-size"
    exact = estimate_from_safetensors(model_dir) if model_dir.is_dir() else None
    if exact:
        return exact, "safetensors-header"
    from_config = estimate_from_config(config)
    if from_config:
        return from_config, "config-params"
    from_name = estimate_from_name(name)
    if from_name:
        return from_name, "name"
    return DEFAULT_BYTES, "default"
