"""A message's Markdown body, whose appended blocks are laid out with the append.

Textual's ``Markdown.append`` builds the new blocks (setting their text asks for a layout)
and then mounts them. A widget only reports a layout it asked for when its message queue
next goes idle, and a block asked before it was running: its report waited for the first
event it ever received, the ``Resize`` sent by the layout that first placed it. So every
append that added a block was laid out twice — once for the append, once more for the
block's late report — and each layout of the screen costs the UI thread 10-17 ms on a fast
GPU's host, holding the GIL the generating thread needs for each token.

``MessageMarkdown`` holds the screen's redraw (``batch_update``) while it appends, prompts
the blocks the append mounted (``check_idle``, Textual's public nudge) so their reports
reach the screen with the append's own, then wakes the screen: one layout places them all.
A screen that went idle while a batch held it is not woken by the batch's end, hence the
wake. The hold is taken inside the append's own task, in a ``with``, so it always ends.
"""

from __future__ import annotations

import asyncio
from contextlib import suppress

from textual.app import ScreenStackError
from textual.await_complete import AwaitComplete
from textual.widgets import Markdown


class MessageMarkdown(Markdown):
    """``Markdown`` whose ``append`` costs one layout, not two."""

    def append(self, markdown: str) -> AwaitComplete:
        """Append ``markdown`` (as ``Markdown.append``), then prompt the blocks it built;
        the screen is not redrawn until their reports are in."""
        known = len(self.children)
        appended = super().append(markdown)

        async def append_then_prompt() -> None:
            try:
                with self.app.batch_update():
                    await appended
                    # the last block known before may have been rebuilt from the new text
                    for block in list(self.children)[max(known - 1, 0) :]:
                        block.check_idle()
                        for inner in block.walk_children():
                            inner.check_idle()
                    await asyncio.sleep(0)  # each prompted block reports its layout
            finally:
                # A screen that went idle during the batch does not wake when it ends.
                with suppress(ScreenStackError):  # none: the app is closing
                    self.app.screen.check_idle()

        return AwaitComplete(append_then_prompt())
