"""Every other family: the tokenizer's EOS plus whatever end marker its template uses."""

from workbench.core.adapters.base import ChatAdapter
from workbench.core.types import Family

ADAPTER = ChatAdapter(Family.OTHER)
