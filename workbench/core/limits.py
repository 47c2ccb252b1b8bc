"""Checks that refuse work before it starts: sampling values and the model's context length.

A ``--temperature nan`` gives garbage, a negative seed fails deep inside MLX after the model
has loaded, and a prompt longer than the model's context runs for minutes before producing
nonsense. Each is caught here, with the numbers, before anything is loaded or processed:
the CLI and the app's settings screen call ``check_sampling`` on what the user typed, and
the engines call it again (and ``check_prompt_length``) on every request.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from workbench.core.errors import InputError
from workbench.core.types import SamplingSettings

SEED_MAX = 2**32 - 1
MAX_TOKENS_MAX = 1_000_000
TEMPERATURE_MAX = 100.0

# Config keys that state how many positions a model was trained for, best first.
CONTEXT_KEYS = (
    "max_position_embeddings",
    "max_sequence_length",
    "seq_length",
    "n_positions",
    "n_ctx",
    "max_seq_len",
    "model_max_length",
    "sliding_window_size",
)


def check_sampling(sampling: SamplingSettings) -> None:
    """``InputError`` naming the first value that makes no sense (NaN, infinite, negative,
    out of range); nothing is loaded before this passes."""
    temperature, top_p = sampling.temperature, sampling.top_p
    if not isinstance(temperature, int | float) or not math.isfinite(temperature):
        raise InputError(f"temperature must be a finite number (got {temperature})")
    if not 0 <= temperature <= TEMPERATURE_MAX:
        raise InputError(f"temperature must be 0 or more, at most 100 (got {temperature})")
    if not isinstance(top_p, int | float) or not math.isfinite(top_p) or not 0 < top_p <= 1:
        raise InputError(f"top_p must be in (0, 1] (got {top_p})")
    tokens = sampling.max_tokens
    if isinstance(tokens, bool) or not isinstance(tokens, int) or tokens < 1:
        raise InputError(f"max_tokens must be at least 1 (got {tokens})")
    if tokens > MAX_TOKENS_MAX:
        raise InputError(f"max_tokens must be at most {MAX_TOKENS_MAX:,} (got {tokens:,})")
    seed = sampling.seed
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise InputError(f"seed must be a whole number (got {seed!r})")
    if seed is not None and not 0 <= seed <= SEED_MAX:
        raise InputError(f"seed must be between 0 and {SEED_MAX} (got {seed})")


def context_length(config: Mapping[str, object] | None) -> int | None:
    """Positions the model handles, from its ``config.json`` (the text part of a vision
    model's); None when the config does not say."""
    if not isinstance(config, Mapping):
        return None
    text = config.get("text_config")
    for table in (text, config) if isinstance(text, Mapping) else (config,):
        for key in CONTEXT_KEYS:
            value = table.get(key)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
    return None


def check_prompt_length(prompt_tokens: int, context: int | None, model_name: str) -> None:
    """``InputError`` with both numbers when the prompt leaves no room for a reply."""
    if context is None or prompt_tokens < context:
        return
    raise InputError(
        f"the prompt is {prompt_tokens:,} tokens (system prompt, history and new message), "
        f"but {model_name} handles {context:,}: shorten it or start a new session"
    )
