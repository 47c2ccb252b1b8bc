"""Deterministic inputs for the benchmarks: sentences to embed, prompts, chat turns.

Generated, not downloaded (no network here), and seeded so that every run and both sides
of a comparison see exactly the same text. Sentence lengths vary (4 to 30 words) like real
input does, since padding within a batch is part of what embedding speed depends on.
"""

from __future__ import annotations

import random

from workbench.core.types import ChatMessage

_SUBJECTS = (
    "The old lighthouse keeper", "A small grey cat", "Our new neighbour", "The river",
    "Every morning train", "The research team", "A quiet library", "The mountain village",
    "My grandmother", "The city council", "A curious child", "The fishing boat",
)  # fmt: skip
_VERBS = (
    "watched", "repaired", "described", "carried", "painted", "forgot", "discovered",
    "measured", "followed", "celebrated", "questioned", "remembered",
)  # fmt: skip
_OBJECTS = (
    "the stormy sea", "a broken bicycle", "the autumn harvest", "an ancient map",
    "the evening news", "a jar of honey", "the election results", "a wooden bridge",
    "the last chapter", "a field of sunflowers", "the museum's new exhibit", "a lost letter",
)  # fmt: skip
_TAILS = (
    "before the sun rose", "with great patience", "while everyone else slept",
    "for the third time this year", "without saying a word", "in the pouring rain",
    "as the bells rang across the valley", "long after the guests had gone home",
)  # fmt: skip

DECODE_PROMPT = "Write a long story about a lighthouse keeper and a storm."
CHAT_TURNS = (
    "Name a fruit.", "Name a colour.", "Name an animal.", "Name a city.", "Name a tree.",
    "Name a metal.", "Name a planet.", "Name a river.", "Name a sport.", "Name a tool.",
    "Name a flower.", "Name a month.",
)  # fmt: skip


def sentences(count: int, seed: int = 7) -> list[str]:
    """``count`` different English sentences of 4 to 30 words, the same for a given seed."""
    rng = random.Random(seed)
    result = []
    for index in range(count):
        words = [rng.choice(_SUBJECTS), rng.choice(_VERBS), rng.choice(_OBJECTS)]
        for _ in range(rng.randint(0, 3)):
            words.append(rng.choice(_TAILS))
        if rng.random() < 0.3:
            words = [*words[:1], rng.choice(_VERBS)]
        result.append(f"{' '.join(words)} (note {index}).")
    return result


def decode_messages() -> tuple[ChatMessage, ...]:
    """The chat whose reply the decode comparisons generate (long replies, stable prompt)."""
    return (ChatMessage("user", DECODE_PROMPT),)


def chat_turn(number: int) -> ChatMessage:
    """The user's message for turn ``number`` (1-based) of the multi-turn chat."""
    return ChatMessage("user", CHAT_TURNS[(number - 1) % len(CHAT_TURNS)])
