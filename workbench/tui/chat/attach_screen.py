"""Choose an image to attach: type a path, URL or data URI, or pick a file from a tree.

The dialog only chooses; it reads nothing. The chat pane prepares what was chosen on a
thread worker (a URL may take seconds) and reports a bad choice in one line, so the dialog
can close at once. The file tree lists folders and image files only; typing a folder's
path and pressing Enter opens that folder in the tree, Backspace in the tree goes up one.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DirectoryTree, Input, Label

from workbench.tui.chat.attachments import has_image_suffix


class ImageTree(DirectoryTree):
    """A directory tree that lists folders and image files, hidden entries left out."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("backspace", "parent_folder", "Up a folder"),
    ]

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if not p.name.startswith(".") and _listable(p)]

    def action_parent_folder(self) -> None:
        current = Path(self.path).resolve()
        if current.parent != current:
            self.path = current.parent


def _listable(path: Path) -> bool:
    try:
        return path.is_dir() or (has_image_suffix(path) and path.is_file())
    except OSError:
        return False


class AttachScreen(ModalScreen[str | None]):
    """Dismisses with the chosen source (path, URL or data URI), or None on Esc."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    AttachScreen { align: center middle; }
    AttachScreen > Vertical {
        width: 90%;
        max-width: 100;
        height: 80%;
        border: round $primary;
        background: $surface;
        padding: 1 2;
    }
    AttachScreen ImageTree { height: 1fr; margin-top: 1; border: round $secondary 50%; }
    AttachScreen ImageTree:focus { border: round $secondary; }
    AttachScreen .hint { color: $text-muted; width: 100%; }
    """

    def __init__(self, folder: Path | None = None) -> None:
        """``folder`` is where the tree starts (the current folder by default)."""
        super().__init__()
        self.folder = _usable_folder(folder)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Attach an image")
            yield Input(placeholder="path, http(s) URL or data:image/… URI", id="attach-source")
            yield ImageTree(self.folder, id="attach-tree")
            yield Label(
                "Enter attaches (a folder opens in the list) · Tab: file list, where Enter "
                "picks and Backspace goes up · Esc cancels",
                classes="hint",
            )

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        text = event.value.strip()
        if not text:
            self.query_one(ImageTree).focus()
            return
        folder = _as_folder(text)
        if folder is not None:
            self.query_one(ImageTree).path = folder
            event.input.value = ""
            return
        self.dismiss(text)

    def on_directory_tree_file_selected(self, event: DirectoryTree.FileSelected) -> None:
        event.stop()
        self.dismiss(str(event.path))

    def action_cancel(self) -> None:
        self.dismiss(None)


def _as_folder(text: str) -> Path | None:
    """``text`` as an existing folder, if it is one (URLs and data URIs never are)."""
    if "://" in text or text[:5].lower() == "data:" or len(text) > 4096:
        return None
    try:
        path = Path(text).expanduser()
        return path if path.is_dir() else None
    except (OSError, ValueError):
        return None


def _usable_folder(folder: Path | None) -> Path:
    """``folder`` if it exists, else the current folder, else home, else the root."""
    for candidate in (lambda: folder, Path.cwd, Path.home):
        try:
            path = candidate()
            if path is not None and path.is_dir():
                return path
        except (OSError, RuntimeError):
            continue
    return Path("/")
