"""Measure one BLAS choice in a fresh process: ``python -m workbench.bench.blas_probe``.

The BLAS is chosen once per process, before ``import mlx.core``, so "on" and "off" can only
be compared across processes. This child process honours ``MLXBENCH_OPENBLAS`` (``0`` =
off), embeds a fixed set of sentences with mlx-embeddings and times an fp32 matmul, then
prints one JSON line: what it used and how fast it went.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from workbench.bench.texts import sentences
from workbench.core.runner import blas

MATMUL_SIZE = 1024


def matmul_gflops(size: int = MATMUL_SIZE, repeats: int = 5) -> float:
    """fp32 matmul speed in GFLOP/s: the median of ``repeats`` ``size``² products."""
    import statistics

    import mlx.core as mx

    a = mx.random.normal((size, size))
    b = mx.random.normal((size, size))
    mx.eval(a, b, a @ b)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        mx.eval(a @ b)
        times.append(time.perf_counter() - started)
    return 2 * size**3 / statistics.median(times) / 1e9


def embed_rate(model_dir: Path, count: int) -> float:
    """Sentences per second embedding ``count`` sentences (after a one-batch warm-up)."""
    from workbench.bench.raw import RawEmbed

    texts = sentences(count)
    raw = RawEmbed(model_dir)
    raw.load()
    raw.embed(texts[:32])
    started = time.perf_counter()
    raw.embed(texts)
    return count / (time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="blas_probe")
    parser.add_argument("model_dir", type=Path)
    parser.add_argument("count", type=int)
    parser.add_argument("matmul_size", type=int, nargs="?", default=MATMUL_SIZE)
    args = parser.parse_args(argv)
    info = blas.prepare("auto")
    result = {
        "blas": info.describe(),
        "active": info.active,
        "reason": info.reason,
        "matmul_gflops": matmul_gflops(args.matmul_size),
        "sentences_per_s": embed_rate(args.model_dir, args.count),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
