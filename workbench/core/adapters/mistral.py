"""Mistral family: replies end with ``</s>``.

The v1/v2 instruct templates reject a system role (they demand strict user/assistant
alternation); the base adapter notices the rejection and folds the system message into the
first user turn. Newer templates that accept a system message are used as they are.
"""

from workbench.core.adapters.base import ChatAdapter
from workbench.core.types import Family

ADAPTER = ChatAdapter(Family.MISTRAL, stop_tokens=("</s>",))
