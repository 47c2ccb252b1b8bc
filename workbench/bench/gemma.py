"""Group "gemma": the Gemma 3 270M demo — its GGUF import, then decode through the pool vs raw.

The import (K-quants dequantized and re-quantized for MLX) runs in a child process into a
scratch folder, so its time and peak memory (the child's maximum resident set) are the
import's own, not this process's history. Decode then compares the imported model streamed
through the runner with plain ``stream_generate`` on the same folder and prompt ids, as the
"decode" group does for the default text model.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from workbench.bench.context import BenchContext, resolve
from workbench.bench.decode import POOL_GOALS, decode_metrics, pool_and_raw
from workbench.bench.harness import Goal, Metric, NotAvailable
from workbench.bench.raw import RawText
from workbench.core.types import ModelInfo

GEMMA = "gemma-3-270m"
PEAK_GOAL = Goal("<=", 1024, on="a", unit="MB")  # the import must not need a big machine

_CHILD = """
import json, resource, sys, time
from pathlib import Path
from workbench.core.gguf.importer import import_gguf
started = time.perf_counter()
folder = import_gguf(Path(sys.argv[1]), dest_root=Path(sys.argv[2]))
seconds = time.perf_counter() - started
weights = (folder / "model.safetensors").stat().st_size
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak_bytes": peak, "weights_bytes": weights}))
"""


def import_in_child(gguf: Path) -> dict[str, float]:
    """Import ``gguf`` in a fresh interpreter; its seconds, peak RSS and output size."""
    with tempfile.TemporaryDirectory(prefix="mlxbench-bench-import-") as scratch:
        result = subprocess.run(
            [sys.executable, "-c", _CHILD, str(gguf), scratch],
            capture_output=True,
            text=True,
            timeout=900,
        )
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise NotAvailable(f"the Gemma import failed: {last}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def import_metrics(info: ModelInfo) -> list[Metric]:
    assert info.gguf_source is not None
    source_mb = info.gguf_source.stat().st_size / 2**20
    numbers = import_in_child(info.gguf_source)
    note = f"{source_mb:.0f} MB GGUF → {numbers['weights_bytes'] / 2**20:.0f} MB MLX weights"
    return [
        Metric("gemma import time", "s", numbers["seconds"], a_label="import", note=note),
        Metric(
            "gemma import peak RSS",
            "MB",
            numbers["peak_bytes"] / 2**20,
            a_label="import",
            goal=PEAK_GOAL,
            note="whole child process (Python, MLX, gguf) at its peak",
        ),
    ]


def decode_gemma(context: BenchContext, info: ModelInfo) -> list[Metric]:
    folder = context.model_dir(info)
    raw = RawText(folder, info.family)
    context.raw_thread.call(raw.load)
    ours = context.ours()
    ours.load(info)
    context.say(f"decoding {context.options.max_tokens} Gemma tokens, pool and raw in turn…")
    try:
        paired, note = pool_and_raw(context, ours, raw, info)
    finally:
        context.raw_thread.call(raw.unload)
        ours.unload(info.id)
    metrics = decode_metrics(paired, "pool", POOL_GOALS, note)
    return [Metric(f"gemma {m.name}", *_rest(m)) for m in metrics]


def _rest(metric: Metric) -> tuple:
    return (
        metric.unit, metric.a, metric.b, metric.a_label, metric.b_label,
        metric.a_samples, metric.b_samples, metric.goal, metric.note,
    )  # fmt: skip


def run(context: BenchContext) -> list[Metric]:
    info = resolve(None, GEMMA, context.options.config)
    if info.gguf_source is None:
        raise NotAvailable(f"{GEMMA} is not a GGUF demo here; run `mlxbench demo install`")
    context.say("importing Gemma 3 270M in a child process (time and peak memory)…")
    return [*import_metrics(info), *decode_gemma(context, info)]
