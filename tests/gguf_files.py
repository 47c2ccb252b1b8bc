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


# ---- K-quant and multi-architecture files ---------------------------------------------------

# where each block type keeps its float16 scale fields (byte offsets inside one block)
_SCALE_FIELDS = {
    "Q2_K": (80, 82),
    "Q3_K": (108,),
    "Q4_K": (0, 2),
    "Q5_K": (0, 2),
    "Q6_K": (208,),
    "Q4_0": (0,),
    "Q4_1": (0, 2),
    "Q5_0": (0,),
    "Q5_1": (0, 2),
    "Q8_0": (0,),
}


GEMMA_LAYERS = 6


def random_blocks(type_name: str, rows: int, cols: int, seed: int = 0) -> bytes:
    """Valid bytes of a ``rows`` x ``cols`` tensor: random quants, small finite scales."""
    rng = np.random.default_rng(seed)
    if type_name in ("F32", "F16", "BF16"):
        values = rng.standard_normal((rows, cols)).astype(np.float32) * 0.05
        if type_name == "F32":
            return values.tobytes()
        if type_name == "F16":
            return values.astype(np.float16).tobytes()
        return (values.view(np.uint32) >> 16).astype(np.uint16).tobytes()
    elems, size = BLOCK[type_name]
    blocks = rng.integers(0, 256, size=(rows * cols // elems, size), dtype=np.uint8)
    scale = np.frombuffer(np.float16(0.01).tobytes(), dtype=np.uint8)
    for offset in _SCALE_FIELDS[type_name]:
        blocks[:, offset : offset + 2] = scale
    return blocks.tobytes()


def sentencepiece_metadata(arch: str) -> dict:
    """A tiny SentencePiece ("llama") vocabulary with scores, as Gemma files carry."""
    tokens = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
    tokens += ["\u2581", "a", "b", "\u2581a", "ab", "\u2581ab", "\n"]
    tokens += [f"<0x{i:02X}>" for i in range(256)]
    types = [3, 3, 3, 2, 3, 3, 1, 1, 1, 1, 1, 1, 4] + [6] * 256
    scores = [0.0] * 6 + [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0, 0.0] + [0.0] * 256
    return {
        "tokenizer.ggml.model": (STRING, "llama"),
        "tokenizer.ggml.pre": (STRING, "default"),
        "tokenizer.ggml.tokens": (ARRAY, (STRING, tokens)),
        "tokenizer.ggml.scores": (ARRAY, (F32, scores)),
        "tokenizer.ggml.token_type": (ARRAY, (I32, types)),
        "tokenizer.ggml.bos_token_id": (U32, 2),
        "tokenizer.ggml.eos_token_id": (U32, 1),
        "tokenizer.ggml.add_bos_token": (BOOL, True),
        "tokenizer.ggml.add_space_prefix": (BOOL, False),
        f"{arch}.vocab_size": (U32, len(tokens)),
    }


def arch_metadata(arch: str, hidden: int = 256, heads: int = 2, kv_heads: int = 1) -> dict:
    """Hyper-parameters of a one-layer model of ``arch`` (llama, qwen2, qwen3, gemma3)."""
    base = llama_metadata(arch=arch, pre="qwen2" if arch.startswith("qwen") else "gpt2")
    base.update(
        {
            f"{arch}.embedding_length": (U32, hidden),
            f"{arch}.feed_forward_length": (U32, 2 * hidden),
            f"{arch}.attention.head_count": (U32, heads),
            f"{arch}.attention.head_count_kv": (U32, kv_heads),
        }
    )
    if arch == "gemma3":  # mlx-lm's Gemma 3 needs one full sliding-window pattern (6 layers)
        base[f"{arch}.block_count"] = (U32, GEMMA_LAYERS)
        for key in [k for k in base if k.startswith("tokenizer.")]:
            del base[key]
        base.update(sentencepiece_metadata(arch))
        base[f"{arch}.attention.key_length"] = (U32, hidden // heads)
    return base


def arch_tensors(arch: str, main_type: str, hidden: int = 256) -> list:
    """One layer of ``arch`` with every matrix in ``main_type`` (data: ``random_blocks``)."""
    head_dim, kv = hidden // 2, hidden // 2
    matrices = {
        "attn_q": (hidden, hidden),
        "attn_k": (hidden, kv),
        "attn_v": (hidden, kv),
        "attn_output": (hidden, hidden),
        "ffn_gate": (hidden, 2 * hidden),
        "ffn_up": (hidden, 2 * hidden),
        "ffn_down": (2 * hidden, hidden),
    }
    norms = ["attn_norm", "ffn_norm"]
    if arch == "gemma3":
        norms += ["post_attention_norm", "post_ffw_norm", "attn_q_norm", "attn_k_norm"]
    if arch == "qwen3":
        norms += ["attn_q_norm", "attn_k_norm"]
    tensors = []
    for layer in range(GEMMA_LAYERS if arch == "gemma3" else 1):
        for seed, (part, (cols, rows)) in enumerate(matrices.items(), start=10 * layer):
            data = random_blocks(main_type, rows, cols, seed)
            tensors.append((f"blk.{layer}.{part}.weight", (cols, rows), main_type, data))
        for seed, part in enumerate(norms, start=100 + 10 * layer):
            width = head_dim if part in ("attn_q_norm", "attn_k_norm") else hidden
            data = (1.0 + np.random.default_rng(seed).random(width, dtype=np.float32)).tobytes()
            tensors.append((f"blk.{layer}.{part}.weight", (width,), "F32", data))
    if arch == "qwen2":
        for part, width in (("attn_q", hidden), ("attn_k", kv), ("attn_v", kv)):
            tensors.append((f"blk.0.{part}.bias", (width,), "F32"))
    vocab = 269 if arch == "gemma3" else 6  # the SentencePiece or the BPE test vocabulary
    embed = random_blocks("Q8_0", vocab, hidden, 99)
    tensors.append(("token_embd.weight", (hidden, vocab), "Q8_0", embed))
    tensors.append(("output_norm.weight", (hidden,), "F32", np.ones(hidden, np.float32).tobytes()))
    return tensors
