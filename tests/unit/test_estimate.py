"""Size estimation: exact from safetensors headers, then config, then name, then a default."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from catalog_fakes import LLAMA_CONFIG, make_gguf, write_safetensors

from workbench.core.pool.estimate import (
    DEFAULT_BYTES,
    estimate_bytes,
    estimate_from_config,
    estimate_from_name,
)

TENSORS = {
    "a.weight": ("F32", [10, 20]),  # 800
    "b.weight": ("BF16", [3]),  # 6
    "c.weight": ("U32", [4, 8]),  # 128
    "d.scales": ("F16", [4, 1]),  # 8
}
EXACT = 800 + 6 + 128 + 8

MINILM_CONFIG = {
    "architectures": ["BertModel"],
    "model_type": "bert",
    "hidden_size": 384,
    "intermediate_size": 1536,
    "max_position_embeddings": 512,
    "num_attention_heads": 12,
    "num_hidden_layers": 6,
    "type_vocab_size": 2,
    "vocab_size": 30522,
}
MINILM_FLOAT32_BYTES = 22_713_216 * 4  # all-MiniLM-L6-v2's real parameter count

SMOLLM2_CONFIG = {
    "model_type": "llama",
    "hidden_size": 576,
    "intermediate_size": 1536,
    "num_attention_heads": 9,
    "num_hidden_layers": 30,
    "num_key_value_heads": 3,
    "tie_word_embeddings": True,
    "torch_dtype": "bfloat16",
    "vocab_size": 49152,
}
SMOLLM2_BF16_BYTES = 134_515_008 * 2  # SmolLM2-135M's real parameter count


def test_safetensors_header_gives_exact_bytes(tmp_path: Path) -> None:
    assert write_safetensors(tmp_path / "model.safetensors", TENSORS) == EXACT
    assert estimate_bytes(tmp_path, LLAMA_CONFIG, "x") == (EXACT, "safetensors-header")


def test_weights_are_never_read(tmp_path: Path) -> None:
    # the file holds only the header: an estimate that read the data would fail
    write_safetensors(tmp_path / "model.safetensors", TENSORS, header_only=True)
    assert estimate_bytes(tmp_path, None, "x") == (EXACT, "safetensors-header")


def test_sharded_model_sums_the_shards_the_index_names(tmp_path: Path) -> None:
    first = write_safetensors(tmp_path / "model-00001-of-00002.safetensors", TENSORS)
    second = write_safetensors(tmp_path / "model-00002-of-00002.safetensors", {"e": ("I8", [1000])})
    # a stray full copy next to the shards (as some repos ship) must not be counted
    write_safetensors(tmp_path / "consolidated.safetensors", TENSORS)
    weight_map = {k: "model-00001-of-00002.safetensors" for k in TENSORS}
    weight_map["e"] = "model-00002-of-00002.safetensors"
    index = {"metadata": {"total_size": 1}, "weight_map": weight_map}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    assert estimate_bytes(tmp_path, None, "x") == (first + second, "safetensors-header")


def test_missing_shard_falls_back_to_the_config(tmp_path: Path) -> None:
    write_safetensors(tmp_path / "model-00001-of-00002.safetensors", TENSORS)
    weight_map = {"a": "model-00001-of-00002.safetensors", "e": "model-00002-of-00002.safetensors"}
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    size, method = estimate_bytes(tmp_path, LLAMA_CONFIG, "x")
    assert method == "config-params" and size == estimate_from_config(LLAMA_CONFIG)


@pytest.mark.parametrize(
    "content",
    [
        b"\x01\x02",  # shorter than the length prefix
        struct.pack("<Q", 10**12) + b"{}",  # absurd header length
        struct.pack("<Q", 50) + b"{}",  # truncated header
        struct.pack("<Q", 5) + b"nope!",  # not JSON
        struct.pack("<Q", 2) + b"[]",  # not an object
    ],
)
def test_corrupt_header_falls_back(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "model.safetensors").write_bytes(content)
    size, method = estimate_bytes(tmp_path, None, "Qwen2.5-7B-Instruct-4bit")
    assert method == "name" and size == estimate_from_name("Qwen2.5-7B-Instruct-4bit")


def test_config_estimate_matches_real_parameter_counts() -> None:
    minilm = estimate_from_config(MINILM_CONFIG)  # no dtype: float32, as saved
    assert minilm == pytest.approx(MINILM_FLOAT32_BYTES, rel=0.02)
    smollm2 = estimate_from_config(SMOLLM2_CONFIG)
    assert smollm2 == pytest.approx(SMOLLM2_BF16_BYTES, rel=0.02)


def test_quantized_config_counts_bits_and_group_overhead() -> None:
    quantized = {**SMOLLM2_CONFIG, "quantization": {"bits": 4, "group_size": 64}}
    # 4 bits + a 16-bit scale and bias per 64 weights = 4.5 bits per weight
    expected = SMOLLM2_BF16_BYTES / 2 * 4.5 / 8
    assert estimate_from_config(quantized) == pytest.approx(expected, rel=0.02)


def test_config_without_dimensions_says_nothing() -> None:
    assert estimate_from_config({"model_type": "llama"}) is None
    assert estimate_from_config(None) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Qwen2.5-7B-Instruct-4bit", 7e9 * 4.5 / 8),
        ("SmolLM2-135M-Instruct", 135e6 * 2),
        ("Qwen2.5-0.5B-Instruct", 0.5e9 * 2),
        ("mistral-7b-instruct-v0.2.Q4_K_M", 7e9 * 4.5 / 8),
        ("Mixtral-8x7B-Instruct-8bit", 56e9 * 8.5 / 8),
        ("tiny-model-135M-f32", 135e6 * 4),
    ],
)
def test_name_heuristics(name: str, expected: float) -> None:
    assert estimate_from_name(name) == pytest.approx(expected, rel=1e-6)
    assert estimate_bytes(Path("/nonexistent"), None, name) == (int(expected), "name")


def test_default_when_nothing_is_known(tmp_path: Path) -> None:
    assert estimate_bytes(tmp_path, None, "mystery") == (DEFAULT_BYTES, "default")


def test_gguf_file_size(tmp_path: Path) -> None:
    gguf = make_gguf(tmp_path / "m.Q4_1.gguf", size=123_456)
    assert estimate_bytes(gguf, None, "m") == (123_456, "gguf-file-size")
