"""Kind, family and quantization detection: config first, then files, then the name."""

from __future__ import annotations

import pytest

from workbench.core.config import ModelOverride
from workbench.core.errors import InputError
from workbench.core.models.detect import (
    apply_override,
    detect_family,
    detect_kind,
    detect_quantization,
)
from workbench.core.types import Family, ModelKind

TEXT, VISION, EMBED = ModelKind.TEXT, ModelKind.VISION, ModelKind.EMBEDDINGS


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"model_type": "gemma3", "vision_config": {"hidden_size": 8}}, VISION),
        ({"model_type": "gemma3_text"}, TEXT),
        ({"model_type": "gemma3"}, TEXT),  # gemma3 is vision only with a vision tower
        ({"model_type": "llava", "image_token_index": 32000}, VISION),
        ({"model_type": "custom", "image_token_id": 5}, VISION),
        ({"model_type": "qwen2_vl"}, VISION),
        ({"model_type": "qwen2_5_vl"}, VISION),
        ({"model_type": "idefics3"}, VISION),
        ({"model_type": "paligemma"}, VISION),
        ({"model_type": "mllama"}, VISION),
        ({"model_type": "pixtral"}, VISION),
        ({"model_type": "bert", "architectures": ["BertModel"]}, EMBED),
        ({"model_type": "xlm-roberta"}, EMBED),
        ({"model_type": "modernbert"}, EMBED),
        ({"model_type": "nomic_bert"}, EMBED),
        ({"architectures": ["XLMRobertaModel"]}, EMBED),
        ({"model_type": "llama", "architectures": ["LlamaForCausalLM"]}, TEXT),
    ],
)
def test_kind_from_config(config: dict, expected: ModelKind) -> None:
    assert detect_kind(config, "plain-model") == expected


def test_config_beats_the_name() -> None:
    # a "vision" name does not make a BERT config a vision model
    assert detect_kind({"model_type": "bert"}, "vision-bert") == EMBED


def test_sentence_transformers_files_mean_embeddings() -> None:
    config = {"model_type": "mpnet", "architectures": ["MPNetForMaskedLM"]}
    assert detect_kind(config, "paraphrase-model", ["config.json", "modules.json"]) == EMBED
    assert detect_kind(config, "paraphrase-model", ["config_sentence_transformers.json"]) == EMBED
    assert detect_kind(config, "paraphrase-model", ["config.json"]) == TEXT


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Qwen2-VL-2B-Instruct-4bit", VISION),
        ("Llama-3.2-11B-Vision-Instruct", VISION),
        ("llava-1.5-7b", VISION),
        ("SmolVLM-256M-Instruct", VISION),
        ("nomic-embed-text-v1.5", EMBED),
        ("all-MiniLM-L6-v2", EMBED),
        ("bge-small-en-v1.5", EMBED),
        ("multilingual-e5-small", EMBED),
        ("SmolLM2-135M-Instruct", TEXT),
        ("Mistral-7B-Instruct-v0.3", TEXT),
        ("Novl-Writer-7B", TEXT),  # "vl" inside a word is not a vision marker
        ("Qwen2.5-7B-Instruct", TEXT),
    ],
)
def test_kind_from_name_when_config_says_nothing(name: str, expected: ModelKind) -> None:
    assert detect_kind(None, name) == expected
    assert detect_kind({"model_type": "whatever"}, name) == expected


@pytest.mark.parametrize(
    ("config", "name", "expected"),
    [
        ({"model_type": "llama"}, "x", Family.LLAMA),
        (None, "SmolLM2-135M-Instruct", Family.LLAMA),
        (None, "Meta-Llama-3-8B", Family.LLAMA),
        ({"model_type": "qwen2"}, "x", Family.QWEN),
        ({"model_type": "qwen3"}, "x", Family.QWEN),
        ({"model_type": "qwen2_5_vl"}, "x", Family.QWEN),
        ({"model_type": "mistral"}, "x", Family.MISTRAL),
        ({"model_type": "mixtral"}, "x", Family.MISTRAL),
        ({"model_type": "gemma"}, "x", Family.GEMMA),
        ({"model_type": "gemma2"}, "x", Family.GEMMA),
        ({"model_type": "gemma3", "vision_config": {}}, "x", Family.GEMMA),
        ({"model_type": "llava", "text_config": {"model_type": "llama"}}, "x", Family.LLAMA),
        ({"model_type": "custom", "architectures": ["Qwen2ForCausalLM"]}, "x", Family.QWEN),
        ({"model_type": "bert"}, "all-MiniLM-L6-v2", Family.OTHER),
        ({"model_type": "phi3"}, "phi-3-mistral-merge", Family.OTHER),  # config wins
        (None, "mystery-model", Family.OTHER),
    ],
)
def test_family(config: dict | None, name: str, expected: Family) -> None:
    assert detect_family(config, name) == expected


@pytest.mark.parametrize(
    ("config", "name", "expected"),
    [
        ({"quantization": {"group_size": 64, "bits": 4}}, "x", "4bit"),
        ({"quantization_config": {"bits": 8, "quant_method": "awq"}}, "x", "8bit"),
        ({"quantization_config": {"quant_method": "fp8"}}, "x", "fp8"),
        (None, "SmolLM2-135M-Instruct.Q4_1.gguf", "Q4_1"),
        (None, "qwen2.5-7b-instruct-q4_k_m.gguf", "Q4_K_M"),
        (None, "Qwen2.5-0.5B-Instruct-8bit", "8bit"),
        ({"torch_dtype": "bfloat16"}, "Qwen2.5-0.5B-Instruct", None),
        (None, "Qwen2-VL-2B", None),
    ],
)
def test_quantization(config: dict | None, name: str, expected: str | None) -> None:
    assert detect_quantization(config, name) == expected


def test_override_replaces_only_what_it_names() -> None:
    kind, family = apply_override(TEXT, Family.OTHER, "m", ModelOverride(family="qwen"))
    assert (kind, family) == (TEXT, Family.QWEN)
    kind, family = apply_override(TEXT, Family.OTHER, "m", ModelOverride(kind="vision"))
    assert (kind, family) == (VISION, Family.OTHER)


@pytest.mark.parametrize(
    ("override", "word"),
    [(ModelOverride(kind="chat"), "kind"), (ModelOverride(family="phi"), "family")],
)
def test_invalid_override_names_the_key(override: ModelOverride, word: str) -> None:
    with pytest.raises(InputError) as info:
        apply_override(TEXT, Family.OTHER, "my-model", override)
    message = str(info.value)
    assert "my-model" in message and word in message and "\n" not in message
