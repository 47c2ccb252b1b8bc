"""Malformed GGUF metadata and odd files: refused in one line, never a traceback or a hang.

Each case is a small hand-made file (``tests/gguf_files.py``) that breaks one rule: a value
of the wrong type, arrays nested too deeply or longer than the file, lists that disagree in
length, a malformed merge, no tensors, or a path that is not a regular file at all.
"""

from __future__ import annotations

import fcntl
import os
import struct
from pathlib import Path

import pytest
from gguf_files import (
    ARRAY,
    F32,
    I32,
    STRING,
    U32,
    gguf_string,
    llama_metadata,
    llama_tensors,
    write_gguf,
)

from workbench.cli import main
from workbench.core.errors import GGUFError
from workbench.core.gguf.importer import import_gguf, sweep_leftovers


def refusal(tmp_path: Path, metadata: dict, tensors: list | None = None) -> str:
    path = write_gguf(
        tmp_path / "bad.gguf", metadata, llama_tensors() if tensors is None else tensors
    )
    with pytest.raises(GGUFError) as info:
        import_gguf(path, dest_root=tmp_path / "models")
    message = str(info.value)
    assert "\n" not in message and message.startswith("bad.gguf: ")
    models = tmp_path / "models"
    assert not models.exists() or [p.name for p in models.iterdir()] in ([], [".locks"])
    return message


def test_integer_given_as_a_string(tmp_path: Path) -> None:
    metadata = llama_metadata()
    metadata["llama.block_count"] = (STRING, "one")
    assert "'llama.block_count' should be an integer, not str" in refusal(tmp_path, metadata)


def test_integer_given_as_a_float(tmp_path: Path) -> None:
    metadata = llama_metadata()
    metadata["llama.attention.head_count"] = (F32, 2.0)
    assert "'llama.attention.head_count' should be an integer" in refusal(tmp_path, metadata)


def test_zero_heads_is_out_of_range(tmp_path: Path) -> None:
    metadata = llama_metadata()
    metadata["llama.attention.head_count"] = (U32, 0)
    assert "'llama.attention.head_count' is out of range (0)" in refusal(tmp_path, metadata)


def test_nan_epsilon(tmp_path: Path) -> None:
    metadata = llama_metadata()
    metadata["llama.attention.layer_norm_rms_epsilon"] = (F32, float("nan"))
    assert "is not a finite number" in refusal(tmp_path, metadata)


@pytest.mark.parametrize(
    "key", ["llama.block_count", "llama.embedding_length", "llama.attention.layer_norm_rms_epsilon"]
)
def test_missing_hyper_parameter(tmp_path: Path, key: str) -> None:
    metadata = llama_metadata()
    del metadata[key]
    assert f"'{key}' is missing" in refusal(tmp_path, metadata)


def test_tokens_that_are_not_strings(tmp_path: Path) -> None:
    metadata = llama_metadata()
    metadata["tokenizer.ggml.tokens"] = (ARRAY, (I32, [1, 2, 3, 4, 5, 6]))
    assert "'tokenizer.ggml.tokens' should be a list of strings" in refusal(tmp_path, metadata)


def test_arrays_nested_too_deeply(tmp_path: Path) -> None:
    nested: tuple = (I32, [1])
    for _ in range(4):
        nested = (ARRAY, [nested])  # an array holding the previous array
    metadata = {**llama_metadata(), "general.tags": (ARRAY, nested)}
    assert "arrays nested too deeply" in refusal(tmp_path, metadata)


def test_token_types_shorter_than_tokens(tmp_path: Path) -> None:
    metadata = llama_metadata()
    metadata["tokenizer.ggml.token_type"] = (ARRAY, (I32, [3, 3, 1]))
    assert "vocabulary lists disagree in length (6 tokens, 3 types)" in refusal(tmp_path, metadata)


@pytest.mark.parametrize("merge", ["ab", " a", "a ", ""])
def test_malformed_merge(tmp_path: Path, merge: str) -> None:
    metadata = llama_metadata()
    metadata["tokenizer.ggml.merges"] = (ARRAY, (STRING, [merge]))
    assert "malformed BPE merge" in refusal(tmp_path, metadata)


def test_merge_of_unknown_tokens(tmp_path: Path) -> None:
    metadata = llama_metadata()
    metadata["tokenizer.ggml.merges"] = (ARRAY, (STRING, ["x y"]))
    assert "a BPE merge names tokens not in the vocabulary" in refusal(tmp_path, metadata)


def test_sentencepiece_scores_of_another_length(tmp_path: Path) -> None:
    metadata = llama_metadata(tokenizer="llama")
    metadata["tokenizer.ggml.scores"] = (ARRAY, (F32, [0.0, 0.0]))
    assert "(6 tokens, 2 scores, 6 types)" in refusal(tmp_path, metadata)


def test_no_tensors(tmp_path: Path) -> None:
    assert "has no tensors" in refusal(tmp_path, llama_metadata(), tensors=[])


def test_fewer_layers_than_block_count(tmp_path: Path) -> None:
    metadata = llama_metadata()
    metadata["llama.block_count"] = (U32, 2)
    assert "do not match its block_count (2)" in refusal(tmp_path, metadata)


def test_embedding_rows_disagree_with_the_vocabulary(tmp_path: Path) -> None:
    tensors = llama_tensors()
    tensors[0] = ("token_embd.weight", (64, 7), "Q8_0")
    assert "the embedding has 7 rows but the vocabulary 6 tokens" in refusal(
        tmp_path, llama_metadata(), tensors
    )


def _raw_file(tmp_path: Path, body: bytes, n_kv: int = 1, n_tensors: int = 0) -> Path:
    path = tmp_path / "bad.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, n_tensors, n_kv) + body + bytes(64))
    return path


_ONE_KEY = gguf_string("k") + struct.pack("<II", U32, 1)


@pytest.mark.parametrize(
    ("body", "n_kv", "expected"),
    [
        (gguf_string("k") + struct.pack("<IQ", STRING, 2**40), 1, "a 1,099,511,627,776-byte"),
        (gguf_string("k") + struct.pack("<I", 99), 1, "unknown value type 99"),
        (gguf_string("general.alignment") + struct.pack("<II", U32, 3), 1, "alignment' is 3"),
        (_ONE_KEY * 2, 2, "key 'k' appears twice"),
        (b"", 2**40, "corrupt GGUF header (0 tensors, 1,099,511,627,776 keys)"),
    ],
)
def test_corrupt_metadata_bytes(tmp_path: Path, body: bytes, n_kv: int, expected: str) -> None:
    path = _raw_file(tmp_path, body, n_kv=n_kv)
    with pytest.raises(GGUFError) as info:
        import_gguf(path, dest_root=tmp_path / "models")
    assert "corrupt GGUF" in str(info.value) and expected in str(info.value)


def test_device_file_is_refused_at_once(tmp_path: Path) -> None:
    with pytest.raises(GGUFError, match="not a regular file"):
        import_gguf(Path("/dev/zero"), dest_root=tmp_path / "models")


def test_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "model.gguf"
    os.mkfifo(fifo)
    with pytest.raises(GGUFError, match="not a regular file"):
        import_gguf(fifo, dest_root=tmp_path / "models")


def test_cli_on_dev_zero_is_one_line(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))
    assert main(["import-gguf", "/dev/zero"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "mlxbench: error: /dev/zero: not a regular file (a device, FIFO or socket)"
    ]


def test_unsupported_bits_are_refused(tmp_path: Path) -> None:
    path = write_gguf(tmp_path / "ok.gguf", llama_metadata(), llama_tensors())
    with pytest.raises(GGUFError, match="--bits 7 is not supported"):
        import_gguf(path, dest_root=tmp_path / "models", bits=7)


# ---- work folders of killed imports --------------------------------------------------------


def test_work_folders_of_dead_imports_are_swept(tmp_path: Path) -> None:
    root = tmp_path / "models"
    for leftover in (".smol.tmp-abc123", ".other.old-x9", ".my.model.tmp-zz"):
        (root / leftover / "inner").mkdir(parents=True)
    (root / "keep-me").mkdir()
    (root / ".hidden-user-folder").mkdir()
    removed = sweep_leftovers(root)
    assert sorted(p.name for p in removed) == [
        ".my.model.tmp-zz",
        ".other.old-x9",
        ".smol.tmp-abc123",
    ]
    assert sorted(p.name for p in root.iterdir()) == [".hidden-user-folder", ".locks", "keep-me"]


def test_a_running_import_keeps_its_work_folder(tmp_path: Path) -> None:
    root = tmp_path / "models"
    work = root / ".busy.tmp-1"
    work.mkdir(parents=True)
    (root / ".locks").mkdir()
    with (root / ".locks" / "busy.lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as the importing process holds it
        assert sweep_leftovers(root) == []
    assert work.is_dir()
    assert sweep_leftovers(root) == [work]


def test_layer_without_a_needed_weight(tmp_path: Path) -> None:
    tensors = [t for t in llama_tensors() if t[0] != "blk.0.attn_k.weight"]
    assert "layer 0 has no attn_k weight" in refusal(tmp_path, llama_metadata(), tensors)


def test_layers_that_differ(tmp_path: Path) -> None:
    metadata = llama_metadata()
    metadata["llama.block_count"] = (U32, 2)
    layer0 = [t for t in llama_tensors() if t[0].startswith("blk.0.")]
    layer1 = [(n.replace("blk.0.", "blk.1."), d, k) for n, d, k in layer0 if "ffn_up" not in n]
    tensors = [*llama_tensors(), *layer1]
    assert "layer 1 differs from layer 0 ('ffn_up.weight')" in refusal(tmp_path, metadata, tensors)


def test_matrix_shape_that_contradicts_the_metadata(tmp_path: Path) -> None:
    metadata = llama_metadata()
    metadata["llama.feed_forward_length"] = (U32, 96)
    message = refusal(tmp_path, metadata)
    assert "tensor 'blk.0.ffn_up.weight' has shape (64, 128), the metadata implies (64, 96)" in (
        message
    )
