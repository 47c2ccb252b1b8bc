"""A question given back to the editor: plain data shared by the chat's widgets and rules.

Kept apart from ``chat.controller`` so the chat pane (a widget) can take a draft without
importing the controller: widgets never import controllers or screens.
"""

from __future__ import annotations

from dataclasses import dataclass

from workbench.core.images.prepare import PreparedImage


@dataclass(frozen=True)
class Draft:
    """A question given back to the editor: its text and its attached images."""

    text: str
    images: tuple[PreparedImage, ...] = ()
