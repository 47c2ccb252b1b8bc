"""Gemma 3 270M (base model), imported from its Q4_K_M GGUF, on the real weights.

The import is checked where a wrong conversion shows: greedy raw continuations that only a
correct model produces ("cold", "5"), the engine giving the same tokens as plain mlx-lm, the
tokenizer against transformers' own GGUF tokenizer converter, the Gemma chat template with
its folded system prompt, and the stop tokens of the family.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest

from workbench.core.engines import load_engine
from workbench.core.gguf.reader import read_header
from workbench.core.types import ChatMessage, Family, ModelInfo, ModelKind, SamplingSettings

pytestmark = pytest.mark.real

GREEDY = SamplingSettings(temperature=0.0, max_tokens=8)


@pytest.fixture(scope="module")
def engine(gemma_dir: Path):
    info = ModelInfo(
        id="demo/gemma-3-270m",
        name="gemma-3-270m",
        path=gemma_dir,
        kind=ModelKind.TEXT,
        family=Family.GEMMA,
        source="demo",
    )
    loaded = load_engine(info)
    yield loaded
    loaded.close()


def continuation(engine, text: str, max_tokens: int = 8) -> tuple[str, str]:
    """Greedy raw continuation (no chat template) through the engine; (text, finish)."""
    prompt = list(engine.tokenizer.encode(text))
    sampling = SamplingSettings(temperature=0.0, max_tokens=max_tokens)
    chunks = list(engine._generate(prompt, sampling, threading.Event(), None))
    return "".join(chunk.text for chunk in chunks), chunks[-1].stats.finish_reason


def test_opposite_of_hot_is_cold(engine) -> None:
    text, _ = continuation(engine, "The opposite of hot is")
    assert "cold" in text, text


def test_counting_continues_with_5(engine) -> None:
    text, _ = continuation(engine, "1, 2, 3, 4,")
    assert text.startswith(" 5, 6"), text


def test_engine_matches_plain_mlx_lm(engine, gemma_dir: Path) -> None:
    from mlx_lm import load, stream_generate

    model, tokenizer = load(str(gemma_dir))
    prompt = "Q: What is the capital of France?\nA:"
    raw = "".join(r.text for r in stream_generate(model, tokenizer, prompt, max_tokens=10))
    ours, finish = continuation(engine, prompt, max_tokens=10)
    assert ours == raw and finish == "length"
    assert "Paris" in ours, ours


def test_generation_stops_on_eos_and_hides_it(engine) -> None:
    # after a document end the base model writes a short page and ends it with <eos>
    text, finish = continuation(engine, "I love you.<eos>", max_tokens=40)
    assert finish == "stop"
    assert "<eos>" not in text and text.strip()


def test_stop_tokens_are_eos_and_end_of_turn(engine) -> None:
    vocab = engine.tokenizer.get_vocab()
    assert engine.stop_token_ids == {vocab["<eos>"], vocab["<end_of_turn>"]} == {1, 106}


def test_system_prompt_is_folded_into_the_first_user_turn(engine) -> None:
    messages = [ChatMessage("system", "Answer briefly."), ChatMessage("user", "Hi")]
    ids = engine.prompt_tokens(messages)
    assert engine.tokenizer.decode(ids) == (
        "<bos><start_of_turn>user\nAnswer briefly.\n\nHi<end_of_turn>\n<start_of_turn>model\n"
    )
    assert ids.count(2) == 1 and ids[0] == 2  # one BOS, written by the template
    assert ids.count(105) == 2 and ids.count(106) == 1  # turn markers are single tokens


def test_chat_turn_ends_with_stats_and_no_markers(engine) -> None:
    messages = [ChatMessage("user", "Name a colour.")]
    sampling = SamplingSettings(temperature=0.0, max_tokens=12)
    chunks = list(engine.stream_chat(messages, sampling, threading.Event()))
    text, stats = "".join(c.text for c in chunks), chunks[-1].stats
    assert stats is not None and stats.finish_reason in ("stop", "length")
    assert stats.generation_tokens <= 12
    assert "<end_of_turn>" not in text and "<start_of_turn>" not in text


def test_config_fills_what_the_gguf_lacks(gemma_dir: Path) -> None:
    config = json.loads((gemma_dir / "config.json").read_text())
    assert config["model_type"] == "gemma3_text"
    assert config["rope_local_base_freq"] == 10000.0
    assert config["sliding_window_pattern"] == 6 and config["query_pre_attn_scalar"] == 256
    assert (config["num_hidden_layers"], config["hidden_size"], config["head_dim"]) == (
        18,
        640,
        256,
    )
    assert config["tie_word_embeddings"] is True
    quant = config["quantization"]
    assert quant["bits"] == 5  # q/k/gate/up were Q5_0
    assert quant["model.embed_tokens"]["bits"] == 8  # Q8_0 kept at 8 bits
    assert quant["model.layers.0.self_attn.v_proj"]["bits"] == 8
    assert quant["model.layers.0.self_attn.o_proj"]["bits"] == 4  # Q4_K
    assert quant["model.layers.0.mlp.down_proj"]["bits"] == 6  # Q6_K


def test_norms_lose_llama_cpp_offset_and_scales_stay_float32(gemma_dir, gemma_gguf) -> None:
    import mlx.core as mx

    weights = mx.load(str(gemma_dir / "model.safetensors"))
    header = read_header(gemma_gguf)
    tensor = next(t for t in header.tensors if t.name == "blk.3.ffn_norm.weight")
    stored = np.fromfile(
        gemma_gguf, dtype="<f4", count=640, offset=header.data_offset + tensor.offset
    )
    ours = np.array(weights["model.layers.3.pre_feedforward_layernorm.weight"])
    np.testing.assert_array_equal(ours, stored - 1.0)
    assert weights["model.layers.0.mlp.down_proj.scales"].dtype == mx.float32
    assert not any(name.startswith(("blk.", "token_embd", "lm_head")) for name in weights)


TEXTS = [
    "The opposite of hot is",
    "Hello  world\n\nnaïve café 😀 日本語",
    "  leading spaces and trailing  ",
    "def f(x):\n\treturn x**2  # ok",
    "<start_of_turn>user\nHi<end_of_turn>\n",
    "Prices: 3.14 €, 1,000,000 ¥ — ǅ ꙮ \u200b",
]


def test_tokenizer_matches_transformers_gguf_converter(engine, gemma_gguf: Path) -> None:
    from transformers.integrations.gguf.gguf_tokenizer_mapping import (
        GGUF_TOKENIZER_MAPPING,
        convert_gguf_tokenizer,
    )

    metadata = read_header(gemma_gguf).metadata
    fields = GGUF_TOKENIZER_MAPPING["tokenizer"].items()
    parsed = {
        new: metadata[f"tokenizer.{old}"] for old, new in fields if f"tokenizer.{old}" in metadata
    }
    reference, _ = convert_gguf_tokenizer("gemma3", parsed)
    for text in TEXTS:
        expected = reference.encode(text, add_special_tokens=False).ids
        assert engine.tokenizer.encode(text, add_special_tokens=False) == expected, text
        assert engine.tokenizer.decode(expected) == text


def test_whitespace_runs_take_the_longest_piece_first(engine) -> None:
    # SentencePiece (and llama.cpp) match user-defined pieces longest first: 38 = 31 + 7
    ids = engine.tokenizer.encode(" " * 38, add_special_tokens=False)
    assert [len(engine.tokenizer.decode([i])) for i in ids] == [31, 7]
