"""A sampler that owns its random state, so a seeded reply is the same alone or batched.

mlx-lm's ``make_sampler`` draws from MLX's global random state. Seeding that state works for
one generation at a time, but in a batch every row's sampler draws from the one shared state
in an order that depends on its neighbours, so the same seed would give another reply. This
sampler keeps its own PRNG key and splits it once per token: the reply depends on the seed
and the model alone. Both the single-request path and the batch use it for seeded requests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def seeded_sampler(temperature: float, top_p: float, seed: int) -> Callable[[Any], Any]:
    """Sample one token per row of ``logprobs`` at ``temperature`` (top-p when 0 < p < 1)."""
    import mlx.core as mx
    from mlx_lm.sample_utils import apply_top_p

    state = {"key": mx.random.key(seed)}
    scale = 1 / temperature

    def sample(logprobs: Any) -> Any:
        if 0 < top_p < 1:
            logprobs = apply_top_p(logprobs, top_p)
        state["key"], sub = mx.random.split(state["key"])
        return mx.random.categorical(logprobs * scale, key=sub)

    return sample
