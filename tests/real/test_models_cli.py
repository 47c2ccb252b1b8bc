"""`mlxbench models` on this machine's real demo models, and its one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.cli import main

pytestmark = pytest.mark.real


@pytest.fixture(autouse=True)
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("LMSTUDIO_MODELS_DIR", str(tmp_path / "lmstudio"))
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["models", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_models_json_lists_both_demo_models(
    capsys: pytest.CaptureFixture[str], smollm2_gguf: Path, minilm_dir: Path
) -> None:
    status, out, _ = run(capsys, "--json")
    assert status == 0
    models = {m["id"]: m for m in json.loads(out)}
    smol, mini = models["demo/SmolLM2-135M-Instruct"], models["demo/all-MiniLM-L6-v2"]

    assert (smol["kind"], smol["family"], smol["quantization"]) == ("text", "llama", "Q4_1")
    assert smol["gguf_source"] == str(smollm2_gguf)
    gguf_size = smollm2_gguf.stat().st_size
    assert 95e6 < gguf_size < 101e6  # the ~98 MB file
    assert smol["estimated_bytes"] == gguf_size and smol["size_method"] == "gguf-file-size"

    assert (mini["kind"], mini["family"], mini["path"]) == ("embeddings", "other", str(minilm_dir))
    weights = (minilm_dir / "model.safetensors").stat().st_size
    assert mini["size_method"] == "safetensors-header"
    assert mini["estimated_bytes"] == pytest.approx(weights, rel=0.01)
    assert mini["estimated_bytes"] < weights  # the header itself is not a weight

    for model in (smol, mini):
        assert model["usable"] is True and model["problem"] is None
        assert model["measured_bytes"] is None and model["source"] == "demo"


def test_models_table(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys)
    assert status == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "FAMILY", "TUNING", "QUANT", "SIZE", "SOURCE", "ID"]
    smol = next(line for line in lines if line.startswith("SmolLM2-135M-Instruct"))
    assert smol.split() == [
        "SmolLM2-135M-Instruct", "text", "llama", "instruct", "Q4_1", "~93.8", "MB", "demo",
        "demo/SmolLM2-135M-Instruct",
    ]  # fmt: skip
    mini = next(line for line in lines if line.startswith("all-MiniLM-L6-v2"))
    assert mini.split()[1:6] == ["embeddings", "other", "-", "-", "~86.6"]


def test_all_shows_unusable_models_with_the_reason(
    capsys: pytest.CaptureFixture[str], isolated: Path
) -> None:
    (isolated / "mine" / "half-done").mkdir(parents=True)
    config = isolated / "home" / "config" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'model_dirs = ["{isolated / "mine"}"]\n')
    _, plain, _ = run(capsys)
    assert "half-done" not in plain
    _, everything, _ = run(capsys, "--all")
    row = next(line for line in everything.splitlines() if line.startswith("half-done"))
    assert row.endswith("unusable: no config.json")
    _, as_json, _ = run(capsys, "--all", "--json")
    (broken,) = [m for m in json.loads(as_json) if m["name"] == "half-done"]
    assert broken["usable"] is False and broken["problem"] == "no config.json"


def test_query_resolves_a_short_name(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "minilm", "--json")
    assert status == 0 and json.loads(out)["id"] == "demo/all-MiniLM-L6-v2"


def _one_line_error(capsys: pytest.CaptureFixture[str], query: str) -> str:
    status, out, err = run(capsys, query)
    assert status == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("mlxbench: error: ")
    return err


def test_unknown_model(capsys: pytest.CaptureFixture[str]) -> None:
    err = _one_line_error(capsys, "no-such-model-xyz")
    assert "no model matches 'no-such-model-xyz'; `mlxbench models` lists them" in err


def test_ambiguous_short_name(capsys: pytest.CaptureFixture[str]) -> None:
    err = _one_line_error(capsys, "lm")  # in both SmolLM2 and MiniLM
    assert "demo/SmolLM2-135M-Instruct" in err and "demo/all-MiniLM-L6-v2" in err


def test_path_without_config(capsys: pytest.CaptureFixture[str], isolated: Path) -> None:
    (isolated / "empty").mkdir()
    err = _one_line_error(capsys, str(isolated / "empty"))
    assert "no config.json" in err


def test_corrupt_config(capsys: pytest.CaptureFixture[str], isolated: Path) -> None:
    (isolated / "corrupt").mkdir()
    (isolated / "corrupt" / "config.json").write_text('{"model_type": "llama",')
    err = _one_line_error(capsys, str(isolated / "corrupt"))
    assert "config.json is not valid JSON" in err


def test_models_json_shows_the_size_measured_at_the_last_load(
    capsys: pytest.CaptureFixture[str], minilm_dir: Path
) -> None:
    from workbench.core.models.catalog import scan_catalog
    from workbench.core.pool.budget import make_budget
    from workbench.core.runner.client import RunnerClient

    catalog = scan_catalog()
    mini = next(m for m in catalog if m.id == "demo/all-MiniLM-L6-v2")
    with RunnerClient(catalog=catalog, budget=make_budget("2GB", 2)) as client:
        client.load(mini.id)
    status, out, _ = run(capsys, "--json")
    assert status == 0
    record = next(m for m in json.loads(out) if m["id"] == mini.id)
    assert record["measured_bytes"] is not None
    assert record["measured_bytes"] == pytest.approx(record["estimated_bytes"], rel=0.001)
