"""Qwen family: ChatML turns ending in ``<|im_end|>``; ``<|endoftext|>`` ends documents."""

from workbench.core.adapters.base import ChatAdapter
from workbench.core.types import Family

ADAPTER = ChatAdapter(Family.QWEN, stop_tokens=("<|im_end|>", "<|endoftext|>"))
