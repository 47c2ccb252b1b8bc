"""A reply stream tells its pacer how fast the text comes, from what arrives, drawn or not."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.widgets import Markdown

from workbench.tui.chat.drain_pacer import DrainPacer
from workbench.tui.chat.streaming import ReplyStream

pytestmark = pytest.mark.anyio


class OneMarkdown(App):
    def compose(self) -> ComposeResult:
        yield Markdown()


async def test_fast_text_that_is_not_drawn_yet_already_earns_the_long_wait() -> None:
    wall = [100.0]
    pacer = DrainPacer(max_interval=0.75, fast_max_interval=2.0, clock=lambda: wall[0])
    app = OneMarkdown()
    async with app.run_test() as pilot:
        markdown = app.query_one(Markdown)
        stream = ReplyStream(markdown, pacer=pacer)
        stream.feed("The first words")
        await stream.flush()  # the first frame
        assert pacer.longest_wait == 0.75  # no pace known yet
        wall[0] += 0.5
        stream.feed(" and more" * 30)  # 270 characters in half a second, not drawn
        assert pacer.longest_wait == 2.0
        assert "and more" not in markdown.source
        await stream.close()
        await pilot.pause()
        assert markdown.source.endswith(" and more")
