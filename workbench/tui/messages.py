"""Messages that cross the thread boundary or the whole app.

The runner calls back on its own thread; ``RunnerEvent`` wraps each protocol event so that
``App.post_message`` (thread-safe) can carry it into Textual's message queue. Widget-level
messages (a key in the pool pane, a send in the chat pane) are nested in their widgets, the
Textual way; only messages with no single owning widget live here.
"""

from __future__ import annotations

from textual.message import Message

from workbench.core.protocol import Event


class RunnerEvent(Message, bubble=False):
    """One event from the runner thread, delivered on the UI thread.

    The app forwards each one to the main screen's queue, so events and the screen's own
    handlers (a send, a key in the pool pane) run one at a time, in order.
    """

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event
