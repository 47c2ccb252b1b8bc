"""`mlxbench chat`, `embed` and `pool plan` on the real demo models, and their one-line errors."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from workbench.cli import main

pytestmark = pytest.mark.real

FRANCE = "What is the capital of France?"


@pytest.fixture(scope="module", autouse=True)
def isolated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One home for the module, so the SmolLM2 GGUF is imported once, not per test."""
    root = tmp_path_factory.mktemp("cli")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLXBENCH_HOME", str(root / "home"))
        patch.setenv("HF_HUB_CACHE", str(root / "hub"))
        patch.setenv("LMSTUDIO_MODELS_DIR", str(root / "lmstudio"))
        yield root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_chat_greedy_answers_paris_with_stats_on_stderr(capsys) -> None:
    status, out, err = run(capsys, "chat", "smollm2", FRANCE, "--max-tokens", "30")
    assert status == 0
    assert "Paris" in out
    assert "tok/s" in err and "finish: stop" in err and "peak memory" in err
    print(out, err)


def test_chat_json_is_one_object(capsys) -> None:
    status, out, _ = run(capsys, "chat", "smollm2", FRANCE, "--json", "--max-tokens", "30")
    assert status == 0
    record = json.loads(out)
    assert record["model"] == "demo/SmolLM2-135M-Instruct"
    assert "Paris" in record["text"]
    stats = record["stats"]
    assert stats["finish_reason"] == "stop" and stats["generation_tokens"] > 0
    assert stats["peak_memory_bytes"] > 90 * 1024**2  # at least the weights


def test_chat_max_tokens_stops_at_length(capsys) -> None:
    status, out, _ = run(capsys, "chat", "smollm2", "Count to fifty.", "--max-tokens", "3",
                         "--json")  # fmt: skip
    assert status == 0
    stats = json.loads(out)["stats"]
    assert (stats["generation_tokens"], stats["finish_reason"]) == (3, "length")


def test_embed_json_has_the_openai_shape(capsys) -> None:
    texts = ["hello world", "The cat sat on the mat"]
    status, out, _ = run(capsys, "embed", "minilm", *texts, "--json")
    assert status == 0
    body = json.loads(out)
    assert body["object"] == "list" and body["model"] == "demo/all-MiniLM-L6-v2"
    assert [d["index"] for d in body["data"]] == [0, 1]
    for item in body["data"]:
        assert item["object"] == "embedding" and len(item["embedding"]) == 384
        assert math.sqrt(sum(x * x for x in item["embedding"])) == pytest.approx(1, abs=1e-5)
    # [CLS] hello world [SEP] = 4; [CLS] the cat sat on the mat [SEP] = 8
    assert body["usage"] == {"prompt_tokens": 12, "total_tokens": 12}


def test_embed_text_mode_prints_the_similarity_matrix(capsys, tmp_path: Path) -> None:
    listing = tmp_path / "texts.txt"
    listing.write_text("A dog lay on the rug\n\nStock prices fell sharply\n")
    status, out, _ = run(capsys, "embed", "minilm", "The cat sat on the mat", "--file",
                         str(listing))  # fmt: skip
    assert status == 0
    lines = out.splitlines()
    assert lines[0].startswith("3 texts → 384-dimensional unit vectors (all-MiniLM-L6-v2")
    rows = [line for line in lines if line[:2] in ("1.", "2.", "3.")]
    matrix = [[float(x) for x in row[24:].split()] for row in rows]
    assert [matrix[i][i] for i in range(3)] == [1.0, 1.0, 1.0]
    assert matrix[0][1] == matrix[1][0]
    assert matrix[0][1] > matrix[0][2]  # cat/dog closer than cat/stocks


def test_pool_plan_under_a_one_model_budget(capsys) -> None:
    status, out, _ = run(capsys, "pool", "plan", "smollm2", "minilm", "--memory-limit", "150MB")
    assert status == 0
    assert "1. SmolLM2-135M-Instruct: fits" in out
    assert "2. all-MiniLM-L6-v2: fits after evicting SmolLM2-135M-Instruct" in out
    status, out, _ = run(capsys, "pool", "plan", "minilm", "--memory-limit", "50MB", "--json")
    assert status == 1
    (plan,) = json.loads(out)["plans"]
    assert not plan["fits"] and "the whole budget is 50.0 MB" in plan["reason"]


def test_pool_plan_pin_shows_every_outcome_in_one_wording(capsys) -> None:
    """fits / fits after evicting / cannot fit because pinned, each with the same figures."""
    status, out, _ = run(capsys, "pool", "plan", "minilm", "smollm2", "--memory-limit", "150MB")
    assert status == 0
    assert "1. all-MiniLM-L6-v2: fits\n   needs " in out
    evicting = out.split("2. SmolLM2-135M-Instruct: fits after evicting all-MiniLM-L6-v2\n")[1]
    assert " free now; " in evicting and " free after evicting all-MiniLM-L6-v2" in evicting
    argv = ("pool", "plan", "smollm2", "--pin", "minilm", "--memory-limit", "150MB")
    status, out, _ = run(capsys, *argv)
    assert status == 1
    assert "pinned: all-MiniLM-L6-v2" in out
    assert "1. SmolLM2-135M-Instruct: cannot fit: needs " in out
    assert "(pinned: all-MiniLM-L6-v2" in out
    status, out, _ = run(capsys, *argv, "--json")
    assert [p["model_id"] for p in json.loads(out)["pinned"]] and status == 1


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["embed", "smollm2", "hello"],
            "SmolLM2-135M-Instruct is a text model; choose an embedding",
        ),
        (["chat", "minilm", "hello"], "all-MiniLM-L6-v2 is an embedding model; choose a text"),
        (["chat", "smollm2", "  "], "the prompt is empty"),
        (["embed", "minilm", ""], "text 1 is empty"),
        (["embed", "minilm"], "nothing to embed"),
        (["chat", "smollm2", "hi", "--image", "cat.png"], "is a text model and cannot see images"),
        (["chat", "no-such-model", "hi"], "no model matches 'no-such-model'"),
        (["chat", "smollm2", "hi", "--memory-limit", "lots"], "memory limit must be like 8GB"),
        (
            ["chat", "smollm2", "hi", "--memory-limit", "10MB"],
            "cannot load SmolLM2-135M-Instruct: needs",
        ),
        (["chat", "smollm2", "hi", "--max-tokens", "0"], "--max-tokens must be at least 1"),
    ],
)
def test_errors_exit_2_with_one_line(capsys, argv: list[str], expected: str) -> None:
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("mlxbench: error: ")
    assert expected in err


def test_embed_process_exits_cleanly_every_time() -> None:
    """MLX used on the runner's thread must be torn down there, or the process may abort
    at exit (exit 134, about one run in two here before the fix) — so run it repeatedly."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "workbench.cli", "embed", "minilm", "hello", "--json"]
    for _ in range(4):
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert (done.returncode, done.stderr) == (0, "")
        assert json.loads(done.stdout)["object"] == "list"


def test_chat_sends_an_image_to_a_vision_model(capsys, tiny_vlm_dir: Path, tmp_path: Path) -> None:
    from PIL import Image

    picture = tmp_path / "red.png"
    Image.new("RGB", (64, 48), (200, 30, 30)).save(picture)
    status, out, err = run(capsys, "chat", str(tiny_vlm_dir), "What colour is this?",
                           "--image", str(picture), "--max-tokens", "4", "--json")  # fmt: skip
    assert status == 0, err
    record = json.loads(out)
    assert record["stats"]["generation_tokens"] >= 1  # random weights: any words will do
    assert record["stats"]["prompt_tokens"] > 5  # the image's tokens are in the prompt
    status, _, err = run(
        capsys, "chat", str(tiny_vlm_dir), "hi", "--image", str(tmp_path / "no.png")
    )
    assert status == 2 and err.count("\n") == 1 and "no.png" in err
