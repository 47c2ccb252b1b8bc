"""Group "cache": does turn N of a chat start as fast as turn 1, thanks to the prompt cache?

One chat of N short turns runs through the runner with a session id, so the engine reuses
the previous turn's key/value cache and processes only the new tokens; its time to first
token at turn N is compared with turn 1 (goal: at most 1.3×). For contrast, the same turn-N
conversation is sent without a session id, which re-processes the whole history.
"""

from __future__ import annotations

import uuid

from workbench.bench.context import BenchContext
from workbench.bench.harness import Goal, Metric, median
from workbench.bench.raw import Generation
from workbench.bench.texts import chat_turn
from workbench.core.types import ChatMessage, SamplingSettings

CACHE_GOAL = Goal("<=", 1.3)


def chat(context: BenchContext, model_id: str, turns: int) -> list[tuple[tuple, Generation]]:
    """One cached conversation: ``(messages sent, reply)`` for each turn."""
    ours = context.ours()
    sampling = SamplingSettings(temperature=0.0, max_tokens=context.options.turn_tokens)
    session = f"bench-{uuid.uuid4().hex[:8]}"
    history: list[ChatMessage] = []
    log = []
    for number in range(1, turns + 1):
        history.append(chat_turn(number))
        sent = tuple(history)
        reply = ours.chat(model_id, sent, sampling, session_id=session)
        log.append((sent, reply))
        history.append(ChatMessage("assistant", reply.text))
    return log


def run(context: BenchContext) -> list[Metric]:
    options = context.options
    info = context.text_model()
    ours = context.ours()
    ours.load(info)
    turns = options.chat_turns
    first, last, full, reused = [], [], [], []
    full_sampling = SamplingSettings(temperature=0.0, max_tokens=2)  # only the first token counts
    for round_number in range(options.rounds):
        context.say(f"chat of {turns} turns with its prompt cache (round {round_number + 1})…")
        log = chat(context, info.id, turns)
        first.append(log[0][1].first_text_s)
        last.append(log[-1][1].first_text_s)
        reused.append(log[-1][1].cached_prompt_tokens)
        if round_number < max(1, options.rounds - 1):  # the full-history side is slow: fewer
            context.say(f"turn {turns} again, re-processing the whole history…")
            full.append(ours.chat(info.id, log[-1][0], full_sampling).first_text_s)
    prompt = log[-1][1].prompt_tokens
    return [
        Metric(f"TTFT turn {turns} / turn 1, cached", "s", median(last), median(first),
               f"turn {turns}", "turn 1", tuple(last), tuple(first), goal=CACHE_GOAL,
               note=f"turn {turns}: {prompt} prompt tokens, {int(median(reused) or 0)} "
               "reused from the session's cache"),
        Metric(f"TTFT turn {turns} / turn 1, full history", "s", median(full), median(first),
               f"turn {turns}", "turn 1", tuple(full), tuple(first)),
        Metric(f"TTFT turn {turns}: cached vs full history", "s", median(last), median(full),
               "cached", "full", tuple(last), tuple(full)),
    ]  # fmt: skip
