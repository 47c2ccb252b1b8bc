"""Group "load": loading a model through the pool vs ``mlx_lm.load`` / ``mlx_embeddings.load``.

The pool's load is what a user waits for: request in, "loaded" event out, with the fit
check, the memory measurement and the size bookkeeping in between. Each sample starts from
"not loaded" on both sides and unloads afterwards, so both read the same (OS-cached) files.
"""

from __future__ import annotations

from workbench.bench.context import BenchContext
from workbench.bench.harness import Goal, Metric, alternate
from workbench.bench.raw import RawEmbed, RawText
from workbench.core.types import ModelInfo

LOAD_GOAL = Goal("<=", 1.05)


def _compare(context: BenchContext, info: ModelInfo, raw_loader: object, label: str) -> Metric:
    ours = context.ours()
    ours.unload(info.id)

    def ours_side() -> dict[str, float]:
        seconds = ours.load(info)
        ours.unload(info.id)
        return {"load_s": seconds}

    def raw_side() -> dict[str, float]:
        seconds = context.raw_thread.call(raw_loader.load)
        context.raw_thread.call(raw_loader.unload)
        return {"load_s": seconds}

    paired = alternate(ours_side, raw_side, context.options.rounds)
    return paired.metric("load_s", f"load {label}", "s", ("pool", "raw"), goal=LOAD_GOAL)


def run(context: BenchContext) -> list[Metric]:
    text = context.text_model()
    embed = context.embed_model()
    context.drop_raw("text")  # the raw copies of other groups would skew memory, not time
    context.drop_raw("embed")
    context.say("loading and unloading, pool and raw in turn…")
    text_raw = RawText(context.model_dir(text), text.family)
    embed_raw = RawEmbed(context.model_dir(embed))
    return [
        _compare(context, text, text_raw, text.name),
        _compare(context, embed, embed_raw, embed.name),
    ]
