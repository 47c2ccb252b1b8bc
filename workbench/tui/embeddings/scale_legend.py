"""The legend under the heatmap: the colour scale drawn as labelled swatches.

Each swatch shows the value it stands for on its own colour, so reading the legend is the
same as reading a cell. It draws whatever scale the heatmap reports (``Heatmap.ScaleChanged``).
"""

from __future__ import annotations

from rich.color import Color as RichColor
from rich.style import Style
from rich.text import Text
from textual.widget import Widget

from workbench.tui.embeddings.colour_scale import ColourScale, text_colour

SWATCHES = 9
SWATCH_WIDTH = 6


class ScaleLegend(Widget):
    """One line: a caption, then ``SWATCHES`` coloured, labelled values from low to high."""

    DEFAULT_CSS = """
    ScaleLegend {
        height: 1;
        width: 1fr;
        color: $text-muted;
    }
    """

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._scale: ColourScale | None = None

    @property
    def scale(self) -> ColourScale | None:
        """The scale on show (``None`` draws nothing)."""
        return self._scale

    @scale.setter
    def scale(self, scale: ColourScale | None) -> None:
        self._scale = scale
        self.refresh()

    def render(self) -> Text:
        """Caption plus swatches, e.g. ``scale -1.00 -0.75 … +1.00  s: stretch``."""
        scale = self._scale
        if scale is None:
            return Text("")
        stretched = scale.kind == "sequential"
        caption = "stretched " if stretched else "scale "
        text = Text(caption)
        for value in scale.ticks(SWATCHES):
            background = scale.colour(value)
            style = Style(
                color=RichColor.from_rgb(*text_colour(background)),
                bgcolor=RichColor.from_rgb(*background),
            )
            text.append(f"{round(value, 2) + 0.0:^+{SWATCH_WIDTH}.2f}", style)
        text.append("  s: fixed −1…1" if stretched else "  s: stretch")
        return text
