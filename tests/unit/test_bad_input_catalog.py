"""Bad input corpus, model folders: a header with impossible sizes marks the folder unusable
with the reason; one damaged Hugging Face cache repo is listed with its reason and never
hides the others."""

from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path

import pytest
from catalog_fakes import LLAMA_CONFIG, TENSORS, make_hf_repo, safetensors_bytes

from workbench.core.models.catalog import hf_cache_models
from workbench.core.models.folder import describe_folder
from workbench.core.pool.estimate import HeaderError
from workbench.core.pool.estimate import safetensors_bytes as header_bytes


def write_header(path: Path, header: dict) -> None:
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw)


@pytest.mark.parametrize(
    ("tensor", "words"),
    [
        ({"dtype": "F32", "shape": [10], "data_offsets": [4000, 0]}, "impossible data offsets"),
        ({"dtype": "XX", "shape": [2], "data_offsets": [-50, 10]}, "impossible data offsets"),
        ({"dtype": "F32", "shape": [-4, 1000]}, "impossible shape"),
    ],
)
def test_impossible_tensor_sizes_make_the_folder_unusable(
    tmp_path: Path, tensor: dict, words: str
) -> None:
    (tmp_path / "config.json").write_text(json.dumps(LLAMA_CONFIG))
    write_header(tmp_path / "model.safetensors", {"w": tensor})
    with pytest.raises(HeaderError, match=words):
        header_bytes(tmp_path / "model.safetensors")
    info = describe_folder(tmp_path, model_id="local/x", name="x", source="folder")
    assert not info.usable and info.estimated_bytes >= 0
    assert info.problem is not None and info.problem.startswith("damaged weights:")
    assert words in info.problem


FILES = {
    "config.json": json.dumps(LLAMA_CONFIG).encode(),
    "model.safetensors": safetensors_bytes(TENSORS),
}


def _snapshot_loop(repo: Path) -> None:
    snapshot = repo / "snapshots" / "bbb"
    shutil.rmtree(snapshot)
    os.symlink(snapshot, snapshot)


def _ref_loop(repo: Path) -> None:
    ref = repo / "refs" / "main"
    ref.unlink()
    os.symlink(ref, ref)


@pytest.mark.parametrize("damage", [_snapshot_loop, _ref_loop])
def test_a_symlink_loop_in_one_repo_never_hides_the_others(tmp_path: Path, damage) -> None:
    make_hf_repo(tmp_path, "org/good", {"aaa": FILES}, main="aaa")
    make_hf_repo(tmp_path, "org/zzz-also-good", {"ccc": FILES}, main="ccc")
    damage(make_hf_repo(tmp_path, "org/bad", {"bbb": FILES}, main="bbb"))
    found = {m.id: m for m in hf_cache_models(tmp_path)}
    assert found["hf/org/good"].usable and found["hf/org/zzz-also-good"].usable
    bad = found["hf/org/bad"]
    assert not bad.usable and bad.problem is not None
    assert "Too many levels of symbolic links" in bad.problem
