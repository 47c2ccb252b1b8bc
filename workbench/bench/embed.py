"""Group "embed": sentences per second through the pool vs raw mlx-embeddings.

Both sides embed the same sentences in the same length-sorted batches of 32 (what our
engine does), so the ratio shows what the runner, the lease and the conversion of vectors
to plain data cost. Both must give the same vectors; the report says how close they are.
"""

from __future__ import annotations

from typing import Any

from workbench.bench.context import BenchContext
from workbench.bench.harness import Goal, Metric, alternate
from workbench.bench.texts import sentences

EMBED_GOAL = Goal(">=", 0.95)
WARMUP_TEXTS = 64


def agreement_note(ours: Any, raw: Any) -> str:
    """How far apart the two sides' vectors are (they should agree to float precision)."""
    import numpy as np

    mine = np.asarray(ours, dtype=np.float64)
    theirs = np.asarray(raw, dtype=np.float64)
    if mine.shape != theirs.shape:
        return f"VECTORS DIFFER: shapes {mine.shape} vs {theirs.shape}"
    gap = float(np.max(np.abs(mine - theirs))) if mine.size else 0.0
    verdict = "same vectors" if gap < 1e-4 else "VECTORS DIFFER"
    return f"{verdict} on both sides (largest difference {gap:.1e}), {len(mine)} sentences"


def run(context: BenchContext) -> list[Metric]:
    info = context.embed_model()
    raw = context.raw_embed()
    ours = context.ours()
    ours.load(info)
    texts = sentences(context.options.sentences)
    kept: dict[str, Any] = {}
    ours.embed(info.id, texts[:WARMUP_TEXTS])
    context.raw_thread.call(raw.embed, texts[:WARMUP_TEXTS])

    def ours_side() -> dict[str, float]:
        seconds, result = ours.timed_embed(info.id, texts)
        kept["ours"] = result.vectors
        return {"rate": len(texts) / seconds}

    def raw_side() -> dict[str, float]:
        seconds, vectors = context.raw_thread.timed(raw.embed, texts)
        kept["raw"] = vectors
        return {"rate": len(texts) / seconds}

    context.say(f"embedding {len(texts)} sentences, pool and raw in turn…")
    paired = alternate(ours_side, raw_side, context.options.rounds, warmup=0)
    note = agreement_note(kept["ours"], kept["raw"])
    labels = ("pool", "raw")
    name = f"embeddings, {len(texts)} sentences"
    return [paired.metric("rate", name, "sent/s", labels, goal=EMBED_GOAL, note=note)]
