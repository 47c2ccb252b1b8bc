"""Colour scales for similarity values, shared by the heatmap and its legend.

Two scales, both ordered so that "more similar" always reads as "more colour":

- *diverging* over the full cosine range [-1, 1]: blue for opposite, a neutral close to the
  widget's own background for unrelated, warm red for similar. Fixed bounds make colours
  comparable between computations.
- *sequential* (a viridis-like ramp) over the observed range, to pull apart values that
  sit close together (typical sentence embeddings all land between 0 and 0.7).

Text on a cell is black or white, whichever contrasts with the cell's colour.
"""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[int, int, int]

NEGATIVE: RGB = (58, 110, 214)
POSITIVE: RGB = (214, 69, 58)
VIRIDIS: tuple[RGB, ...] = (
    (68, 1, 84),
    (59, 82, 139),
    (33, 145, 140),
    (94, 201, 98),
    (253, 231, 37),
)
_MIN_SPAN = 1e-6


def blend(a: RGB, b: RGB, t: float) -> RGB:
    """Linear mix of two colours: ``t == 0`` gives ``a``, ``t == 1`` gives ``b``."""
    t = min(1.0, max(0.0, t))
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def to_hex(colour: RGB) -> str:
    """``(255, 0, 16)`` → ``"#ff0010"``."""
    return "#{:02x}{:02x}{:02x}".format(*colour)


def luminance(colour: RGB) -> float:
    """Relative luminance (WCAG) from 0 (black) to 1 (white)."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in colour)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def text_colour(background: RGB) -> RGB:
    """Black or white, whichever is easier to read on ``background``."""
    return (0, 0, 0) if luminance(background) > 0.179 else (255, 255, 255)


@dataclass(frozen=True)
class ColourScale:
    """Maps a value in ``[low, high]`` to a colour along evenly spaced ``stops``."""

    kind: str  # "diverging" | "sequential"
    low: float
    high: float
    stops: tuple[RGB, ...]

    def colour(self, value: float) -> RGB:
        """The colour for ``value`` (clamped to the scale's bounds)."""
        span = max(self.high - self.low, _MIN_SPAN)
        t = min(1.0, max(0.0, (value - self.low) / span))
        segments = len(self.stops) - 1
        position = t * segments
        index = min(int(position), segments - 1)
        return blend(self.stops[index], self.stops[index + 1], position - index)

    def ticks(self, count: int) -> list[float]:
        """``count`` evenly spaced values from ``low`` to ``high`` (both included)."""
        if count < 2:
            return [self.low]
        step = (self.high - self.low) / (count - 1)
        return [self.low + step * i for i in range(count)]


def diverging(neutral: RGB) -> ColourScale:
    """Blue → ``neutral`` → red over [-1, 1]."""
    return ColourScale("diverging", -1.0, 1.0, (NEGATIVE, neutral, POSITIVE))


def sequential(low: float, high: float) -> ColourScale:
    """Viridis-like over ``[low, high]``; a zero-width range is widened so it still draws."""
    if high - low < _MIN_SPAN:
        low, high = low - 0.005, high + 0.005
    return ColourScale("sequential", low, high, VIRIDIS)
