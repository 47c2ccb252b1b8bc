"""Refusals on the real models: a prompt longer than the context is refused before any
prompt processing, with the numbers; `embed … | head` ends quietly; `mlxbench doctor`."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from test_text_engine import smollm2_info
from test_vision_engine import tiny_info

from workbench.core.engines import load_engine
from workbench.core.errors import InputError
from workbench.core.types import ChatMessage, SamplingSettings

pytestmark = pytest.mark.real

SENTENCE = "The quick brown fox jumps over the lazy dog. "


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))


def _no_processing(*_args: object, **_kwargs: object) -> object:
    raise AssertionError("the prompt was processed")


def test_a_prompt_longer_than_the_context_is_refused_before_processing(
    smollm2_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = load_engine(smollm2_info(smollm2_dir))
    try:
        assert engine.context_length == 8192  # SmolLM2's max_position_embeddings
        monkeypatch.setattr(engine, "_responses", _no_processing)
        history = [
            ChatMessage("system", SENTENCE * 700),
            ChatMessage("user", "Hi"),
            ChatMessage("assistant", "Hello!"),
            ChatMessage("user", SENTENCE * 1200),
        ]
        with pytest.raises(InputError) as refused:
            engine.stream_chat(history, SamplingSettings(max_tokens=8), threading.Event())
        message = str(refused.value)
        assert "but SmolLM2-135M-Instruct handles 8,192" in message
        tokens = int(message.split("the prompt is ")[1].split(" tokens")[0].replace(",", ""))
        assert tokens == len(engine.prompt_tokens(history)) > 8192
    finally:
        engine.close()


def test_a_vision_prompt_longer_than_the_context_is_refused_too(
    tiny_vlm_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = load_engine(tiny_info(tiny_vlm_dir))
    try:
        monkeypatch.setattr(engine, "_responses", _no_processing)
        long = [ChatMessage("user", SENTENCE * 300)]  # ~3,000 tokens, context 2,048
        with pytest.raises(InputError, match="handles 2,048"):
            engine.stream_chat(long, SamplingSettings(max_tokens=8), threading.Event())
    finally:
        engine.close()


def _mlxbench(*args: str, home: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MLXBENCH_HOME": str(home)}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    command = [sys.executable, "-m", "workbench.cli", *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def test_embed_into_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    lines = tmp_path / "lines.txt"
    lines.write_text("".join(f"line number {n}\n" for n in range(400)))
    proc = _mlxbench("embed", "all-minilm", "--file", str(lines), "--json", home=tmp_path)
    assert proc.stdout is not None
    assert proc.stdout.read(30).startswith(b'{"object": "list"')  # then `head` goes away
    proc.stdout.close()
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0 and b"Traceback" not in err and b"Error" not in err


def test_embed_shows_a_capped_matrix_unless_full(tmp_path: Path) -> None:
    lines = tmp_path / "lines.txt"
    lines.write_text("".join(f"sentence {n}\n" for n in range(40)))
    out, _ = _mlxbench("embed", "all-minilm", "--file", str(lines), home=tmp_path).communicate()
    text = out.decode()
    assert "(the first 12 of 40 texts; --full prints them all)" in text
    assert "\n13. " not in text and text.count("\n1") >= 1
    full, _ = _mlxbench(
        "embed", "all-minilm", "--file", str(lines), "--full", home=tmp_path
    ).communicate()
    assert "\n40. sentence 39" in full.decode() and "--full prints" not in full.decode()


def test_doctor_prints_what_a_bug_report_needs(tmp_path: Path) -> None:
    out, err = _mlxbench("doctor", home=tmp_path).communicate(timeout=300)
    text = out.decode()
    for needed in ("mlxbench", "mlx-lm", "device", "BLAS", "sessions", "log file", "SmolLM2"):
        assert needed in text, needed
    assert str(tmp_path / "logs" / "mlxbench.log") in text and err == b""
