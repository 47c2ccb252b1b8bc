"""The transcript: a scrolling column that keeps only the last turns mounted.

Every layout pass of the screen walks every mounted widget, and a finished Markdown reply
is a dozen widgets (paragraphs, list items, code blocks). So the cost of adding a message
follows the number of messages mounted, not the length of the chat: with 40 mounted
replies each new turn cost about twice what it did in a short chat, and while a reply
streams every redraw that adds a line lays the screen out again. At most ``MAX_MOUNTED``
messages are widgets while the chat follows its end, and no more than fill
``SCREENS_KEPT`` heights of the transcript (long replies: a few); older ones are kept as
data (a recipe that builds the widget again) and a line at the top says how many.
Scrolling to the top, or clicking that line, mounts the next ``LOAD_STEP`` earlier ones;
the next message added goes back to the end and trims the column again.

Mounting a message is most of what a send costs the UI thread (building the widgets and
applying the stylesheet to them: tens of milliseconds on a busy machine, while the model
reads the prompt and needs the GIL). So a hidden question and reply wait, mounted, at the
end of the column (``prepare_spare``, when the app is idle); a send fills them in and shows
them (``add_turn``). A question with images is mounted the ordinary way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from textual import events
from textual.containers import VerticalScroll
from textual.widgets import Static

from workbench.tui.chat.message import ChatMessageView

MAX_MOUNTED = 12  # messages kept as widgets while following the end of the chat
LOAD_STEP = 12  # earlier messages mounted each time the user asks for more
SCREENS_KEPT = 2  # and no more messages than fill this many heights of the transcript

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
        self._spare: tuple[ChatMessageView, ChatMessageView] | None = None  # hidden, last
        self._preparing: tuple[ChatMessageView, ...] = ()  # a spare pair being mounted
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
            self._spare = None
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
        await self._remove_empty_hint()
        keep = list(views[-MAX_MOUNTED:])
        await self._adopt(keep, never_mounted=views[:-MAX_MOUNTED])
        spare = self._spare or self._preparing
        if spare:  # the hidden pair stays last (also while it is being mounted)
            await self.mount_all(keep, before=spare[0])
        else:
            await self.mount_all(keep)

    async def _adopt(
        self, keep: list[ChatMessageView], never_mounted: Iterable[ChatMessageView] = ()
    ) -> None:
        """``keep`` joins the end of the messages; the oldest beyond ``MAX_MOUNTED`` leave
        the column, and with them ``never_mounted`` (more given than the cap), as data."""
        old = self._mounted[: len(self._mounted) - self._room(len(keep))]
        self._mounted = [*self._mounted[len(old) :], *keep]
        dropped = [view.recipe() for view in (*old, *never_mounted)]
        if old:
            await self.remove_children(old)
        if dropped:
            self._earlier.extend(dropped)
            self._show_hidden()

    def _room(self, incoming: int) -> int:
        """How many of the newest mounted messages stay beside ``incoming`` new ones: up
        to ``MAX_MOUNTED`` in all, and no more than fill ``SCREENS_KEPT`` transcript heights
        (the two newest always stay: the last question and its reply)."""
        rows_left = SCREENS_KEPT * self.size.height if self.size.height else math.inf
        room = 0
        for view in reversed(self._mounted):
            if room + incoming >= MAX_MOUNTED or (room >= 2 and rows_left <= 0):
                break
            rows_left -= view.outer_size.height
            room += 1
        return room

    async def _remove_empty_hint(self) -> None:
        empty = self.query_children(".empty")
        if empty:
            await empty.remove()

    async def prepare_spare(self) -> None:
        """Mount the hidden question and reply the next send will show (if not ready)."""
        if self._spare is not None or self._preparing or not self.is_attached:
            return
        asked = ChatMessageView("user", label="You", plain_body=True)
        pair = (asked, ChatMessageView("assistant", label=""))
        for view in pair:  # hidden by its own style: showing it re-applies no stylesheet
            view.display = False
        self._preparing = pair
        try:
            await self.mount_all(pair)
        finally:
            self._preparing = ()
        if all(view.is_attached for view in pair):  # not cleared away meanwhile
            self._spare = pair

    async def add_turn(
        self, question: str, reply_label: str
    ) -> tuple[ChatMessageView, ChatMessageView] | None:
        """Show the spare pair as ``question`` and an empty reply labelled ``reply_label``,
        in one layout; None when no spare is ready (then mount new views with ``add``)."""
        pair, self._spare = self._spare, None
        if pair is None:
            return None
        asked, reply = pair
        with self.app.batch_update():
            await self._remove_empty_hint()
            await asked.fill(question)
            reply.set_label(reply_label)
            await self._adopt(list(pair))
            for view in pair:
                view.display = True
        self.anchor()
        return pair

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
