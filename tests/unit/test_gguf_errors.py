"""GGUF files the importer must refuse with one clear line, before MLX reads a byte.

Tiny GGUF files are written by hand (``tests/gguf_files.py``), so every failure is exercised
without any real model. The real demo file is only used, truncated, to check that a damaged
download is caught.
"""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gguf_files import ARRAY, BOOL, STRING, gguf_string, llama_metadata, llama_tensors, write_gguf

from workbench.cli import main
from workbench.core.errors import GGUFError
from workbench.core.gguf.convert import llama3_rope_factors, model_config, quantization, unpermute
from workbench.core.gguf.importer import default_name, ensure_imported, import_gguf
from workbench.core.gguf.reader import read_header
from workbench.core.gguf.tokenizer import build_tokenizer


@pytest.fixture
def tiny_llama(tmp_path: Path) -> Path:
    return write_gguf(tmp_path / "tiny.Q4_1.gguf", llama_metadata(), llama_tensors())


def refused(path: Path, tmp_path: Path) -> str:
    """Import ``path`` into a fresh folder; return the GGUFError message; check nothing left."""
    root = tmp_path / "models"
    with pytest.raises(GGUFError) as info:
        import_gguf(path, dest_root=root)
    message = str(info.value)
    assert "\n" not in message
    assert not root.exists() or not [p for p in root.iterdir() if p.name != ".locks"]
    return message


# ---- refusals ----------------------------------------------------------------------------


def test_bad_magic_is_not_a_gguf_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.gguf"
    path.write_text("this is a text file, not a model\n")
    assert "not a GGUF file (bad magic bytes)" in refused(path, tmp_path)


def test_empty_file_is_not_a_gguf_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.gguf"
    path.write_bytes(b"")
    assert "not a GGUF file" in refused(path, tmp_path)


def test_missing_file(tmp_path: Path) -> None:
    message = refused(tmp_path / "nowhere.gguf", tmp_path)
    assert "nowhere.gguf" in message and "no such file" in message


def test_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "model.gguf"
    folder.mkdir()
    assert "is a directory" in refused(folder, tmp_path)


def test_real_file_cut_inside_the_header(smollm2_gguf: Path, tmp_path: Path) -> None:
    path = tmp_path / "cut.gguf"
    path.write_bytes(smollm2_gguf.read_bytes()[:1000])
    assert "truncated GGUF file (the header ends early)" in refused(path, tmp_path)


@pytest.mark.parametrize("keep", [5_000_000, -1])
def test_real_file_cut_inside_the_tensor_data(smollm2_gguf: Path, tmp_path: Path, keep) -> None:
    path = tmp_path / "cut.gguf"
    path.write_bytes(smollm2_gguf.read_bytes()[:keep])
    message = refused(path, tmp_path)
    assert "truncated GGUF file (tensor '" in message
    assert f"the file has {path.stat().st_size:,}" in message


def test_tiny_file_cut_inside_the_tensor_data(tiny_llama: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny_llama.read_bytes()[:-100])
    assert "truncated GGUF file (tensor 'output_norm.weight'" in refused(cut, tmp_path)


def test_absurd_array_length_is_truncation_not_a_memory_error(tmp_path: Path) -> None:
    body = gguf_string("tokenizer.ggml.tokens") + struct.pack("<IIQ", ARRAY, STRING, 2**62)
    path = tmp_path / "corrupt.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + body)
    assert "an array of 4,611,686,018,427,387,904 items" in refused(path, tmp_path)


def test_old_gguf_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v1.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<III", 1, 0, 0))
    assert "GGUF version 1 is not supported" in refused(path, tmp_path)


def test_unsupported_architecture_is_refused(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "falcon.gguf", llama_metadata(arch="falcon"), llama_tensors())
    assert refused(path, tmp_path) == (
        "falcon.gguf: architecture 'falcon' is not supported; "
        "supported: llama, qwen2, qwen3, gemma3 (Mistral files are 'llama')"
    )


def test_i_quant_tensors_are_refused(tmp_path: Path) -> None:
    tensors = llama_tensors(main_type="Q4_1", embed_type="F16")
    tensors[3] = ("blk.0.attn_q.weight", (64, 64), "IQ4_NL")
    path = write_gguf(tmp_path / "iq.gguf", llama_metadata(), tensors)
    message = refused(path, tmp_path)
    assert "tensor type IQ4_NL is not supported" in message
    assert "Q2_K, Q3_K, Q4_0, Q4_1, Q4_K, Q5_0, Q5_1, Q5_K, Q6_K, Q8_0" in message


def test_sentencepiece_vocabulary_needs_scores(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "spm.gguf", llama_metadata(tokenizer="llama"), llama_tensors())
    assert refused(path, tmp_path) == "spm.gguf: SentencePiece vocabulary without piece scores"


def test_unknown_tokenizer_model_is_refused(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "wp.gguf", llama_metadata(tokenizer="bert"), llama_tensors())
    assert "tokenizer model 'bert' is not supported" in refused(path, tmp_path)


def test_unknown_pre_tokenizer_is_refused(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "pre.gguf", llama_metadata(pre="deepseek-llm"), llama_tensors())
    assert "pre-tokenizer 'deepseek-llm' is not supported" in refused(path, tmp_path)


def test_a_folder_not_made_by_the_importer_is_never_replaced(tiny_llama, tmp_path) -> None:
    precious = tmp_path / "models" / "tiny-Q4_1-mlx"
    precious.mkdir(parents=True)
    (precious / "notes.txt").write_text("mine")
    with pytest.raises(GGUFError, match="was not made by import-gguf"):
        ensure_imported(tiny_llama, dest_root=tmp_path / "models")
    assert (precious / "notes.txt").read_text() == "mine"


def test_bad_model_name_is_refused(tiny_llama: Path, tmp_path: Path) -> None:
    with pytest.raises(GGUFError, match="invalid model name"):
        import_gguf(tiny_llama, dest_root=tmp_path, name="../escape")


# ---- the CLI turns each refusal into one line and exit status 2 ---------------------------


def test_cli_reports_one_line_and_exit_2(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))
    path = write_gguf(tmp_path / "falcon.gguf", llama_metadata(arch="falcon"), llama_tensors())
    assert main(["import-gguf", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "mlxbench: error: falcon.gguf: architecture 'falcon' is not supported; "
        "supported: llama, qwen2, qwen3, gemma3 (Mistral files are 'llama')"
    ]


def test_cli_subprocess_has_no_traceback_and_never_loads_mlx(tmp_path: Path) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"PK\x03\x04 a zip file")
    script = (
        "import sys; from workbench.cli import main; code = main(sys.argv[1:]); "
        "print('mlx' in sys.modules); sys.exit(code)"
    )
    env = {"MLXBENCH_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [sys.executable, "-c", script, "import-gguf", str(bad)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "mlxbench: error: bad.gguf: not a GGUF file (bad magic bytes)"
    ]
    assert result.stdout.strip() == "False"


# ---- conversion pieces that are pure data ------------------------------------------------


def _llama_cpp_permute(weights: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's convert script, verbatim in spirit."""
    shape = weights.shape
    return (
        weights.reshape(n_head, 2, shape[0] // n_head // 2, *shape[1:])
        .swapaxes(1, 2)
        .reshape(shape)
    )


@pytest.mark.parametrize("shape", [(576, 72), (192, 18), (96,)])
def test_unpermute_undoes_llama_cpp_permutation(shape: tuple) -> None:
    original = np.arange(int(np.prod(shape))).reshape(shape)
    heads = 3
    permuted = _llama_cpp_permute(original, heads)
    assert not np.array_equal(permuted, original)
    np.testing.assert_array_equal(unpermute(permuted, heads), original)


def test_quantization_keeps_per_module_bits(tiny_llama: Path) -> None:
    assert quantization(read_header(tiny_llama)) == {
        "group_size": 32,
        "bits": 4,
        "model.embed_tokens": {"group_size": 32, "bits": 8},
    }


def test_unquantized_file_has_no_quantization(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "f16.gguf", llama_metadata(), llama_tensors("F16", "F16"))
    assert quantization(read_header(path)) is None


def test_default_name_is_readable() -> None:
    name = default_name(Path("/x/SmolLM2-135M-Instruct.Q4_1.gguf"))
    assert name == "SmolLM2-135M-Instruct-Q4_1-mlx"
    assert default_name(Path("my model (v2).gguf")) == "my-model-v2-mlx"


def _with_rope_freqs(tmp_path: Path, factors: np.ndarray) -> Path:
    tensors = [*llama_tensors(), ("rope_freqs.weight", (16,), "F32", factors.tobytes())]
    return write_gguf(tmp_path / "llama3.gguf", llama_metadata(), tensors)


def test_llama3_rope_factors_become_llama3_rope_scaling(tmp_path: Path) -> None:
    path = _with_rope_freqs(tmp_path, llama3_rope_factors(head_dim=32, base=10000, factor=32))
    assert model_config(read_header(path))["rope_scaling"] == {
        "rope_type": "llama3",
        "factor": 32.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 8192,
    }


def test_other_rope_factors_are_refused(tmp_path: Path) -> None:
    path = _with_rope_freqs(tmp_path, np.linspace(1, 4, 16, dtype=np.float32))
    assert "do not follow Llama 3 scaling" in refused(path, tmp_path)


@pytest.mark.parametrize(
    ("pre", "pieces"),
    [
        ("smollm", ["Hello", "Ġ", "1", "2", "3", "4", "5", "Ġworld", "'s"]),
        ("gpt2", ["Hello", "Ġ12345", "Ġworld", "'s"]),
        ("llama-bpe", ["Hello", "Ġ", "123", "45", "Ġworld", "'s"]),
    ],
)
def test_pre_tokenizers_split_like_their_models(tmp_path: Path, pre: str, pieces: list) -> None:
    path = write_gguf(tmp_path / "t.gguf", llama_metadata(pre=pre), llama_tensors())
    tokenizer = build_tokenizer(read_header(path))
    split = tokenizer.pre_tokenizer.pre_tokenize_str("Hello 12345 world's")
    assert [piece for piece, _ in split] == pieces


def test_bos_is_added_when_the_vocabulary_asks_for_it(tmp_path: Path) -> None:
    metadata = {**llama_metadata(), "tokenizer.ggml.add_bos_token": (BOOL, True)}
    path = write_gguf(tmp_path / "bos.gguf", metadata, llama_tensors())
    assert build_tokenizer(read_header(path)).encode("ab").ids == [0, 4]
