"""Hand-made GGUF files of every K-quant type and each supported architecture, imported.

Every file is a one-layer model written by ``tests/gguf_files.py``. What is checked is what a
wrong conversion breaks without an error: the weights mlx-lm ends up with (against the
file's values, un-permuted only for llama), the bits each module keeps, Gemma's norm offset,
and that the model runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from gguf_files import arch_metadata, arch_tensors, write_gguf

from workbench.core.gguf.convert import unpermute
from workbench.core.gguf.importer import import_gguf

pytestmark = pytest.mark.real

K_TYPES = ["Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q5_0", "Q5_1"]
SOURCE_BITS = {"Q2_K": 2, "Q3_K": 3, "Q4_K": 4, "Q5_K": 5, "Q6_K": 6, "Q5_0": 5, "Q5_1": 5}


def file_values(tensors: list, name: str) -> np.ndarray:
    """The float values a tensor holds in the file, as llama.cpp's gguf package reads them."""
    import gguf

    _, dims, type_name, data = next(t for t in tensors if t[0] == name)
    kind = gguf.GGMLQuantizationType[type_name]
    raw = np.frombuffer(data, dtype=np.uint8).reshape(dims[1], -1)
    return gguf.quants.dequantize(raw, kind).reshape(dims[1], dims[0])


def mlx_values(layer) -> np.ndarray:
    import mlx.core as mx

    if not hasattr(layer, "scales"):
        return np.array(layer.weight.astype(mx.float32))
    weight = mx.dequantize(
        layer.weight, layer.scales, layer.biases, group_size=layer.group_size, bits=layer.bits
    )
    return np.array(weight)


def assert_close(ours: np.ndarray, expected: np.ndarray, bits: int) -> None:
    """Within one quantization step of each group of 32 (a row mix-up is ~10 steps off)."""
    groups = expected.reshape(expected.shape[0], -1, 32)
    step = (groups.max(-1) - groups.min(-1)) / (2**bits - 1)
    error = np.abs(ours - expected).reshape(groups.shape).max(-1)
    assert np.all(error <= step + 1e-4)
    assert np.abs(ours - expected).mean() < np.abs(expected).mean() / 4


def imported(tmp_path: Path, arch: str, main_type: str, bits: int = 4):
    from mlx_lm import load

    tensors = arch_tensors(arch, main_type)
    path = write_gguf(tmp_path / f"{arch}.{main_type}.gguf", arch_metadata(arch), tensors)
    folder = import_gguf(path, dest_root=tmp_path / "models", bits=bits)
    model, tokenizer = load(str(folder))
    return tensors, folder, model, tokenizer


@pytest.mark.parametrize("main_type", K_TYPES)
def test_llama_k_quants_reach_mlx_unpermuted(tmp_path: Path, main_type: str) -> None:
    import mlx.core as mx

    tensors, _, model, tokenizer = imported(tmp_path, "llama", main_type)
    bits = max(4, SOURCE_BITS[main_type])
    attn = model.model.layers[0].self_attn
    assert attn.q_proj.bits == bits and model.model.embed_tokens.bits == 8
    q_file = file_values(tensors, "blk.0.attn_q.weight")
    k_file = file_values(tensors, "blk.0.attn_k.weight")
    assert_close(mlx_values(attn.q_proj), unpermute(q_file, 2), bits)
    assert_close(mlx_values(attn.k_proj), unpermute(k_file, 1), bits)
    mlp = model.model.layers[0].mlp
    assert_close(mlx_values(mlp.down_proj), file_values(tensors, "blk.0.ffn_down.weight"), bits)
    assert attn.q_proj.scales.dtype == mx.float32
    logits = model(mx.array([tokenizer.encode("ab a")]))
    assert bool(mx.all(mx.isfinite(logits)))


def test_bits_option_raises_every_re_quantized_tensor(tmp_path: Path) -> None:
    _, folder, model, _ = imported(tmp_path, "llama", "Q4_K", bits=8)
    config = json.loads((folder / "config.json").read_text())
    assert config["quantization"] == {"group_size": 32, "bits": 8}
    assert model.model.layers[0].mlp.up_proj.bits == 8


def test_a_file_with_more_bits_keeps_them(tmp_path: Path) -> None:
    _, folder, _, _ = imported(tmp_path, "llama", "Q6_K", bits=4)
    config = json.loads((folder / "config.json").read_text())
    assert config["quantization"] == {
        "group_size": 32,
        "bits": 6,
        "model.embed_tokens": {"group_size": 32, "bits": 8},
    }


def test_k_path_and_mlx_native_reader_agree_on_q_and_k(tmp_path: Path) -> None:
    """Q8_0 Q/K read by MLX itself vs by the K-quant path (one Q6_K tensor forces it)."""
    from mlx_lm import load

    metadata = arch_metadata("llama")
    native = arch_tensors("llama", "Q8_0")
    mixed = [
        (name, dims, "Q6_K", _q6k(dims)) if name == "blk.0.ffn_up.weight" else (name, dims, t, d)
        for name, dims, t, d in native
    ]
    a = import_gguf(write_gguf(tmp_path / "a.gguf", metadata, native), dest_root=tmp_path / "m")
    b = import_gguf(write_gguf(tmp_path / "b.gguf", metadata, mixed), dest_root=tmp_path / "m")
    attn_a = load(str(a))[0].model.layers[0].self_attn
    attn_b = load(str(b))[0].model.layers[0].self_attn
    for name in ("q_proj", "k_proj"):
        ours, reference = mlx_values(getattr(attn_b, name)), mlx_values(getattr(attn_a, name))
        assert_close(ours, reference, 7)  # two 8-bit roundings: within two steps


def _q6k(dims: tuple) -> bytes:
    from gguf_files import random_blocks

    return random_blocks("Q6_K", dims[1], dims[0], seed=7)


def test_gemma3_norms_lose_the_offset_and_q_is_not_permuted(tmp_path: Path) -> None:
    import mlx.core as mx

    tensors, folder, model, tokenizer = imported(tmp_path, "gemma3", "Q4_K")
    layer = model.model.layers[0]
    stored = np.frombuffer(next(t for t in tensors if t[0] == "blk.0.ffn_norm.weight")[3], "<f4")
    np.testing.assert_array_equal(np.array(layer.pre_feedforward_layernorm.weight), stored - 1)
    assert_close(mlx_values(layer.self_attn.q_proj), file_values(tensors, "blk.0.attn_q.weight"), 4)
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "gemma3_text" and config["sliding_window_pattern"] == 6
    assert tokenizer.encode("ab a", add_special_tokens=False) == [10, 9]  # "ab", "▁a"
    assert tokenizer.encode("a\u00e9", add_special_tokens=False)[1:] == [
        13 + 0xC3,
        13 + 0xA9,
    ]  # byte fallback
    logits = model(mx.array([tokenizer.encode("ab a")]))
    assert bool(mx.all(mx.isfinite(logits)))


@pytest.mark.parametrize("arch", ["qwen2", "qwen3"])
def test_qwen_files_load_unpermuted(tmp_path: Path, arch: str) -> None:
    import mlx.core as mx

    tensors, folder, model, tokenizer = imported(tmp_path, arch, "Q5_K")
    attn = model.model.layers[0].self_attn
    assert_close(mlx_values(attn.k_proj), file_values(tensors, "blk.0.attn_k.weight"), 5)
    assert json.loads((folder / "config.json").read_text())["model_type"] == arch
    logits = model(mx.array([tokenizer.encode("ab a")]))
    assert bool(mx.all(mx.isfinite(logits)))


def test_loading_reuses_an_import_made_at_other_bits(tmp_path: Path) -> None:
    from workbench.core.gguf.importer import ensure_imported

    path = write_gguf(tmp_path / "k.gguf", arch_metadata("llama"), arch_tensors("llama", "Q4_K"))
    root = tmp_path / "models"
    folder = ensure_imported(path, dest_root=root, bits=8)
    said: list[str] = []
    assert ensure_imported(path, dest_root=root, progress=said.append) == folder
    assert said == []  # an 8-bit import serves a load that names no bits
    ensure_imported(path, dest_root=root, progress=said.append, bits=4)
    assert "loading tensors" in said
    assert json.loads((folder / "config.json").read_text())["quantization"]["bits"] == 4
