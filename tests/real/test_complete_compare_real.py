"""`mlxbench complete` and `mlxbench compare` on real weights through the real pool.

The second model is SmolLM2 re-quantized to 8 bits (float32 scales, fast on CPU) from the
imported Q4_1 GGUF: a real model of another size and speed that answers sensibly.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.cli import main

pytestmark = pytest.mark.real

Q8_NAME = "requant8-135M-Instruct"
Q8_ID = f"local/{Q8_NAME}"
SMOL_ID = "demo/SmolLM2-135M-Instruct"
FRANCE = "What is the capital of France?"


@pytest.fixture(scope="module")
def q8_models(smollm2_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the 8-bit re-quantization of SmolLM2 (built once per module)."""
    from mlx_lm import convert

    root = tmp_path_factory.mktemp("q8")
    convert(str(smollm2_dir), mlx_path=str(root / "f32"), dequantize=True, dtype="float32")
    models = root / "models"
    models.mkdir()
    convert(str(root / "f32"), mlx_path=str(models / Q8_NAME), quantize=True, q_bits=8,
            dtype="float32")  # fmt: skip
    return models


@pytest.fixture(scope="module", autouse=True)
def isolated(tmp_path_factory: pytest.TempPathFactory, q8_models: Path) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("cli-compare")
    config = root / "home" / "config"
    config.mkdir(parents=True)
    (config / "config.toml").write_text(f'model_dirs = ["{q8_models}"]\n')
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLXBENCH_HOME", str(root / "home"))
        patch.setenv("HF_HUB_CACHE", str(root / "hub"))
        patch.setenv("LMSTUDIO_MODELS_DIR", str(root / "lmstudio"))
        yield root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_complete_continues_raw_text_without_the_chat_template(capsys, smollm2_dir) -> None:
    from transformers import AutoTokenizer

    prompt = "The capital of France is"
    status, out, _ = run(capsys, "complete", "smollm2", prompt, "--temperature", "0",
                         "--max-tokens", "6", "--json")  # fmt: skip
    assert status == 0
    record = json.loads(out)
    assert record["text"].startswith(" Paris")  # the first word keeps its space
    tokens = AutoTokenizer.from_pretrained(str(smollm2_dir)).encode(prompt)
    assert record["stats"]["prompt_tokens"] == len(tokens)  # the text alone, no template
    assert record["tuning"] == "instruct"


def test_complete_counts_on_in_plain_output(capsys) -> None:
    status, out, err = run(capsys, "complete", "smollm2", "1, 2, 3, 4,", "--max-tokens", "6")
    assert status == 0
    assert out.startswith(" 5, 6")
    assert "tok/s" in err and "finish: length" in err


def test_models_marks_both_as_instruct(capsys) -> None:
    status, out, _ = run(capsys, "models", "--json")
    assert status == 0
    tunings = {m["id"]: m["tuning"] for m in json.loads(out)}
    assert tunings[SMOL_ID] == tunings[Q8_ID] == "instruct"
    assert tunings["demo/all-MiniLM-L6-v2"] is None


def test_compare_both_fit_answers_twice_with_stats(capsys) -> None:
    status, out, _ = run(capsys, "compare", "smollm2", "requant8", FRANCE, "--max-tokens", "12",
                         "--json")  # fmt: skip
    assert status == 0
    record = json.loads(out)
    assert record["plan"]["outcome"] == "both fit"
    a, b = record["replies"]
    assert (a["model"], b["model"]) == (SMOL_ID, Q8_ID)
    assert "Paris" in a["text"] and "Paris" in b["text"]
    assert a["mode"] == b["mode"] == "chat"
    assert b["size_bytes"] > a["size_bytes"] > 80 * 1024**2  # 8 bits weigh more than 4
    for reply in (a, b):
        assert reply["stats"]["generation_tokens"] > 0
        assert reply["stats"]["peak_memory_bytes"] >= reply["size_bytes"]
    assert record["loaded_after"] == [SMOL_ID, Q8_ID]


def test_compare_with_room_for_one_evicts_between_and_says_so(capsys) -> None:
    flags = ("--mode", "complete", "--max-tokens", "3", "--max-models", "1")
    status, out, _ = run(capsys, "compare", "smollm2", "requant8", "1, 2, 3,", *flags)
    assert status == 0
    first_line = out.splitlines()[0]
    assert first_line.startswith("plan: one at a time: SmolLM2-135M-Instruct (")
    assert "is evicted before requant8-135M-Instruct" in first_line
    assert "── A · SmolLM2-135M-Instruct (complete) ──" in out
    assert "── B · requant8-135M-Instruct (complete) ──" in out
    assert out.count("first token") == 2 and out.count("peak memory") == 2
    assert "loaded after the comparison: requant8-135M-Instruct" in out


def test_compare_refuses_what_cannot_fit_before_loading(capsys) -> None:
    status, _, err = run(capsys, "compare", "smollm2", "requant8", "hi", "--memory-limit",
                         "120MB")  # fmt: skip
    assert status == 2
    assert "cannot compare: requant8-135M-Instruct does not fit" in err
    assert "loading model" not in err
