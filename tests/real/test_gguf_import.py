"""The bundled SmolLM2 GGUF, imported and run through mlx-lm like any MLX model folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gguf_files import llama_metadata, llama_tensors, write_gguf

from workbench.cli import main
from workbench.core.gguf.importer import RECORD_FILE, ensure_imported, import_gguf, read_record

pytestmark = pytest.mark.real

QUESTION = "What is the capital of France?"


@pytest.fixture(scope="module")
def loaded(smollm2_dir: Path):
    from mlx_lm import load

    return load(str(smollm2_dir))


def test_greedy_chat_answer_names_paris_and_stops_at_end_of_turn(loaded) -> None:
    from mlx_lm import stream_generate

    model, tokenizer = loaded
    messages = [{"role": "user", "content": QUESTION}]
    prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True)
    pieces = list(stream_generate(model, tokenizer, prompt, max_tokens=40))
    text = "".join(piece.text for piece in pieces)
    assert "Paris" in text, text
    assert text.strip() == "The capital of France is Paris."
    assert pieces[-1].finish_reason == "stop"  # ended on <|im_end|>, not the token limit


def test_prompt_uses_the_gguf_chat_template(loaded) -> None:
    _, tokenizer = loaded
    text = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}], add_generation_prompt=True, tokenize=False
    )
    assert text == (
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
        "Face<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    )


def test_digits_are_split_one_by_one(loaded) -> None:
    _, tokenizer = loaded
    ids = tokenizer.encode("year 2024", add_special_tokens=False)
    assert [tokenizer.decode([i]) for i in ids] == ["year", " ", "2", "0", "2", "4"]


@pytest.mark.parametrize(
    "text",
    [
        "Hello, world!  Two spaces, a\ttab and a newline\n",
        "Prices: 3.14 €, 1,000,000 ¥ — naïve café",
        "日本語のテキスト and emoji 😀👍🏽",
        "def f(x):\n    return x ** 2  # comment",
    ],
)
def test_encode_decode_round_trips(loaded, text: str) -> None:
    _, tokenizer = loaded
    ids = tokenizer.encode(text, add_special_tokens=False)
    assert tokenizer.decode(ids) == text


def test_chat_markers_are_single_special_tokens(loaded) -> None:
    _, tokenizer = loaded
    assert tokenizer.encode("<|im_start|>", add_special_tokens=False) == [1]
    assert tokenizer.encode("<|im_end|>", add_special_tokens=False) == [2]
    ids = tokenizer.encode("<|im_start|>user\nHi<|im_end|>", add_special_tokens=False)
    assert ids[0] == 1 and ids[-1] == 2
    assert tokenizer.eos_token_ids == {2}
    assert tokenizer.encode("Hi")[0] != 1  # this vocabulary adds no BOS


def test_config_keeps_the_8_bit_embedding(smollm2_dir: Path) -> None:
    config = json.loads((smollm2_dir / "config.json").read_text())
    assert config["model_type"] == "llama"
    assert config["quantization"] == {
        "group_size": 32,
        "bits": 4,
        "model.embed_tokens": {"group_size": 32, "bits": 8},
    }
    assert config["tie_word_embeddings"] is True
    assert (config["num_hidden_layers"], config["hidden_size"]) == (30, 576)
    assert (config["num_attention_heads"], config["num_key_value_heads"]) == (9, 3)
    assert config["rope_theta"] == 100000.0 and config["rms_norm_eps"] == 1e-05


def test_weights_have_hugging_face_names_and_packed_shapes(loaded, smollm2_dir: Path) -> None:
    import mlx.core as mx

    weights = mx.load(str(smollm2_dir / "model.safetensors"))
    assert weights["model.embed_tokens.weight"].shape == (49152, 576 * 8 // 32)
    assert weights["model.layers.0.self_attn.q_proj.weight"].shape == (576, 576 * 4 // 32)
    assert weights["model.layers.29.self_attn.k_proj.scales"].shape == (192, 576 // 32)
    assert weights["model.layers.29.mlp.down_proj.biases"].shape == (576, 1536 // 32)
    assert not any(name.startswith(("blk.", "lm_head", "token_embd")) for name in weights)
    model, _ = loaded
    assert model.model.embed_tokens.bits == 8
    assert model.model.layers[0].self_attn.q_proj.bits == 4


def _listing(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


def test_second_ensure_reuses_the_import(smollm2_gguf: Path, tmp_path: Path) -> None:
    messages: list[str] = []
    first = ensure_imported(smollm2_gguf, dest_root=tmp_path, progress=messages.append)
    assert first.name == "SmolLM2-135M-Instruct-Q4_1-mlx"
    assert "loading tensors" in messages
    weights_mtime = (first / "model.safetensors").stat().st_mtime_ns
    messages.clear()
    second = ensure_imported(smollm2_gguf, dest_root=tmp_path, progress=messages.append)
    assert second == first and messages == []
    assert (first / "model.safetensors").stat().st_mtime_ns == weights_mtime
    assert read_record(first)["source"] == str(smollm2_gguf.resolve())
    assert _listing(tmp_path) == [".locks", first.name]


def test_changed_source_is_imported_again(smollm2_gguf: Path, tmp_path: Path) -> None:
    source = shutil.copy(smollm2_gguf, tmp_path / "copy.Q4_1.gguf")
    root = tmp_path / "models"
    folder = ensure_imported(source, dest_root=root)
    stat = os.stat(source)
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    messages: list[str] = []
    again = ensure_imported(source, dest_root=root, progress=messages.append)
    assert again == folder and "loading tensors" in messages
    assert read_record(folder)["mtime_ns"] == stat.st_mtime_ns + 1_000_000_000
    assert _listing(root) == [".locks", folder.name]  # the old copy is gone, no work folders


def test_concurrent_imports_share_one_result(smollm2_gguf: Path, tmp_path: Path) -> None:
    script = (
        "import sys; from pathlib import Path; "
        "from workbench.core.gguf.importer import ensure_imported; "
        "said = []; "
        "path = ensure_imported(Path(sys.argv[1]), Path(sys.argv[2]), said.append); "
        "print(path, 'loading tensors' in said)"
    )
    args = [sys.executable, "-c", script, str(smollm2_gguf), str(tmp_path)]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [proc.communicate(timeout=300)[0].split() for proc in procs]
    assert all(proc.returncode == 0 for proc in procs)
    folder = tmp_path / "SmolLM2-135M-Instruct-Q4_1-mlx"
    assert sorted(out[1] for out in outputs) == ["False", "True"]  # exactly one imported
    assert {out[0] for out in outputs} == {str(folder)}
    assert _listing(tmp_path) == [".locks", folder.name]
    assert read_record(folder) is not None


def test_import_replaces_an_earlier_import(smollm2_gguf: Path, tmp_path: Path) -> None:
    folder = import_gguf(smollm2_gguf, dest_root=tmp_path, name="smol")
    (folder / "stale.txt").write_text("from before")
    again = import_gguf(smollm2_gguf, dest_root=tmp_path, name="smol")
    assert again == folder and not (folder / "stale.txt").exists()
    assert (folder / RECORD_FILE).is_file()
    assert _listing(tmp_path) == [".locks", "smol"]


def test_cli_json_reports_the_import(smollm2_gguf, tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path))
    assert main(["import-gguf", str(smollm2_gguf), "--name", "smol", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    folder = tmp_path / "data" / "models" / "smol"
    assert report == {
        "path": str(folder),
        "name": "smol",
        "source": str(smollm2_gguf.resolve()),
        "quantization": {
            "group_size": 32,
            "bits": 4,
            "model.embed_tokens": {"group_size": 32, "bits": 8},
        },
    }
    assert (folder / "tokenizer.json").is_file()


# ---- tiny hand-made llama files: every supported tensor type, and the Q/K row order --------


def _permuted_f32(rows: int, cols: int, heads: int) -> tuple[np.ndarray, bytes]:
    """A weight with distinct values, and its bytes in llama.cpp's permuted row order."""
    weight = np.arange(rows * cols, dtype=np.float32).reshape(rows, cols) / (rows * cols)
    permuted = weight.reshape(heads, 2, rows // heads // 2, cols).swapaxes(1, 2)
    return weight, permuted.reshape(rows, cols).tobytes()


@pytest.mark.parametrize(
    ("main_type", "embed_type", "expected"),
    [
        (
            "Q4_0",
            "Q8_0",
            {"group_size": 32, "bits": 4, "model.embed_tokens": {"group_size": 32, "bits": 8}},
        ),
        ("Q8_0", "Q8_0", {"group_size": 32, "bits": 8}),
        ("F16", "F16", None),
    ],
)
def test_tiny_llama_of_each_type_loads_and_runs(tmp_path, main_type, embed_type, expected):
    import mlx.core as mx
    from mlx_lm import load

    q_weight, q_bytes = _permuted_f32(64, 64, heads=2)
    k_weight, k_bytes = _permuted_f32(32, 64, heads=1)
    tensors = llama_tensors(main_type, embed_type)
    tensors[3] = ("blk.0.attn_q.weight", (64, 64), "F32", q_bytes)
    tensors[4] = ("blk.0.attn_k.weight", (64, 32), "F32", k_bytes)
    path = write_gguf(tmp_path / f"tiny.{main_type}.gguf", llama_metadata(), tensors)
    folder = import_gguf(path, dest_root=tmp_path / "models")
    config = json.loads((folder / "config.json").read_text())
    assert config.get("quantization") == expected
    model, tokenizer = load(str(folder))
    attn = model.model.layers[0].self_attn
    np.testing.assert_array_equal(np.array(attn.q_proj.weight), q_weight)
    np.testing.assert_array_equal(np.array(attn.k_proj.weight), k_weight)
    logits = model(mx.array([tokenizer.encode("ab a")]))
    assert logits.shape[-1] == 6 and bool(mx.all(mx.isfinite(logits)))


def test_llama3_rope_factors_reach_mlx_unchanged(tmp_path: Path) -> None:
    from mlx_lm import load

    # what llama.cpp writes for Llama 3.2 (factor 32), for a 32-wide head and base 10000
    stored = np.array([1.0] * 11 + [2.1880844, 7.7308903, 32.0, 32.0, 32.0], dtype=np.float32)
    tensors = [*llama_tensors(), ("rope_freqs.weight", (16,), "F32", stored.tobytes())]
    path = write_gguf(tmp_path / "llama3.gguf", llama_metadata(), tensors)
    model, _ = load(str(import_gguf(path, dest_root=tmp_path / "models")))
    plain = 10000.0 ** (np.arange(0, 32, 2) / 32)
    used = np.array(model.model.layers[0].self_attn.rope._freqs)
    np.testing.assert_allclose(used / plain, stored, rtol=1e-4)
