"""A small picture of an image, drawn in the terminal: for attachments and for user turns.

Rendering is textual-image's. It decides at import how this terminal can show pixels
(Sixel, the Kitty graphics protocol, or coloured half-blocks) by asking the terminal — which
only works before Textual owns the terminal, so this module imports it at the top and the
app's modules import this one before the app runs. That question needs both ends of a
terminal: with stdout on a terminal but stdin not (``mlxbench bench < /dev/null``), the
library's import raises ``termios.error``. So it is imported with a stand-in stdout that is
no terminal unless stdin and stdout both are: then it asks nothing, and half-blocks are used.
Under a headless driver (``run_test``) half-blocks are used too: every test run draws the
same cells, whatever terminal pytest happens to run in.

The thumbnail's size in cells is fixed here from the image's aspect ratio (a cell is about
twice as tall as wide), so layout never depends on the terminal's pixel size either. The
picture handed to the renderer is a small copy: half-blocks re-scale it on every render.
Making that copy is a resize of up to 2048 px, so it never runs on the UI thread: whoever
prepares an image makes its thumbnail on their worker and passes it in; an image given
without one, or by path (stored session images), is shrunk — or read — on a thread worker
here, and until then the preview says "loading…".
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from types import ModuleType

from PIL import Image as PILImage
from textual.app import App, ComposeResult
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from workbench.core.errors import WorkbenchError
from workbench.core.images.prepare import load_image_file

THUMBNAIL_PIXELS = 192  # longest side of the copy handed to the renderer
CELL_ASPECT = 2.0  # a terminal cell is about twice as tall as it is wide


def _on_a_terminal() -> bool:
    streams = (sys.__stdin__, sys.__stdout__)
    try:
        return all(stream is not None and stream.isatty() for stream in streams)
    except ValueError:  # a closed stream
        return False


def _import_textual_image() -> tuple[ModuleType, bool]:
    """textual-image's widgets, and whether it was allowed to ask the terminal."""
    detect = _on_a_terminal()
    saved = sys.__stdout__
    if not detect:
        sys.__stdout__ = io.StringIO()  # not a terminal: the import asks nothing
    try:
        from textual_image import widget
    finally:
        sys.__stdout__ = saved
    return widget, detect


_widgets, _DETECTED = _import_textual_image()


def image_widget_class(app: App) -> type[Widget]:
    """textual-image's pick for this terminal; half-blocks when headless or not asked."""
    if app.is_headless or not _DETECTED:
        return _widgets.HalfcellImage
    return _widgets.Image


def thumbnail_cells(size: tuple[int, int], max_cols: int, max_rows: int) -> tuple[int, int]:
    """The (columns, rows) that show an image of ``size`` pixels undistorted within a box."""
    width, height = max(size[0], 1), max(size[1], 1)
    ratio = width / height
    cols = max_cols
    rows = round(cols / ratio / CELL_ASPECT)
    if rows > max_rows:
        rows = max_rows
        cols = round(rows * CELL_ASPECT * ratio)
    return max(1, min(cols, max_cols)), max(1, min(rows, max_rows))


def make_thumbnail(image: PILImage.Image) -> PILImage.Image:
    """A small RGB copy of ``image`` (the original is left untouched)."""
    small = image.convert("RGB") if image.mode != "RGB" else image.copy()
    small.thumbnail((THUMBNAIL_PIXELS, THUMBNAIL_PIXELS), PILImage.Resampling.LANCZOS)
    return small


def load_thumbnail(path: str | Path) -> tuple[PILImage.Image, tuple[int, int]]:
    """A stored image's thumbnail and its full size in pixels (``WorkbenchError`` if unusable)."""
    image = load_image_file(path)
    return make_thumbnail(image), image.size


class ImagePreview(Widget):
    """A thumbnail of a picture in memory, or of an image file read in the background."""

    DEFAULT_CSS = """
    ImagePreview { width: auto; height: auto; }
    ImagePreview > .note { width: auto; color: $text-muted; text-style: italic; }
    ImagePreview > .caption { width: auto; color: $text-muted; }
    """

    class Loaded(Message):
        """A file's thumbnail is ready (posted from the loading thread)."""

        def __init__(self, image: PILImage.Image, size: tuple[int, int]) -> None:
            super().__init__()
            self.image = image
            self.size = size

    class Failed(Message):
        """A file could not be shown (posted from the loading thread)."""

        def __init__(self, reason: str) -> None:
            super().__init__()
            self.reason = reason

    def __init__(
        self,
        image: PILImage.Image | None = None,
        *,
        thumbnail: PILImage.Image | None = None,
        path: str | Path | None = None,
        max_cols: int = 16,
        max_rows: int = 8,
        caption: bool = False,
        classes: str | None = None,
    ) -> None:
        """Show ``thumbnail`` (made by ``make_thumbnail`` from ``image``) at once; given only
        ``image``, or the file at ``path``, make the thumbnail on a thread worker.

        With ``caption``, a line under the picture gives its size in pixels ("800×600").
        """
        super().__init__(classes=classes)
        self.caption = caption
        self.path = Path(path) if path is not None else None
        self.max_cols, self.max_rows = max_cols, max_rows
        self.image = image if thumbnail is None else None  # still to be shrunk
        self.thumbnail = thumbnail
        full = image if image is not None else thumbnail
        self.pixel_size: tuple[int, int] | None = full.size if full is not None else None
        self.problem: str | None = None

    def compose(self) -> ComposeResult:
        if self.thumbnail is not None:
            yield from self._picture(self.thumbnail)
        else:
            yield Static("loading…", classes="note")

    def _picture(self, image: PILImage.Image) -> list[Widget]:
        widgets = [self._image_widget(image)]
        if self.caption and self.pixel_size is not None:
            widgets.append(Static(_dims(self.pixel_size), classes="caption"))
        return widgets

    def on_mount(self) -> None:
        if self.thumbnail is None and (self.image is not None or self.path is not None):
            self.run_worker(self._load, thread=True, exit_on_error=False, name="thumbnail")

    def _load(self) -> None:
        """On the worker thread: shrink the image or read the file, report back by message."""
        try:
            if self.image is not None:
                image, size = make_thumbnail(self.image), self.image.size
            else:
                assert self.path is not None
                image, size = load_thumbnail(self.path)
        except WorkbenchError as exc:
            self.post_message(self.Failed(str(exc)))
        else:
            self.post_message(self.Loaded(image, size))

    def _image_widget(self, image: PILImage.Image) -> Widget:
        cols, rows = thumbnail_cells(image.size, self.max_cols, self.max_rows)
        widget = image_widget_class(self.app)(image, classes="picture")
        widget.styles.width = cols
        widget.styles.height = rows
        return widget

    async def on_image_preview_loaded(self, message: Loaded) -> None:
        message.stop()
        self.thumbnail, self.pixel_size, self.image = message.image, message.size, None
        await self.remove_children()
        await self.mount_all(self._picture(message.image))

    async def on_image_preview_failed(self, message: Failed) -> None:
        message.stop()
        self.problem = message.reason
        self.tooltip = message.reason
        await self.remove_children()
        name = self.path.name if self.path is not None else "image"
        await self.mount(Static(f"{_short(name)}: unavailable", classes="note"))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A bug while loading (not a bad file) still ends as "unavailable", not a crash."""
        event.stop()
        if event.state is WorkerState.ERROR:
            self.post_message(self.Failed(f"cannot show {self.path}: {event.worker.error}"))


def _dims(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"


def _short(name: str, limit: int = 24) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"
