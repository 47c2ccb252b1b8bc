"""The embeddings engine on the real all-MiniLM-L6-v2, checked against a numpy BERT."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest

from workbench.core.engines import EmbedEngine, load_engine
from workbench.core.errors import InputError, UnusableModelError
from workbench.core.types import Family, ModelInfo, ModelKind

pytestmark = pytest.mark.real

FOOD = "A man is eating food."
BREAD = "A man is eating a piece of bread."
BABY = "The girl is carrying a baby."
TEXTS = [
    FOOD,
    "A man is riding a white horse on an enclosed ground, while a crowd looks on from the stands.",
    BREAD,
    "Hi",
    BABY,
    "Two men pushed carts through the woods. " * 6,
]


def minilm_info(folder: Path) -> ModelInfo:
    return ModelInfo(
        id="demo:all-MiniLM-L6-v2",
        name="all-MiniLM-L6-v2",
        path=folder,
        kind=ModelKind.EMBEDDINGS,
        family=Family.OTHER,
        source="demo",
    )


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def engine(minilm_dir):
    loaded = load_engine(minilm_info(minilm_dir))
    yield loaded
    loaded.close()


@pytest.fixture(scope="module")
def hf_tokenizer(minilm_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(minilm_dir))


def cosine(a, b) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


# --------------------------------------------------------------------------- reference


def numpy_minilm(folder: Path, tokenizer, text: str) -> np.ndarray:
    """all-MiniLM-L6-v2 as sentence-transformers computes it, in float64 numpy.

    BERT encoder → mean over tokens → L2 normalisation. One text at a time, so there is no
    padding and no mask: an independent check of the engine's masked, batched path.
    """
    from safetensors.numpy import load_file

    w = {k: v.astype(np.float64) for k, v in load_file(folder / "model.safetensors").items()}
    ids = np.array(tokenizer(text, truncation=True, max_length=256)["input_ids"])
    n, heads, size = len(ids), 12, 32

    def linear(x, name):
        return x @ w[name + ".weight"].T + w[name + ".bias"]

    def norm(x, name):
        mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + 1e-12) * w[name + ".weight"] + w[name + ".bias"]

    def split(x):
        return x.reshape(n, heads, size).transpose(1, 0, 2)

    erf = np.vectorize(math.erf)
    x = w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:n]
    x = norm(x + w["embeddings.token_type_embeddings.weight"][0], "embeddings.LayerNorm")
    for i in range(6):
        p = f"encoder.layer.{i}."
        q, k, v = (split(linear(x, p + f"attention.self.{m}")) for m in ("query", "key", "value"))
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(size)
        probs = np.exp(scores - scores.max(-1, keepdims=True))
        probs /= probs.sum(-1, keepdims=True)
        attended = (probs @ v).transpose(1, 0, 2).reshape(n, heads * size)
        attended = linear(attended, p + "attention.output.dense")
        x = norm(x + attended, p + "attention.output.LayerNorm")
        h = linear(x, p + "intermediate.dense")
        h = 0.5 * h * (1 + erf(h / math.sqrt(2)))
        x = norm(x + linear(h, p + "output.dense"), p + "output.LayerNorm")
    pooled = x.mean(0)
    return pooled / np.linalg.norm(pooled)


def test_vectors_match_an_independent_numpy_bert(engine, hf_tokenizer, minilm_dir):
    result = engine.embed(TEXTS)
    folder = minilm_dir
    for text, vector in zip(TEXTS, result.vectors, strict=True):
        reference = numpy_minilm(folder, hf_tokenizer, text)
        assert np.max(np.abs(np.array(vector) - reference)) < 1e-5, text


# --------------------------------------------------------------------------- behaviour


def test_engine_is_an_embed_engine_with_the_model_shape(engine):
    assert isinstance(engine, EmbedEngine)
    result = engine.embed([FOOD])
    assert result.dimensions == 384
    assert len(result.vectors[0]) == 384
    assert result.model_id == "demo:all-MiniLM-L6-v2"


def test_vectors_are_unit_length(engine):
    result = engine.embed(TEXTS)
    for vector in result.vectors:
        assert abs(np.linalg.norm(vector) - 1.0) < 1e-5


def test_related_sentences_score_clearly_higher_than_unrelated(engine):
    food, bread, baby = engine.embed([FOOD, BREAD, BABY]).vectors
    related, unrelated = cosine(food, bread), cosine(food, baby)
    assert related > 0.6
    assert unrelated < 0.2
    assert related - unrelated > 0.5


@pytest.mark.parametrize("batch_size", [32, 2])
def test_batching_and_padding_do_not_change_any_vector(engine, batch_size):
    batched = engine.embed(TEXTS, batch_size=batch_size)
    for text, vector in zip(TEXTS, batched.vectors, strict=True):
        alone = engine.embed([text]).vectors[0]
        assert np.max(np.abs(np.array(vector) - np.array(alone))) < 1e-5, text


def test_token_counts_are_the_tokenizers_counts_without_padding(engine, hf_tokenizer):
    result = engine.embed(TEXTS)
    expected = tuple(len(hf_tokenizer(text)["input_ids"]) for text in TEXTS)
    assert result.token_counts == expected
    assert len(set(expected)) > 3  # differently sized inputs, so padding was in play


def test_long_text_is_truncated_to_the_models_limit(engine):
    result = engine.embed(["word " * 600, FOOD])
    assert result.token_counts[0] == 256
    assert abs(np.linalg.norm(result.vectors[0]) - 1.0) < 1e-5


@pytest.mark.parametrize(
    ("texts", "message"),
    [([], "empty"), ([FOOD, "   \n"], "text 2 is empty"), ([""], "text 1 is empty")],
)
def test_empty_input_is_an_input_error(engine, texts, message):
    with pytest.raises(InputError, match=message):
        engine.embed(texts)


# --------------------------------------------------------------------------- loading


def test_folder_without_weights_is_unusable_with_one_line(tmp_path, minilm_dir):
    shutil.copy(minilm_dir / "config.json", tmp_path / "config.json")
    with pytest.raises(UnusableModelError, match=r"no \.safetensors weights") as caught:
        load_engine(minilm_info(tmp_path))
    assert "all-MiniLM-L6-v2" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_closed_engine_refuses_work(minilm_dir):
    loaded = load_engine(minilm_info(minilm_dir))
    loaded.close()
    with pytest.raises(UnusableModelError, match="unloaded"):
        loaded.embed([FOOD])


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (None, "no config.json"),
        ("{bad", "not valid JSON"),
        ('{"hidden_size": 384}', "no model_type"),
        ('{"model_type": "nonesuch"}', "nonesuch not supported"),
    ],
)
def test_bad_folders_are_unusable_with_a_clear_line(tmp_path, minilm_dir, config, message):
    (tmp_path / "model.safetensors").symlink_to(minilm_dir / "model.safetensors")
    if config is not None:
        (tmp_path / "config.json").write_text(config)
    with pytest.raises(UnusableModelError, match=message) as caught:
        load_engine(minilm_info(tmp_path))
    assert "\n" not in str(caught.value)
