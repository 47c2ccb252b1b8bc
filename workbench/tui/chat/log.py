"""The transcript: a scrolling column that keeps only the last turns mounted.

Every layout pass of the screen walks every mounted widget, and a finished Markdown reply
is a dozen widgets (paragraphs, list items, code blocks). So the cost of adding a message
follows the number of messages mounted, not the length of the chat: with 40 mounted
replies each new turn cost about twice what it did in a short chat. At most
``MAX_MOUNTED`` messages are widgets while the chat follows its end; older ones are kept
as data (a recipe that builds the widget again) and a line at the top says how many.
Scrolling to the top, or clicking that line, mounts the next ``LOAD_STEP`` earlier ones;
the next message added goes back to the end and trims the column again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from textual import events
from textual.containers import VerticalScroll
from textual.widgets import Static

from workbench.tui.chat.message import ChatMessageView

MAX_MOUNTED = 12  # messages kept as widgets while following the end of the chat
LOAD_STEP = 12  # earlier messages mounted each time the user asks for more

Recipe = Callable[[], ChatMessageView]


class ChatLog(VerticalScroll):
    """Chat messages, newest at the bottom, scrolled to the end while it grows."""

    DEFAULT_CSS = """
    ChatLog {
        height: 1fr;
        padding: 0 1;
    }
    ChatLog > .earlier { color: $text-muted; text-style: italic; display: none; }
    ChatLog > .earlier.-shown { display: block; }
    ChatLog > .earlier:hover { color: $text; }
    ChatLog > .empty { color: $text-muted; padding: 1 0; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._earlier: list[Recipe] = []  # unmounted messages, oldest first
        self._mounted: list[ChatMessageView] = []  # mounted messages, in order
        self._label: Static | None = None
        self._busy = False  # replacing or extending the column: scrolling is not the user's

    def on_mount(self) -> None:
        self.anchor()

    @property
    def messages(self) -> list[ChatMessageView]:
        """The mounted messages, oldest first."""
        return list(self._mounted)

    @property
    def hidden_count(self) -> int:
        """Messages older than the first mounted one (kept as data, not widgets)."""
        return len(self._earlier)

    async def clear_messages(self, earlier: Iterable[Recipe] = (), empty_text: str = "") -> None:
        """Remove every message; ``earlier`` builds the older ones on demand, oldest first."""
        self._busy = True
        try:
            await self.remove_children()
            self._earlier = list(earlier)
            self._mounted = []
            self._label = Static("", classes="earlier")
            await self.mount(self._label)
            if empty_text:
                await self.mount(Static(empty_text, classes="empty"))
            self._show_hidden()
        finally:
            self._busy = False

    async def add(self, *views: ChatMessageView) -> None:
        """Mount messages at the bottom, unmounting the oldest beyond ``MAX_MOUNTED``.

        Mounting, unmounting and the count's update are one batch: the screen lays out
        once for all of them, not once per step.
        """
        if not views:
            return
        with self.app.batch_update():
            await self._add(views)
        self.anchor()

    async def _add(self, views: tuple[ChatMessageView, ...]) -> None:
        empty = self.query_children(".empty")
        if empty:
            await empty.remove()
        keep = list(views[-MAX_MOUNTED:])
        excess = len(self._mounted) + len(keep) - MAX_MOUNTED
        old = self._mounted[: max(excess, 0)]
        self._mounted = [*self._mounted[len(old) :], *keep]
        # Widgets never mounted (more given than the cap) are kept as data right away.
        dropped = [*(view.recipe() for view in old), *(v.recipe() for v in views[:-MAX_MOUNTED])]
        if old:
            await self.remove_children(old)
        await self.mount_all(keep)
        if dropped:
            self._earlier.extend(dropped)
            self._show_hidden()

    async def remove_last(self) -> None:
        if self._mounted:
            await self.remove_message(self._mounted[-1])

    async def remove_message(self, view: ChatMessageView) -> None:
        """Take one mounted message out (e.g. a reply that failed)."""
        if view in self._mounted:
            self._mounted.remove(view)
        await view.remove()

    async def show_earlier(self, count: int = LOAD_STEP) -> int:
        """Mount up to ``count`` earlier messages above the first one; how many were."""
        if not self._earlier or self._label is None:
            return 0
        recipes = self._earlier[-count:]
        del self._earlier[-len(recipes) :]
        views = [recipe() for recipe in recipes]
        first = self._mounted[0] if self._mounted else None
        self._busy = True
        try:
            self._mounted[:0] = views
            await self.mount_all(views, after=self._label)
            self._show_hidden()
        finally:
            self._busy = False
        if first is not None:  # keep what the user was reading where it was
            self.call_after_refresh(self.scroll_to_widget, first, animate=False, top=True)
        return len(views)

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if new_value <= 0 < old_value and self._earlier and not self._busy:
            self.run_worker(self.show_earlier(), group="earlier", exclusive=True)

    async def on_click(self, event: events.Click) -> None:
        if self._label is not None and event.widget is self._label and self._earlier:
            event.stop()
            await self.show_earlier()

    def _show_hidden(self) -> None:
        if self._label is None:
            return
        count = len(self._earlier)
        self._label.set_class(count > 0, "-shown")
        plural = "s" if count != 1 else ""
        self._label.update(
            f"… {count} earlier message{plural} (kept in the session): "
            "scroll to the top or click here to show more"
        )
