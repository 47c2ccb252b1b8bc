"""Synthetic model names: what each spelling builds, and a clear error for the rest."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.core.errors import InputError
from workbench.core.models.synthetic import (
    PRESETS,
    is_synthetic,
    model_config,
    parse_spec,
    stop_ids,
    synthetic_models,
)


def test_presets_have_the_shapes_they_are_named_after() -> None:
    small = parse_spec("synthetic:llama-1b-4bit")
    assert (small.hidden, small.layers, small.heads, small.kv_heads) == (2048, 16, 32, 8)
    assert (small.intermediate, small.bits, small.tied) == (8192, 4, True)
    big = parse_spec("Synthetic:LLAMA-8B-4bit")
    assert (big.hidden, big.layers, big.heads, big.kv_heads) == (4096, 32, 32, 8)
    assert (big.intermediate, big.tied) == (14336, False)
    assert parse_spec("synthetic:llama-8b-8bit").bits == 8
    assert parse_spec("synthetic:llama-8b") == PRESETS["llama-8b"]


def test_custom_shapes_take_every_key_and_fill_the_rest() -> None:
    spec = parse_spec("synthetic:llama?hidden=2048&layers=16&heads=32&kv_heads=8&bits=4")
    assert (spec.hidden, spec.layers, spec.heads, spec.kv_heads, spec.bits) == (2048, 16, 32, 8, 4)
    assert spec.intermediate == 4 * 2048
    full = parse_spec(
        "synthetic:llama?hidden=64&layers=2&heads=4&kv_heads=2&intermediate=96&head_dim=32"
        "&bits=32&group=32"
    )
    assert (full.intermediate, full.head_dim, full.bits, full.group) == (96, 32, 32, 32)
    assert parse_spec("synthetic:llama?hidden=64&layers=2&heads=4").kv_heads == 4


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("synthetic:gpt-7b", "unknown synthetic model"),
        ("synthetic:llama?hidden=64&layers=2", "needs heads"),
        ("synthetic:llama?hidden=64&layers=2&heads=4&size=3", "unknown synthetic key"),
        ("synthetic:llama?hidden=64&layers=two&heads=4", "positive whole number"),
        ("synthetic:llama?hidden=64&layers=0&heads=4", "positive whole number"),
        ("synthetic:llama?hidden=64&layers=2&heads=4&bits=3", "bits must be"),
        ("synthetic:llama?hidden=64&layers=2&heads=4&kv_heads=3", "multiple of kv_heads"),
        ("synthetic:llama?hidden=66&layers=2&heads=4", "multiple of heads"),
        ("synthetic:llama?hidden=96&layers=2&heads=4&bits=4", "multiples of 64"),
        ("synthetic:llama?hidden=9999999&layers=2&heads=4", "at most"),
    ],
)
def test_bad_names_are_one_line_input_errors(query: str, words: str) -> None:
    with pytest.raises(InputError, match=words) as info:
        parse_spec(query)
    assert "\n" not in str(info.value)


def test_only_the_prefix_marks_a_synthetic_model() -> None:
    assert is_synthetic(" synthetic:llama-1b-4bit")
    assert not is_synthetic("llama-1b-4bit")


def test_model_config_is_an_mlx_lm_llama_of_that_shape() -> None:
    config = model_config(parse_spec("synthetic:llama-1b-4bit"))
    assert config["model_type"] == "llama"
    assert (config["hidden_size"], config["num_hidden_layers"]) == (2048, 16)
    assert (config["num_attention_heads"], config["num_key_value_heads"]) == (32, 8)
    assert config["head_dim"] == 64 and config["tie_word_embeddings"] is True
    assert "quantization" not in config  # added by the builder with the weights


def test_stop_ids_are_the_end_markers_of_the_tokenizer(tmp_path: Path) -> None:
    added = [
        {"id": 0, "content": "<|endoftext|>"},
        {"id": 1, "content": "<|im_start|>"},
        {"id": 7, "content": "<|im_end|>"},
    ]
    (tmp_path / "tokenizer.json").write_text(json.dumps({"added_tokens": added}))
    assert stop_ids(tmp_path) == [0, 2, 7]


def test_no_built_models_lists_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path))
    assert synthetic_models() == []
