"""One frame for a sent question and the first text of its reply.

A send changes the screen (the question and an empty reply appear, the editor empties) and
Textual lays the whole screen out again for it: on a fast GPU the model's first token
arrives while that layout runs — a layout costs tens of milliseconds of the UI thread — so
the token waited behind it, and the generating thread waited for the GIL the layout held.
Then the first text needed a second layout of its own.

So from the send until the reply's first text is in its widget, the screen's redraw is held
(Textual's ``batch_update``): the UI thread stays idle while the prompt is read, the first
token is handed to the reply the moment it comes, and one layout draws the question and
the first text together. A slow model must not leave the question unseen: the hold ends
after ``HOLD_CAP_S`` whatever happens, and at once when the turn ends or fails.

What can wait for the frame waits with it (``when_drawn``): the pool's new snapshot (a model
leased for the turn) is shown after the first text, not in the way of it — only the latest
one of each kind is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from textual.app import App
    from textual.timer import Timer

HOLD_CAP_S = 0.1  # the longest a sent question waits unseen (a tenth of a second)


class FirstFrame:
    """Holds the app's redraw from a send until ``release`` (or ``HOLD_CAP_S``)."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._batch: AbstractContextManager[None] | None = None
        self._cap: Timer | None = None
        self._waiting: dict[str, Callable[[], None]] = {}

    @property
    def held(self) -> bool:
        return self._batch is not None

    def hold(self) -> None:
        """Stop drawing until ``release``; ends by itself after ``HOLD_CAP_S``."""
        if self._batch is not None:
            return
        self._batch = self.app.batch_update()
        self._batch.__enter__()
        self._cap = self.app.set_timer(HOLD_CAP_S, self.release, name="first frame cap")

    def when_drawn(self, kind: str, show: Callable[[], None]) -> None:
        """Run ``show`` now, or after the held frame is drawn when one is held (a later
        ``show`` of the same ``kind`` replaces a waiting one)."""
        if self._batch is None:
            show()
            return
        self._waiting[kind] = show

    def release(self) -> None:
        """Draw again (everything changed meanwhile, in one layout), then run what waited."""
        batch, self._batch = self._batch, None
        if batch is None:
            return
        if self._cap is not None:
            self._cap.stop()
            self._cap = None
        batch.__exit__(None, None, None)
        self.app.screen.check_idle()  # wakes its redraw: only what changed is drawn
        waiting, self._waiting = list(self._waiting.values()), {}
        for show in waiting:
            self.app.call_after_refresh(show)
