"""Group "blas": what a system OpenBLAS buys on this machine, measured, not assumed.

Each side is a fresh child process (``blas_probe``), since the BLAS is bound when
``mlx.core`` is imported: "on" lets ``blas.prepare`` find OpenBLAS, "off" sets
``MLXBENCH_OPENBLAS=0``. Both embed the same sentences and time the same fp32 matmul.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from workbench.bench.context import BenchContext
from workbench.bench.harness import Metric, NotAvailable, alternate
from workbench.core.runner.blas import ENV_VAR

CHILD_TIMEOUT_S = 900


def probe(model_dir: Path, count: int, openblas: bool, size: int) -> dict[str, float]:
    """Run one child process and return its measurements (raises if it fails)."""
    env = dict(os.environ)
    env.pop(ENV_VAR, None)
    if not openblas:
        env[ENV_VAR] = "0"
    module = "workbench.bench.blas_probe"
    command = [sys.executable, "-m", module, str(model_dir), str(count), str(size)]
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT_S, check=False
    )
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"BLAS probe failed (status {done.returncode}): {tail}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    if openblas and not data["active"]:
        raise NotAvailable(f"no OpenBLAS in use: {data['reason']}")
    return {"sentences_per_s": data["sentences_per_s"], "matmul_gflops": data["matmul_gflops"]}


def run(context: BenchContext) -> Sequence[Metric]:
    options = context.options
    folder = context.model_dir(context.embed_model())
    count, size = options.blas_sentences, options.matmul_size

    def side(on: bool):
        return lambda: probe(folder, count, on, size)

    context.say(f"BLAS on/off: {count} sentences in child processes…")
    paired = alternate(side(True), side(False), rounds=1 if options.quick else 2, warmup=0)
    labels = ("OpenBLAS", "reference")
    return [
        paired.metric(
            "sentences_per_s", f"embeddings, {count} sentences", "sent/s", labels,
            note="gain from loading a system OpenBLAS before mlx.core (child process per side)",
        ),
        paired.metric("matmul_gflops", f"fp32 matmul {size}×{size}", "GFLOP/s", labels),
    ]  # fmt: skip
