"""The compare view: one prompt, two models, their replies and costs side by side."""

from workbench.tui.compare.screen import CompareScreen

__all__ = ["CompareScreen"]
