"""One layout per change: skip Textual's second, identical layout pass.

When Textual lays the screen out, it hands each widget its new size through
``Widget._size_updated``, which sets the widget's ``virtual_size`` reactive; that reactive
asks for a layout (it must for a scrolling widget, whose scrollbars depend on it). So every
layout that changed the content size of any widget — a streamed reply's new text, a sent
question — was followed by a second full layout of the screen that drew the same picture.
On a fast GPU that second pass is 10–17 ms of the UI thread per drawn change, holding the
GIL the generating thread needs for each token.

A widget whose overflow is hidden on both axes never shows a scrollbar, so its virtual size
changes nothing the layout just computed. Nor does it for a scrolling container whose own
size stayed the same (a transcript that grew by a turn): there the new virtual size only
decides whether a scrollbar shows, and when that changes Textual asks for a layout itself
(``_refresh_scrollbars`` sets reactives that do). For those widgets the new size is stored
without asking for another layout (Textual's own ``layout=False`` path, the one its partial
reflow takes); every other widget keeps Textual's behaviour. Textual is pinned below 9; the
tests in ``tests/tui/test_layout_once.py`` fail if the method this relies on changes.
"""

from __future__ import annotations

from functools import wraps

from textual.geometry import Size
from textual.widget import Widget

_original = Widget._size_updated


def never_scrolls(widget: Widget) -> bool:
    """Whether ``widget`` can never show a scrollbar (its overflow is hidden both ways)."""
    styles = widget.styles
    return styles.overflow_x == "hidden" and styles.overflow_y == "hidden"


def settled_by_this_layout(widget: Widget, size: Size, container_size: Size) -> bool:
    """Whether the layout giving ``widget`` these sizes needs no second pass for its sake."""
    if never_scrolls(widget):
        return True
    same_box = size == widget.outer_size and container_size == widget.container_size
    return widget.is_scrollable and same_box  # its scrollbars ask for a layout if they change


@wraps(_original)
def _size_updated(
    self: Widget, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
) -> bool:
    layout = layout and not settled_by_this_layout(self, size, container_size)
    return _original(self, size, virtual_size, container_size, layout)


def install() -> None:
    """Lay out once per change from now on, in this process (idempotent)."""
    Widget._size_updated = _size_updated  # type: ignore[method-assign]
