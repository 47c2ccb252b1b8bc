"""Gemma family: turns end with ``<end_of_turn>`` and there is no system role.

Gemma 1/2 templates raise on a system message and Gemma 3's folds it into the first user
turn itself, so the adapter always folds: the same prompt either way.
"""

from workbench.core.adapters.base import ChatAdapter
from workbench.core.types import Family

ADAPTER = ChatAdapter(Family.GEMMA, stop_tokens=("<end_of_turn>", "<eos>"), system_role=False)
