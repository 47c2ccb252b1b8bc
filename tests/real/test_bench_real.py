"""The benchmark's wiring on the real demo models: both sides do the same work, figures exist.

No test here asserts a duration or a ratio: these machines are shared and noisy. What is
asserted is that a measurement measures what it claims — the same prompt and the same greedy
reply on both sides, the BLAS really bound inside MLX — and that a quick run reports a
positive number for every metric.

Two quick runs serve every assertion (a module fixture each). The groups that generate
through the pool and the app run on ``synthetic:llama-tiny``, a real mlx-lm llama of a tiny
float32 shape with the SmolLM2 tokenizer (the demo's 4-bit SmolLM2 reads ~4 prompt tokens a
second on a CPU, and the wiring does not depend on the weights); the key-handling group keeps
the SmolLM2 demo, whose reply streams long enough on a CPU to press keys into.
"""

from __future__ import annotations

import ctypes.util
import json
import operator
import os
import re
import subprocess
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest

from workbench.core.runner.blas import ENV_VAR

pytestmark = pytest.mark.real

GOAL_OPS = {">=": operator.ge, "<=": operator.le, "<": operator.lt}

BINDING = """
import workbench.core.runner.blas as blas
info = blas.prepare("auto")
import mlx.core as mx
a = mx.ones((64, 64))
mx.eval(a @ a)
print("ACTIVE", info.active, info.path)
"""


def mlx_binding(env_value: str | None) -> tuple[str, str]:
    """Which file ``libmlx.so``'s ``cblas_sgemm`` was bound to, per the dynamic linker."""
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    if env_value is not None:
        env[ENV_VAR] = env_value
    env["LD_DEBUG"] = "bindings"
    done = subprocess.run(
        [sys.executable, "-c", BINDING], env=env, capture_output=True, text=True, check=True
    )
    lines = [
        line for line in done.stderr.splitlines()
        if "libmlx.so" in line and "`cblas_sgemm'" in line
    ]  # fmt: skip
    assert len(lines) == 1, done.stderr[-2000:]
    target = lines[0].split(" to ", 1)[1].split(" [", 1)[0]
    return target, done.stdout


def test_openblas_is_what_mlx_binds_cblas_sgemm_to() -> None:
    target, out = mlx_binding(None)
    assert "ACTIVE True" in out
    assert "openblas" in target.lower()
    assert os.path.realpath(target) == out.split()[-1]


def test_switched_off_mlx_keeps_the_bundled_blas() -> None:
    target, out = mlx_binding("0")
    assert "ACTIVE False" in out
    assert "mlx_cpu.libs" in target


def test_raw_baseline_and_text_engine_give_the_same_greedy_reply(smollm2_dir: Path) -> None:
    import threading

    from workbench.bench.raw import OwnerThread, RawText
    from workbench.bench.texts import decode_messages
    from workbench.core.engines.text import load_text
    from workbench.core.types import Family, ModelInfo, ModelKind, SamplingSettings

    info = ModelInfo("t", "smol", smollm2_dir, ModelKind.TEXT, Family.LLAMA, "path")
    sampling = SamplingSettings(temperature=0.0, max_tokens=12)
    owner = OwnerThread("test-raw")
    try:
        raw = RawText(smollm2_dir, Family.LLAMA)
        owner.call(raw.load)
        baseline = owner.call(raw.generate, decode_messages(), sampling)

        def ours() -> tuple[str, int, int]:
            engine = load_text(info)
            chunks = list(engine.stream_chat(decode_messages(), sampling, threading.Event()))
            stats = chunks[-1].stats
            prompt = engine.prompt_tokens(decode_messages())
            return "".join(c.text for c in chunks), stats.generation_tokens, len(prompt)

        text, tokens, prompt_tokens = owner.call(ours)
    finally:
        owner.close()
    assert baseline.tokens == tokens == 12
    assert baseline.text == text
    assert baseline.prompt_tokens == prompt_tokens
    assert 0 < baseline.first_text_s < baseline.end_s


def test_the_raw_baseline_defers_full_collections_as_the_runner_does(
    smollm2_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full collection here would walk the test process's objects, not mlx-lm's own."""
    import gc

    import mlx_lm
    from collections_held import restored_after_the_quiet_period

    from workbench.bench.raw import OwnerThread, RawText
    from workbench.bench.texts import decode_messages
    from workbench.core.runner.collector import HELD_FULL_THRESHOLD
    from workbench.core.types import Family, SamplingSettings

    stream_generate = mlx_lm.stream_generate
    full_thresholds: list[int] = []  # the full collection's threshold at every token

    def watched(*args, **kwargs):
        for response in stream_generate(*args, **kwargs):
            full_thresholds.append(gc.get_threshold()[2])
            yield response

    monkeypatch.setattr(mlx_lm, "stream_generate", watched)
    assert restored_after_the_quiet_period()  # no earlier reply's hold goes on here
    owner = OwnerThread("test-gc")
    raw = RawText(smollm2_dir, Family.LLAMA)
    try:
        owner.call(raw.load)
        before = gc.get_threshold()
        owner.call(raw.generate, decode_messages(), SamplingSettings(0.0, max_tokens=12))
    finally:
        owner.close()
    assert len(full_thresholds) == 12
    assert set(full_thresholds) == {HELD_FULL_THRESHOLD}
    assert restored_after_the_quiet_period()  # as after a reply in the app
    assert gc.get_threshold() == before


TINY_MODEL = "synthetic:llama-tiny"
TINY_GROUPS = ("decode", "tui", "cache", "load", "startup", "pane", "blas")
DEMO_GROUPS = ("embed", "responsive")


def run_bench(only: Sequence[str], home: Path, *options: str) -> dict:
    env = {**os.environ, "MLXBENCH_HOME": str(home)}
    command = [sys.executable, "-m", "workbench.cli", "bench", "--quick", "--json"]
    done = subprocess.run(
        [*command, "--only", ",".join(only), *options],
        env=env, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def tiny_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One quick run: the model-free groups, and the pool and app groups on the tiny model."""
    return run_bench(TINY_GROUPS, tmp_path_factory.mktemp("bench-home"), "--model", TINY_MODEL)


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One quick run of the groups measured on the demo models (MiniLM, SmolLM2)."""
    return run_bench(DEMO_GROUPS, tmp_path_factory.mktemp("bench-home"))


def goal_verdict(metric: dict) -> bool | None:
    """The goal applied to the measured figures: A/B for a ratio goal, else A itself."""
    goal = metric["goal"]
    if goal is None:
        return None
    a, b = metric["a"], metric["b"]
    value = a if goal["on"] == "a" else (a / b if a is not None and b else None)
    if value is None:
        return None
    return GOAL_OPS[goal["op"]](value, goal["limit"])


def every_metric(groups: Iterable[dict]) -> list[dict]:
    return [m for group in groups for m in group["metrics"]]


def test_quick_runs_report_their_groups_in_order(tiny_report: dict, demo_report: dict) -> None:
    names = [g["name"] for g in tiny_report["groups"]]
    assert names == ["decode", "tui", "cache", "load", "startup", "pane", "blas"]
    assert [g["name"] for g in demo_report["groups"]] == ["embed", "responsive"]
    assert tiny_report["settings"]["text_model"] == TINY_MODEL


def test_quick_json_run_of_the_model_free_groups(tiny_report: dict) -> None:
    groups = {g["name"]: g for g in tiny_report["groups"]}
    model_free = [groups[name] for name in ("startup", "pane", "blas")]
    assert groups["startup"]["status"] == groups["pane"]["status"] == "ok", model_free
    for metric in every_metric(model_free):
        assert metric["a"] > 0, metric
        assert metric["passed"] == goal_verdict(metric), metric
    in_use = tiny_report["machine"]["blas"]  # the BLAS the benchmark process itself chose
    blas = groups["blas"]
    if in_use.startswith("OpenBLAS"):  # measured against the reference, rows say so
        assert blas["status"] == "ok", blas
        assert blas["metrics"] and all(in_use.startswith(m["a_label"]) for m in blas["metrics"])
    else:  # e.g. macOS, or no OpenBLAS installed: reported as such, never a made-up row
        assert (blas["status"], blas["metrics"]) == ("not available", []), blas
        assert "no OpenBLAS in use" in blas["reason"]
    if sys.platform.startswith("linux") and ctypes.util.find_library("openblas"):
        assert in_use.startswith("OpenBLAS"), in_use  # installed on Linux: it must be used


def test_quick_json_run_through_the_runner_and_the_app(
    tiny_report: dict, demo_report: dict
) -> None:
    groups = {g["name"]: g for g in tiny_report["groups"] + demo_report["groups"]}
    through_runner = [groups[name] for name in ("decode", "tui", "cache", "load", *DEMO_GROUPS)]
    assert [g["status"] for g in through_runner] == ["ok"] * 6, through_runner
    for metric in every_metric(through_runner):
        if not metric["name"].startswith("TTFT over raw"):  # a difference: either sign
            assert metric["a"] > 0, metric
        assert metric["b"] is None or metric["b"] > 0, metric
        assert metric["passed"] == goal_verdict(metric), metric
    for name in ("decode", "tui"):
        decode_tps, ttft, over_raw, tokens = groups[name]["metrics"]
        assert tokens["a_samples"] == tokens["b_samples"] == [8.0]  # --quick: 8 greedy tokens
        assert "same 8-token greedy reply" in tokens["note"]
        assert decode_tps["goal"] is not None and ttft["goal"] is not None  # a CPU: a ratio
        pairs = zip(ttft["a_samples"], ttft["b_samples"], strict=True)
        assert over_raw["a_samples"] == pytest.approx([a - b for a, b in pairs])
        assert over_raw["goal"] is None  # milliseconds over raw are judged on a GPU only
    cached = groups["cache"]["metrics"][0]
    reused = re.search(r"(\d+) prompt tokens, (\d+) reused", cached["note"])
    assert reused is not None, cached["note"]
    assert 0 < int(reused[2]) < int(reused[1])  # turn 3 really fed most of it from the cache
    assert "same vectors" in groups["embed"]["metrics"][0]["note"]
    assert len(groups["load"]["metrics"]) == 2
