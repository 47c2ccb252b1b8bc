"""Chat adapters: one per model family, chosen by ``adapter_for``.

An adapter knows how a family is prompted (chat template, system-role quirks, fallback
template) and how its replies end (stop token ids). See ``base.ChatAdapter``.
"""

from __future__ import annotations

from workbench.core.adapters import default, gemma, llama, mistral, qwen
from workbench.core.adapters.base import ChatAdapter, ChatTokenizer
from workbench.core.types import Family

_BY_FAMILY = {
    Family.LLAMA: llama.ADAPTER,
    Family.QWEN: qwen.ADAPTER,
    Family.MISTRAL: mistral.ADAPTER,
    Family.GEMMA: gemma.ADAPTER,
}

__all__ = ["ChatAdapter", "ChatTokenizer", "adapter_for"]


def adapter_for(family: Family) -> ChatAdapter:
    """The adapter for ``family``; the default adapter for families without quirks."""
    return _BY_FAMILY.get(family, default.ADAPTER)
