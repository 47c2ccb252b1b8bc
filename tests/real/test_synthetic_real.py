"""Synthetic models for real: built once from a name, cached, loaded and decoded by mlx-lm.

The tiny shape keeps the build and the decode to seconds on CPU; the presets differ only in
their numbers. Also a quick synthetic benchmark run, as ``mlxbench bench`` would do it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.real

TINY = "synthetic:llama?hidden=64&layers=2&heads=4&kv_heads=2&intermediate=128&bits=4&group=32"


def test_a_synthetic_model_is_built_once_and_decodes_to_its_limit(
    smollm2_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlx_lm import load, stream_generate

    from workbench.core.models.catalog import scan_catalog
    from workbench.core.models.resolve import resolve_model

    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path))
    info = resolve_model(TINY, [])
    assert info.id == TINY and info.source == "synthetic" and info.usable
    assert info.path.parent == tmp_path / "cache" / "synthetic"
    config = json.loads((info.path / "config.json").read_text())
    assert (config["hidden_size"], config["num_hidden_layers"]) == (64, 2)
    assert config["quantization"] == {"group_size": 32, "bits": 4}
    assert (info.path / "tokenizer.json").read_bytes() == (
        smollm2_dir / "tokenizer.json"
    ).read_bytes()  # the demo's real tokenizer
    built = (info.path / "model.safetensors").stat().st_mtime_ns
    again = resolve_model(TINY, [])
    assert again == info and (info.path / "model.safetensors").stat().st_mtime_ns == built
    assert [m.id for m in scan_catalog() if m.source == "synthetic"] == [TINY]

    model, tokenizer = load(str(info.path))
    replies = list(stream_generate(model, tokenizer, "Tell me a story.", max_tokens=40))
    assert replies[-1].generation_tokens == 40  # stop tokens never win: a full-length reply
    assert replies[-1].finish_reason == "length"


def test_quick_synthetic_bench_reports_decode_tui_and_ui_cpu(tmp_path: Path) -> None:
    env = {**os.environ, "MLXBENCH_HOME": str(tmp_path)}
    command = [
        sys.executable, "-m", "workbench.cli", "bench", "--quick", "--json",
        "--only", "decode,tui,uicpu", "--model", TINY,
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    groups = {g["name"]: g for g in report["groups"]}
    assert [g["status"] for g in report["groups"]] == ["ok"] * 3, report["groups"]
    for name in ("decode", "tui"):
        by_name = {m["name"]: m for m in groups[name]["metrics"]}
        tokens = by_name["tokens per reply"]
        assert tokens["a_samples"] == tokens["b_samples"] == [8.0]
        assert "same 8-token greedy reply" in tokens["note"]
    per_token, *shares = groups["uicpu"]["metrics"]
    assert per_token["a"] > 0 and per_token["b"] > 0
    assert (per_token["a_label"], per_token["b_label"]) == ("1000 msgs", "10 msgs")
    assert all(0 < share["a"] <= 100 for share in shares)
    assert report["machine"]["device"] and report["machine"]["device_memory_bytes"] > 0
