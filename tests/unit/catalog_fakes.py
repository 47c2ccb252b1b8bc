"""Builders of fake model folders for the catalog tests: real layouts, no real weights.

Safetensors files are written with a genuine header and a sparse data section of the right
length (so the file is well-formed and its size is honest) — or header only, to show that
the estimate never needs the weights.
"""

from __future__ import annotations

import json
import math
import struct
from pathlib import Path

DTYPE_SIZES = {"F32": 4, "F16": 2, "BF16": 2, "U32": 4, "I8": 1, "U8": 1}

LLAMA_CONFIG = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "intermediate_size": 128,
    "vocab_size": 1000,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
}

TENSORS = {"embed.weight": ("BF16", [1000, 64]), "norm.weight": ("F32", [64])}
TENSOR_BYTES = 1000 * 64 * 2 + 64 * 4


def write_safetensors(path: Path, tensors: dict, header_only: bool = False) -> int:
    """Write a safetensors file; returns the exact tensor byte total it declares."""
    header, offset = {"__metadata__": {"format": "mlx"}}, 0
    for name, (dtype, shape) in tensors.items():
        size = math.prod(shape) * DTYPE_SIZES[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(struct.pack("<Q", len(raw)) + raw)
        if not header_only:
            handle.truncate(8 + len(raw) + offset)
    return offset


def make_model(folder: Path, config: dict | None = None, tensors: dict | None = None) -> Path:
    """A usable MLX-style model folder: config.json + model.safetensors."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config or LLAMA_CONFIG))
    write_safetensors(folder / "model.safetensors", tensors or TENSORS)
    return folder


def make_gguf(path: Path, size: int = 4096) -> Path:
    """A file that starts like a GGUF (magic + version) and has ``size`` bytes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(b"GGUF" + struct.pack("<I", 3))
        handle.truncate(size)
    return path


def make_hf_repo(
    cache: Path, repo_id: str, revisions: dict[str, dict[str, bytes]], main: str | None = None
) -> Path:
    """A Hugging Face hub cache entry: blobs, snapshots/<hash>/ symlinks, refs/main."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    for commit, files in revisions.items():
        snapshot = repo / "snapshots" / commit
        snapshot.mkdir(parents=True, exist_ok=True)
        for name, content in files.items():
            blob = repo / "blobs" / f"{commit}-{name}"
            blob.write_bytes(content)
            (snapshot / name).symlink_to(blob)
    if main:
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / "main").write_text(main)
    return repo


def safetensors_bytes(tensors: dict) -> bytes:
    """The bytes of a header-only safetensors file (for HF blobs)."""
    header, offset = {}, 0
    for name, (dtype, shape) in tensors.items():
        size = math.prod(shape) * DTYPE_SIZES[dtype]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + size]}
        offset += size
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw
