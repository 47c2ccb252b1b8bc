"""Llama family: Llama 3 ends turns with ``<|eot_id|>`` and documents with ``<|end_of_text|>``.

Llama-architecture fine-tunes (SmolLM2, TinyLlama...) often use other templates; their
markers are picked up from the template itself by the base adapter.
"""

from workbench.core.adapters.base import ChatAdapter
from workbench.core.types import Family

ADAPTER = ChatAdapter(Family.LLAMA, stop_tokens=("<|eot_id|>", "<|end_of_text|>", "<|eom_id|>"))
