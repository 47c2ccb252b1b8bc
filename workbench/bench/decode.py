"""Group "decode": a streamed reply through the pool and runner vs raw ``stream_generate``.

Same model folder, same prompt token ids, same greedy sampler, same max tokens; the runner
side is timed where a CLI user sees tokens (as the blocking client hands them over), the
raw side as ``stream_generate`` yields them. Both replies must be the same greedy text —
the report says so, or says how they differ.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from workbench.bench.context import BenchContext
from workbench.bench.harness import Goal, Metric, Paired, alternate, median
from workbench.bench.raw import Generation, RawText
from workbench.bench.texts import decode_messages
from workbench.core.types import ModelInfo, SamplingSettings

if TYPE_CHECKING:
    from workbench.bench.ours import OurSide

TPS_GOAL = Goal(">=", 0.99)


@dataclass(frozen=True)
class DecodeGoals:
    """What a side must reach against raw: decode speed (``tps``); the time it may add to
    raw's first token on a GPU (``ttft_over_s``); on a CPU, where one reply's prompt reading
    varies by more than those few milliseconds from the next, a ratio (``ttft_ratio``)."""

    tps: Goal
    ttft_over_s: float
    ttft_ratio: Goal


POOL_GOALS = DecodeGoals(TPS_GOAL, 0.002, Goal("<=", 1.02))


def same_reply_note(ours: Sequence[Generation], raw: Sequence[Generation], side: str) -> str:
    """A one-line verdict on whether every reply on both sides was the same greedy text."""
    texts = {g.text for g in (*ours, *raw)}
    counts = sorted({g.tokens for g in (*ours, *raw)})
    if len(texts) == 1 and len(counts) == 1:
        return f"{side} and raw gave the same {counts[0]}-token greedy reply every time"
    mine = sorted({g.tokens for g in ours})
    theirs = sorted({g.tokens for g in raw})
    return f"REPLIES DIFFER: {side} {mine} tokens, raw {theirs} tokens, {len(texts)} texts"


def on_gpu() -> bool:
    """Whether the models run on a GPU here (CUDA or Metal), not on the CPU."""
    from workbench.core.pool.device import device_memory

    return device_memory().kind != "ram"


def ttft_over_raw(paired: Paired, side: str, limit_s: float | None = None) -> Metric:
    """What ``side`` adds to raw's time to first token: the median of each round's
    difference (the sides alternate, so both replies of a round saw the same machine);
    ``limit_s`` is the goal, if any."""
    extra = [a - b for a, b in zip(paired.a["ttft_s"], paired.b["ttft_s"], strict=True)]
    goal = Goal("<=", limit_s, on="a", unit="s") if limit_s is not None else None
    return Metric(
        f"TTFT over raw ({side} − raw)", "s", median(extra), a_label=side,
        a_samples=tuple(extra), goal=goal,
    )  # fmt: skip


def decode_metrics(paired: Paired, side: str, goals: DecodeGoals, note: str) -> list[Metric]:
    """Decode speed and time to first token against ``goals`` (the latter as time over
    raw on a GPU, as a ratio on a CPU)."""
    labels = (side, "raw")
    gpu = on_gpu()
    return [
        paired.metric("decode_tps", "decode tok/s", "tok/s", labels, goal=goals.tps),
        paired.metric(
            "ttft_s", "time to first token", "s", labels, goal=None if gpu else goals.ttft_ratio
        ),
        ttft_over_raw(paired, side, goals.ttft_over_s if gpu else None),
        paired.metric("tokens", "tokens per reply", "tok", labels, note=note),
    ]


def bandwidth_metrics(paired: Paired, weights_bytes: int | None, side: str) -> list[Metric]:
    """Decode speed as a share of the device's memory bandwidth, where the device is known.

    Each token reads every weight once: weights bytes × tok/s ÷ peak bandwidth.
    """
    from workbench.bench.bandwidth import bandwidth_bytes_per_s, bandwidth_share
    from workbench.core.pool.device import device_memory

    name = device_memory().name
    peak = bandwidth_bytes_per_s(name)
    speeds = paired.metric("decode_tps", "", "", ("", ""))
    a, b = speeds.a, speeds.b
    if peak is None or not weights_bytes or a is None or b is None:
        return []
    note = f"weights {weights_bytes / 2**30:.2f} GB × tok/s ÷ {peak / 1e12:.2f} TB/s ({name})"
    return [
        Metric(
            "share of memory bandwidth", "%", bandwidth_share(weights_bytes, a, peak),
            bandwidth_share(weights_bytes, b, peak), side, "raw", note=note,
        )
    ]  # fmt: skip


def pool_and_raw(
    context: BenchContext, ours: OurSide, raw: RawText, info: ModelInfo
) -> tuple[Paired, str]:
    """The same greedy reply through the pool and raw, in alternating rounds, and the note
    saying whether every reply on both sides was the same text."""
    messages = decode_messages()
    sampling = SamplingSettings(temperature=0.0, max_tokens=context.options.max_tokens)
    replies: dict[str, list[Generation]] = {"ours": [], "raw": []}

    def ours_side() -> dict[str, float]:
        reply = ours.chat(info.id, messages, sampling)
        replies["ours"].append(reply)
        return reply.sample()

    def raw_side() -> dict[str, float]:
        reply = context.raw_thread.call(raw.generate, messages, sampling)
        replies["raw"].append(reply)
        return reply.sample()

    paired = alternate(ours_side, raw_side, context.options.decode_rounds)
    return paired, same_reply_note(replies["ours"], replies["raw"], "pool")


def run(context: BenchContext) -> list[Metric]:
    info = context.text_model()
    raw = context.raw_text()
    ours = context.ours()
    ours.load(info)
    context.say(f"decoding {context.options.max_tokens} tokens, pool and raw in turn…")
    paired, note = pool_and_raw(context, ours, raw, info)
    metrics = decode_metrics(paired, "pool", POOL_GOALS, note)
    return metrics + bandwidth_metrics(paired, info.estimated_bytes, "pool")
