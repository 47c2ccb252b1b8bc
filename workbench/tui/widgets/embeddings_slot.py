"""What fills the Embeddings tab: the explorer when it is installed, else a placeholder.

The explorer lives in its own module; until it is present the tab explains itself instead
of failing, so the rest of the workbench does not depend on it.
"""

from __future__ import annotations

import importlib
import importlib.util

from textual.widget import Widget
from textual.widgets import Static

from workbench.core.types import ModelInfo

EXPLORER_MODULE = "workbench.tui.widgets.embed_explorer"


def embeddings_widget(models: list[ModelInfo]) -> Widget:
    """An ``EmbeddingsPane(models)``, or a placeholder saying why there is none."""
    if importlib.util.find_spec(EXPLORER_MODULE) is None:
        return Static("The embeddings explorer is not available in this build.")
    return importlib.import_module(EXPLORER_MODULE).EmbeddingsPane(models)
