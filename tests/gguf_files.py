"""A minimal GGUF writer for tests: small hand-made files, valid or deliberately broken.

The format is small (magic, version, metadata, tensor table, aligned data), so tests build
exactly the file they need instead of depending on external packages or downloads.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

U32, F32, BOOL, STRING, ARRAY, I32 = 4, 6, 7, 8, 9, 5
TYPE_IDS = {"F32": 0, "F16": 1, "Q4_0": 2, "Q4_1": 3, "Q8_0": 8, "IQ4_NL": 20, "BF16": 30}
TYPE_IDS.update({"Q5_0": 6, "Q5_1": 7, "Q2_K": 10, "Q3_K": 11, "Q4_K": 12, "Q5_K": 13, "Q6_K": 14})
BLOCK = {"F32": (1, 4), "F16": (1, 2), "Q4_0": (32, 18), "Q4_1": (32, 20), "Q8_0": (32, 34)}
BLOCK.update({"IQ4_NL": (32, 18), "BF16": (1, 2), "Q5_0": (32, 22), "Q5_1": (32, 24)})
BLOCK.update({"Q2_K": (256, 84), "Q3_K": (256, 110), "Q4_K": (256, 144), "Q5_K": (256, 176)})
BLOCK["Q6_K"] = (256, 210)


def gguf_string(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def _value(kind: int, value: object) -> bytes:
    if kind == STRING:
        return gguf_string(str(value))
    if kind == ARRAY:
        item_kind, items = value
        body = b"".join(_value(item_kind, item) for item in items)
        return struct.pack("<IQ", item_kind, len(items)) + body
    return struct.pack({U32: "<I", F32: "<f", BOOL: "<?", I32: "<i"}[kind], value)


def write_gguf(path: Path, metadata: dict, tensors: list[tuple]) -> Path:
    """Write a GGUF v3 file.

    ``metadata`` maps key → (value type, value); each tensor is ``(name, dims, type)`` (zero
    data) or ``(name, dims, type, data_bytes)``. ``dims`` are in GGUF order (columns first).
    """
    out = [b"GGUF", struct.pack("<IQQ", 3, len(tensors), len(metadata))]
    for key, (kind, value) in metadata.items():
        out += [gguf_string(key), struct.pack("<I", kind), _value(kind, value)]
    offset, blobs = 0, []
    for name, dims, type_name, *data in tensors:
        elems, size = BLOCK[type_name]
        nbytes = int(np.prod(dims)) // elems * size
        blob = data[0] if data else bytes(nbytes)
        assert len(blob) == nbytes, name
        out += [gguf_string(name), struct.pack(f"<I{len(dims)}Q", len(dims), *dims)]
        out.append(struct.pack("<IQ", TYPE_IDS[type_name], offset))
        blobs.append(blob + bytes(-nbytes % 32))
        offset += len(blobs[-1])
    header = b"".join(out)
    path.write_bytes(header + bytes(-len(header) % 32) + b"".join(blobs))
    return path


def llama_metadata(arch: str = "llama", tokenizer: str = "gpt2", pre: str = "gpt2") -> dict:
    tokens = ["<s>", "</s>", "a", "b", "ab", "Ġ"]
    return {
        "general.architecture": (STRING, arch),
        f"{arch}.block_count": (U32, 1),
        f"{arch}.embedding_length": (U32, 64),
        f"{arch}.feed_forward_length": (U32, 128),
        f"{arch}.attention.head_count": (U32, 2),
        f"{arch}.attention.head_count_kv": (U32, 1),
        f"{arch}.attention.layer_norm_rms_epsilon": (F32, 1e-5),
        "tokenizer.ggml.model": (STRING, tokenizer),
        "tokenizer.ggml.pre": (STRING, pre),
        "tokenizer.ggml.tokens": (ARRAY, (STRING, tokens)),
        "tokenizer.ggml.token_type": (ARRAY, (I32, [3, 3, 1, 1, 1, 1])),
        "tokenizer.ggml.merges": (ARRAY, (STRING, ["a b"])),
        "tokenizer.ggml.bos_token_id": (U32, 0),
        "tokenizer.ggml.eos_token_id": (U32, 1),
    }


def llama_tensors(main_type: str = "Q4_1", embed_type: str = "Q8_0") -> list:
    layer = [
        ("blk.0.attn_norm.weight", (64,), "F32"),
        ("blk.0.ffn_norm.weight", (64,), "F32"),
        ("blk.0.attn_q.weight", (64, 64), main_type),
        ("blk.0.attn_k.weight", (64, 32), main_type),
        ("blk.0.attn_v.weight", (64, 32), main_type),
        ("blk.0.attn_output.weight", (64, 64), main_type),
        ("blk.0.ffn_gate.weight", (64, 128), main_type),
        ("blk.0.ffn_up.weight", (64, 128), main_type),
        ("blk.0.ffn_down.weight", (128, 64), main_type),
    ]
    embed = ("token_embd.weight", (64, 6), embed_type)
    return [embed, *layer, ("output_norm.weight", (64,), "F32")]
