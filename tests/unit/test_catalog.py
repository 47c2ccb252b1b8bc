"""Model discovery across the HF cache, LM Studio, model_dirs, imports and demo models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from catalog_fakes import (
    LLAMA_CONFIG,
    TENSOR_BYTES,
    TENSORS,
    make_gguf,
    make_hf_repo,
    make_model,
    safetensors_bytes,
)

from workbench.core.config import Config, ModelOverride
from workbench.core.errors import InputError
from workbench.core.models import catalog
from workbench.core.models.catalog import scan_catalog
from workbench.core.types import Family, ModelInfo, ModelKind

BERT_CONFIG = {"model_type": "bert", "architectures": ["BertModel"], "hidden_size": 8}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every location the catalog reads points into tmp_path; no demo models by default."""
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "mlxbench"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("LMSTUDIO_MODELS_DIR", str(tmp_path / "lmstudio"))
    monkeypatch.setattr(catalog, "installed_demo_models", dict)
    return tmp_path


def by_id(models: list[ModelInfo]) -> dict[str, ModelInfo]:
    return {m.id: m for m in models}


def test_nothing_anywhere_is_an_empty_catalog(home: Path) -> None:
    assert scan_catalog(Config()) == []


# --------------------------------------------------------------------------- HF cache


def test_hf_cache_uses_the_main_snapshot(home: Path) -> None:
    config = json.dumps(LLAMA_CONFIG).encode()
    weights = safetensors_bytes(TENSORS)
    make_hf_repo(
        home / "hub",
        "mlx-community/Tiny-Llama-4bit",
        {
            "aaa111": {"config.json": config, "model.safetensors": weights},
            "bbb222": {"config.json": b"{not json"},  # an unrelated, newer revision
        },
        main="aaa111",
    )
    (models,) = scan_catalog(Config())
    assert models.id == "hf/mlx-community/Tiny-Llama-4bit"
    assert models.name == "Tiny-Llama-4bit"
    assert models.source == "hf-cache"
    assert models.path.name == "aaa111"
    assert models.usable and models.kind == ModelKind.TEXT and models.family == Family.LLAMA
    assert (models.estimated_bytes, models.size_method) == (TENSOR_BYTES, "safetensors-header")


def test_hf_home_is_honoured(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_CACHE")
    monkeypatch.setenv("HF_HOME", str(home / "hfhome"))
    files = {"config.json": json.dumps(BERT_CONFIG).encode(), "model.safetensors": b""}
    files["model.safetensors"] = safetensors_bytes(TENSORS)
    make_hf_repo(home / "hfhome" / "hub", "org/bert-ish", {"c0ffee": files}, main="c0ffee")
    (model,) = scan_catalog(Config())
    assert model.id == "hf/org/bert-ish" and model.kind == ModelKind.EMBEDDINGS


def test_hf_cache_lists_incomplete_repos_as_unusable(home: Path) -> None:
    tokenizer_only = {"config.json": json.dumps(LLAMA_CONFIG).encode(), "tokenizer.json": b"{}"}
    make_hf_repo(home / "hub", "org/only-tokenizer", {"c1": tokenizer_only}, main="c1")
    damaged = make_hf_repo(home / "hub", "org/cut-download", {"c2": tokenizer_only}, main="c2")
    (damaged / "blobs" / "c2-config.json").unlink()  # leaves a broken symlink
    dataset = home / "hub" / "datasets--org--data" / "snapshots" / "d1"
    dataset.mkdir(parents=True)
    models = by_id(scan_catalog(Config()))
    assert set(models) == {"hf/org/only-tokenizer", "hf/org/cut-download"}
    assert models["hf/org/only-tokenizer"].problem == "no weights (*.safetensors)"
    assert not models["hf/org/cut-download"].usable
    assert "damaged" in models["hf/org/cut-download"].problem


# --------------------------------------------------------------------------- LM Studio


def test_lmstudio_layout(home: Path) -> None:
    make_model(
        home / "lmstudio" / "mlx-community" / "Qwen2.5-0.5B-Instruct-4bit",
        {**LLAMA_CONFIG, "model_type": "qwen2", "quantization": {"bits": 4}},
    )
    make_gguf(home / "lmstudio" / "bartowski" / "Llama-3.2-1B-GGUF" / "Llama-3.2-1B.Q8_0.gguf")
    make_gguf(home / "lmstudio" / "bartowski" / "Llama-3.2-1B-GGUF" / "mmproj-f16.gguf")
    models = by_id(scan_catalog(Config()))
    qwen = models["lmstudio/mlx-community/Qwen2.5-0.5B-Instruct-4bit"]
    assert (qwen.family, qwen.quantization, qwen.source) == (Family.QWEN, "4bit", "lmstudio")
    gguf = models["lmstudio/bartowski/Llama-3.2-1B-GGUF"]
    assert gguf.gguf_source.name == "Llama-3.2-1B.Q8_0.gguf"  # the projector is not a model
    assert (gguf.kind, gguf.family, gguf.quantization) == (ModelKind.TEXT, Family.LLAMA, "Q8_0")
    assert gguf.path.parent == home / "mlxbench" / "data" / "models"
    assert (gguf.estimated_bytes, gguf.size_method) == (4096, "gguf-file-size")
    assert len(models) == 2


def test_lmstudio_dir_from_config(home: Path) -> None:
    make_model(home / "elsewhere" / "pub" / "model-a")
    models = scan_catalog(Config(lmstudio_dir=home / "elsewhere"))
    assert [m.id for m in models] == ["lmstudio/pub/model-a"]


# --------------------------------------------------------------------------- model_dirs


def test_model_dirs_subfolders_and_a_folder_that_is_a_model(home: Path) -> None:
    make_model(home / "mine" / "alpha")
    make_model(home / "mine" / "beta", BERT_CONFIG)
    direct = make_model(home / "gamma-7B")
    models = by_id(scan_catalog(Config(model_dirs=(home / "mine", direct))))
    assert set(models) == {"local/alpha", "local/beta", "local/gamma-7B"}
    assert models["local/beta"].kind == ModelKind.EMBEDDINGS
    assert all(m.source == "folder" and m.usable for m in models.values())


def test_org_model_nesting_is_followed(home: Path) -> None:
    make_model(home / "mine" / "mlx-community" / "delta")
    assert [m.id for m in scan_catalog(Config(model_dirs=(home / "mine",)))] == ["local/delta"]


def test_same_folder_name_in_two_dirs_gets_distinct_ids(home: Path) -> None:
    make_model(home / "one" / "twin")
    make_model(home / "two" / "twin")
    models = scan_catalog(Config(model_dirs=(home / "one", home / "two")))
    assert [m.id for m in models] == ["local/twin", "local/twin-2"]
    assert {m.name for m in models} == {"twin"}


def test_broken_folders_are_listed_with_the_reason(home: Path) -> None:
    root = home / "mine"
    (root / "no-config").mkdir(parents=True)
    (root / "no-config" / "model.safetensors").write_bytes(safetensors_bytes(TENSORS))
    make_model(root / "bad-json").joinpath("config.json").write_text('{"model_type": ')
    make_model(root / "list-json").joinpath("config.json").write_text("[1, 2]")
    (root / "no-weights").mkdir()
    (root / "no-weights" / "config.json").write_text(json.dumps(LLAMA_CONFIG))
    (root / "torch-only").mkdir()
    (root / "torch-only" / "config.json").write_text(json.dumps(LLAMA_CONFIG))
    (root / "torch-only" / "pytorch_model.bin").write_bytes(b"x")
    config = Config(model_dirs=(root, home / "missing"))
    models = by_id(scan_catalog(config))
    problems = {k: m.problem for k, m in models.items()}
    assert problems["local/no-config"] == "no config.json"
    assert problems["local/bad-json"].startswith("config.json is not valid JSON: ")
    assert problems["local/list-json"].startswith("config.json is not valid JSON: ")
    assert problems["local/no-weights"] == "no weights (*.safetensors)"
    assert "MLX needs .safetensors" in problems["local/torch-only"]
    assert problems["local/missing"] == "configured model folder does not exist"
    assert not any(m.usable for m in models.values())


def test_unreadable_folder_does_not_break_the_scan(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_model(home / "mine" / "fine")
    locked = make_model(home / "mine" / "locked")
    real_iterdir = Path.iterdir

    def iterdir(self: Path):
        if self == locked:
            raise PermissionError(13, "Permission denied")
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    models = by_id(scan_catalog(Config(model_dirs=(home / "mine",))))
    assert models["local/fine"].usable
    assert models["local/locked"].problem == "cannot read folder: Permission denied"


# --------------------------------------------------------------------------- dedupe


def test_a_model_found_through_two_routes_is_listed_once(home: Path) -> None:
    make_model(home / "lmstudio" / "pub" / "shared")
    config = Config(model_dirs=(home / "lmstudio" / "pub", home / "lmstudio" / "pub" / "shared"))
    assert [m.id for m in scan_catalog(config)] == ["lmstudio/pub/shared"]


# --------------------------------------------------------------------------- demo + imports


@pytest.fixture
def demos(home: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    found = {
        "SmolLM2-135M-Instruct": make_gguf(home / "pkg" / "SmolLM2-135M-Instruct.Q4_1.gguf"),
        "all-MiniLM-L6-v2": make_model(home / "pkg" / "minilm", BERT_CONFIG),
    }
    monkeypatch.setattr(catalog, "installed_demo_models", lambda: dict(found))
    return found


def test_demo_models(home: Path, demos: dict[str, Path]) -> None:
    models = by_id(scan_catalog(Config()))
    smol, mini = models["demo/SmolLM2-135M-Instruct"], models["demo/all-MiniLM-L6-v2"]
    assert (smol.kind, smol.family, smol.source) == (ModelKind.TEXT, Family.LLAMA, "demo")
    assert smol.gguf_source == demos["SmolLM2-135M-Instruct"]
    assert smol.path == home / "mlxbench" / "data" / "models" / "SmolLM2-135M-Instruct-Q4_1-mlx"
    assert smol.quantization == "Q4_1" and smol.size_method == "gguf-file-size"
    assert (mini.kind, mini.family, mini.gguf_source) == (ModelKind.EMBEDDINGS, Family.OTHER, None)


def test_existing_import_is_listed_once_under_the_demo(home: Path, demos: dict[str, Path]) -> None:
    imported = make_model(home / "mlxbench" / "data" / "models" / "SmolLM2-135M-Instruct-Q4_1-mlx")
    make_model(home / "mlxbench" / "data" / "models" / "Other-Import-mlx")
    models = by_id(scan_catalog(Config()))
    assert set(models) == {
        "demo/SmolLM2-135M-Instruct",
        "demo/all-MiniLM-L6-v2",
        "imported/Other-Import-mlx",
    }
    smol = models["demo/SmolLM2-135M-Instruct"]
    assert smol.path == imported and smol.gguf_source == demos["SmolLM2-135M-Instruct"]
    assert (smol.estimated_bytes, smol.size_method) == (TENSOR_BYTES, "safetensors-header")
    assert models["imported/Other-Import-mlx"].source == "imported"


def test_import_under_another_name_is_matched_by_its_record(
    home: Path, demos: dict[str, Path]
) -> None:
    folder = make_model(home / "mlxbench" / "data" / "models" / "my-smol")
    record = {"format": 1, "source": str(demos["SmolLM2-135M-Instruct"]), "size": 4096}
    (folder / "mlxbench_import.json").write_text(json.dumps(record))
    ids = [m.id for m in scan_catalog(Config())]
    assert "imported/my-smol" not in ids and "demo/SmolLM2-135M-Instruct" in ids


# --------------------------------------------------------------------------- overrides


def test_overrides_by_short_name_and_id(home: Path) -> None:
    make_model(home / "mine" / "Strange-Model")
    make_model(home / "mine" / "Other")
    overrides = {
        "strange": ModelOverride(kind="vision", family="gemma"),
        "local/Other": ModelOverride(family="mistral"),
        "not-here": ModelOverride(kind="text"),
    }
    models = by_id(scan_catalog(Config(model_dirs=(home / "mine",), models=overrides)))
    strange, other = models["local/Strange-Model"], models["local/Other"]
    assert (strange.kind, strange.family) == (ModelKind.VISION, Family.GEMMA)
    assert (other.kind, other.family) == (ModelKind.TEXT, Family.MISTRAL)


def test_invalid_override_is_an_input_error_naming_the_key(home: Path) -> None:
    config = Config(models={"not-here": ModelOverride(kind="audio")})
    with pytest.raises(InputError, match="not-here"):
        scan_catalog(config)


def test_override_key_matching_several_models_must_be_an_id(home: Path) -> None:
    make_model(home / "mine" / "model-a")
    make_model(home / "mine" / "model-b")
    config = Config(model_dirs=(home / "mine",), models={"model": ModelOverride(kind="text")})
    with pytest.raises(InputError, match=r"'model'.*several"):
        scan_catalog(config)
