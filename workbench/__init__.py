"""mlxbench: a terminal workbench over a memory-honest pool of local MLX models.

The package has two layers: ``workbench.core`` (models, pool, runner; never imports
Textual) and ``workbench.tui`` (the Textual app; never imports MLX). ``workbench.cli``
joins them.
"""

__version__ = "0.1.0"
