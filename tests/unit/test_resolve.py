"""Name resolution: ids, names, unique substrings, paths — and clear errors otherwise."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from catalog_fakes import LLAMA_CONFIG, make_gguf, make_model

from workbench.core.errors import AmbiguousModelError, ModelNotFoundError, UnusableModelError
from workbench.core.models.resolve import resolve_model
from workbench.core.types import Family, ModelInfo, ModelKind


def info(model_id: str, name: str, path: str = "/m", **kwargs: object) -> ModelInfo:
    return ModelInfo(
        id=model_id,
        name=name,
        path=Path(path) / name,
        kind=kwargs.pop("kind", ModelKind.TEXT),
        family=Family.OTHER,
        source="folder",
        **kwargs,
    )


CATALOG = [
    info("demo/SmolLM2-135M-Instruct", "SmolLM2-135M-Instruct"),
    info("demo/all-MiniLM-L6-v2", "all-MiniLM-L6-v2", kind=ModelKind.EMBEDDINGS),
    info("hf/mlx-community/Qwen2.5-0.5B-Instruct-4bit", "Qwen2.5-0.5B-Instruct-4bit"),
    info("hf/mlx-community/Qwen2.5-1.5B-Instruct-4bit", "Qwen2.5-1.5B-Instruct-4bit"),
    info("local/broken", "broken", usable=False, problem="no config.json"),
    info("local/qwen-partial", "qwen-partial", usable=False, problem="no weights (*.safetensors)"),
]


def test_exact_id() -> None:
    assert resolve_model("demo/all-MiniLM-L6-v2", CATALOG).name == "all-MiniLM-L6-v2"


def test_exact_name_ignores_case() -> None:
    assert resolve_model("smollm2-135m-instruct", CATALOG).id == "demo/SmolLM2-135M-Instruct"


@pytest.mark.parametrize(
    ("query", "model_id"),
    [
        ("smollm2", "demo/SmolLM2-135M-Instruct"),
        ("MINILM", "demo/all-MiniLM-L6-v2"),
        ("0.5b", "hf/mlx-community/Qwen2.5-0.5B-Instruct-4bit"),
        ("mlx-community/Qwen2.5-1.5B", "hf/mlx-community/Qwen2.5-1.5B-Instruct-4bit"),
    ],
)
def test_unique_substring(query: str, model_id: str) -> None:
    assert resolve_model(query, CATALOG).id == model_id


def test_ambiguous_substring_lists_the_candidates() -> None:
    with pytest.raises(AmbiguousModelError) as error:
        resolve_model("qwen2.5", CATALOG)
    message = str(error.value)
    assert "hf/mlx-community/Qwen2.5-0.5B-Instruct-4bit" in message
    assert "hf/mlx-community/Qwen2.5-1.5B-Instruct-4bit" in message
    assert "\n" not in message


def test_an_exact_name_shared_by_two_models_is_ambiguous() -> None:
    twins = [info("local/twin", "twin"), info("hf/org/twin", "twin")]
    with pytest.raises(AmbiguousModelError, match=r"local/twin.*hf/org/twin"):
        resolve_model("twin", twins)


def test_a_substring_matching_one_usable_model_picks_it() -> None:
    catalog = [*CATALOG[:2], CATALOG[2], CATALOG[5]]  # one usable qwen, one broken
    assert resolve_model("qwen", catalog).id == "hf/mlx-community/Qwen2.5-0.5B-Instruct-4bit"


def test_unknown_model() -> None:
    with pytest.raises(ModelNotFoundError) as error:
        resolve_model("xyz", CATALOG)
    assert str(error.value) == "no model matches 'xyz'; `mlxbench models` lists them"


def test_unknown_path_says_so(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="no such file or folder"):
        resolve_model(str(tmp_path / "nowhere"), CATALOG)


def test_unusable_catalog_entry_names_its_problem() -> None:
    with pytest.raises(UnusableModelError) as error:
        resolve_model("broken", CATALOG)
    assert "local/broken" in str(error.value) and "no config.json" in str(error.value)


def test_path_to_a_model_folder(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "My-Model")
    model = resolve_model(str(folder), CATALOG)
    assert (model.source, model.name, model.path) == ("path", "My-Model", folder)
    assert model.kind == ModelKind.TEXT and model.family == Family.LLAMA
    assert model.size_method == "safetensors-header" and model.usable


def test_path_to_a_catalog_model_returns_the_catalog_entry(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "known")
    known = info("local/known", "known", path=str(tmp_path))
    assert resolve_model(str(folder), [known]) is known


def test_path_to_a_gguf_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))
    gguf = make_gguf(tmp_path / "tiny-llama.Q8_0.gguf", size=5000)
    model = resolve_model(str(gguf), CATALOG)
    assert model.kind == ModelKind.TEXT and model.gguf_source == gguf
    assert model.quantization == "Q8_0" and model.estimated_bytes == 5000


def test_path_to_another_file(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UnusableModelError, match="not a GGUF file"):
        resolve_model(str(tmp_path / "notes.txt"), CATALOG)


def test_path_without_config(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(UnusableModelError, match=r"no config\.json"):
        resolve_model(str(tmp_path / "empty"), CATALOG)


def test_path_with_corrupt_config(tmp_path: Path) -> None:
    folder = make_model(tmp_path / "corrupt")
    (folder / "config.json").write_text("{ nope")
    with pytest.raises(UnusableModelError, match=r"config\.json is not valid JSON"):
        resolve_model(str(folder), CATALOG)


def test_path_without_weights(tmp_path: Path) -> None:
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "config.json").write_text(json.dumps(LLAMA_CONFIG))
    with pytest.raises(UnusableModelError, match=r"no weights"):
        resolve_model(str(tmp_path / "bare"), CATALOG)


def test_a_bare_word_prefers_the_catalog_over_a_folder_of_that_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "smollm2").mkdir()  # not a model
    assert resolve_model("smollm2", CATALOG).id == "demo/SmolLM2-135M-Instruct"
    with pytest.raises(UnusableModelError, match=r"no config\.json"):
        resolve_model("./smollm2", CATALOG)  # spelled as a path: the folder is meant


def test_a_bare_word_that_is_only_a_folder_is_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    make_model(tmp_path / "workdir-model")
    assert resolve_model("workdir-model", CATALOG).source == "path"
