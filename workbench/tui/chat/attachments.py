"""The images waiting to go with the next message, shown above the editor.

Each attachment is a card: a thumbnail, what will be sent ("4032×3024 → 2048×1536"), where
it came from, and a ✕ button. A focused card is removed with Delete or Backspace too. While
an image is still being read and prepared (a URL may take seconds) its card says so; the
chat pane replaces it with the finished card, or drops it when preparation fails. The strip
hides itself when it holds nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar
from urllib.parse import unquote, urlsplit

from PIL.Image import Image
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, HorizontalScroll, Vertical
from textual.message import Message
from textual.widgets import Button, Static

from workbench.core.images.prepare import PreparedImage
from workbench.tui.chat.image_preview import ImagePreview

SOURCE_MAX = 30
THUMB_COLS, THUMB_ROWS = 12, 5
# What the file picker lists and a pasted path may end with (the formats the image
# pipeline decodes; anything else named like an image still gets its clear error).
IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".jpe", ".gif", ".webp", ".bmp", ".tif", ".tiff", ".ico"}
    | {".avif", ".mpo"}
)


def has_image_suffix(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def pasted_image_sources(text: str) -> list[str]:
    """The images a paste stands for, or ``[]`` when it is just text to insert.

    A ``data:image/…`` URI is always an image (nobody wants kilobytes of base64 in a
    prompt). Otherwise every non-empty line must name an existing image file — a path as a
    terminal pastes a dragged file: maybe quoted, maybe ``file://``, maybe with ``\\ ``
    escaping spaces. URLs stay text (a link in a question is usually meant as text).
    """
    stripped = text.strip()
    if stripped[:11].lower() == "data:image/":
        return [stripped]
    lines = [line.strip() for line in stripped.splitlines() if line.strip()]
    if not lines or len(lines) > 20:
        return []
    paths = [_pasted_path(line) for line in lines]
    if all(p is not None for p in paths):
        return [str(p) for p in paths if p is not None]
    return []


def _pasted_path(line: str) -> Path | None:
    if len(line) >= 2 and line[0] == line[-1] and line[0] in "'\"":
        line = line[1:-1]
    if line[:7].lower() == "file://":
        line = unquote(urlsplit(line).path)
    if len(line) > 4096 or "\0" in line:
        return None
    for candidate in dict.fromkeys((line, line.replace("\\ ", " "))):
        path = Path(candidate).expanduser()
        try:
            if has_image_suffix(path) and path.is_file():
                return path
        except OSError:
            continue
    return None


def short_source(source: str, limit: int = SOURCE_MAX) -> str:
    """A source for a narrow card: data URIs summarised, long paths and URLs cut in front."""
    text = " ".join(source.split())
    if text[:5].lower() == "data:":
        return "pasted data URI"
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]


class AttachmentCard(Horizontal, can_focus=True):
    """One prepared image: thumbnail, size line, source, and a remove button."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("delete,backspace", "remove_attachment", "Remove image"),
    ]

    DEFAULT_CSS = """
    AttachmentCard {
        width: auto;
        height: auto;
        margin-right: 1;
        padding: 0 1;
        border: round $secondary 40%;
    }
    AttachmentCard:focus { border: round $secondary; background: $boost; }
    AttachmentCard > .details { width: 32; height: auto; padding-left: 1; }
    AttachmentCard .details > Static { text-wrap: nowrap; text-overflow: ellipsis; }
    AttachmentCard .size { text-style: bold; }
    AttachmentCard .source { color: $text-muted; }
    AttachmentCard Button { min-width: 5; }
    """

    class RemoveRequested(Message):
        """The user asked to take this image off the message."""

        def __init__(self, card: AttachmentCard) -> None:
            super().__init__()
            self.card = card

        @property
        def control(self) -> AttachmentCard:
            return self.card

    def __init__(self, prepared: PreparedImage, thumbnail: Image | None = None) -> None:
        """``thumbnail``: made off the UI thread with the image; without it, made by a worker."""
        super().__init__()
        self.prepared = prepared
        self.thumbnail = thumbnail
        self.tooltip = prepared.source

    def compose(self) -> ComposeResult:
        yield ImagePreview(
            self.prepared.image,
            thumbnail=self.thumbnail,
            max_cols=THUMB_COLS,
            max_rows=THUMB_ROWS,
        )
        with Vertical(classes="details"):
            yield Static(self.prepared.size_line(), classes="size")
            yield Static(short_source(self.prepared.source), classes="source")
            yield Button("✕ remove", compact=True, classes="remove")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_remove_attachment()

    def action_remove_attachment(self) -> None:
        self.post_message(self.RemoveRequested(self))


class PendingCard(Static):
    """An image still being read and prepared."""

    DEFAULT_CSS = """
    PendingCard {
        width: auto;
        height: auto;
        margin-right: 1;
        padding: 0 1;
        border: round $secondary 40%;
        color: $text-muted;
        text-style: italic;
    }
    """

    def __init__(self, token: int, source: str) -> None:
        super().__init__(f"preparing {short_source(source)}…")
        self.token = token


class AttachmentStrip(HorizontalScroll):
    """The attachments of the message being written, in the order they were added."""

    DEFAULT_CSS = """
    AttachmentStrip {
        height: auto;
        max-height: 9;
        padding: 0 1;
        scrollbar-size-horizontal: 1;
    }
    AttachmentStrip.-empty { display: none; }
    """

    class Emptied(Message):
        """The last card was removed while focused (focus should go back to the editor)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, classes="-empty")

    @property
    def attachments(self) -> tuple[PreparedImage, ...]:
        """The prepared images, in order (cards still preparing are not included)."""
        return tuple(card.prepared for card in self.query_children(AttachmentCard))

    @property
    def preparing(self) -> int:
        """How many images are still being prepared."""
        return len(self.query_children(PendingCard))

    def add_pending(self, token: int, source: str) -> None:
        """Show that ``source`` is being prepared (``resolve`` or ``drop_pending`` ends it)."""
        self.mount(PendingCard(token, source))
        self._update()

    async def resolve(
        self, token: int, prepared: PreparedImage, thumbnail: Image | None = None
    ) -> bool:
        """Replace the pending card with the image; False if the same image is already here."""
        pending = self._pending(token)
        duplicate = prepared.sha256 in {p.sha256 for p in self.attachments}
        if not duplicate:
            card = AttachmentCard(prepared, thumbnail)
            if pending is not None:
                await self.mount(card, before=pending)
            else:
                await self.mount(card)
        if pending is not None:
            await pending.remove()
        self._update()
        return not duplicate

    async def drop_pending(self, token: int) -> None:
        pending = self._pending(token)
        if pending is not None:
            await pending.remove()
        self._update()

    def restore(self, images: tuple[PreparedImage, ...]) -> None:
        """Put back images of a message that was not sent (first, without duplicates)."""
        present = {p.sha256 for p in self.attachments}
        cards = [AttachmentCard(p) for p in images if p.sha256 not in present]
        if cards and self.children:
            self.mount_all(cards, before=self.children[0])
        elif cards:
            self.mount_all(cards)
        self._update()

    async def clear(self) -> None:
        """Remove every finished attachment (cards still preparing stay)."""
        await self.query_children(AttachmentCard).remove()
        self._update()

    async def on_attachment_card_remove_requested(
        self, message: AttachmentCard.RemoveRequested
    ) -> None:
        message.stop()
        cards = list(self.query_children(AttachmentCard))
        index = cards.index(message.card) if message.card in cards else -1
        focused = self.screen.focused
        # The card, its remove button, or nothing at all (a click on a button that does
        # not take focus): either way focus must land somewhere that shows Send.
        had_focus = message.card.has_focus_within or focused is None
        await message.card.remove()
        self._update()
        rest = list(self.query_children(AttachmentCard))
        if had_focus and rest:
            rest[min(index, len(rest) - 1)].focus()
        elif had_focus:
            self.post_message(self.Emptied())

    def _pending(self, token: int) -> PendingCard | None:
        return next((c for c in self.query_children(PendingCard) if c.token == token), None)

    def _update(self) -> None:
        self.set_class(not self.children, "-empty")
