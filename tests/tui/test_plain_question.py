"""A plain question is shown without Markdown, and looks exactly as Markdown draws it."""

from __future__ import annotations

import pytest
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll

from workbench.tui.chat.message import ChatMessageView, is_plain_text

pytestmark = pytest.mark.anyio

QUESTIONS = (
    "What is the capital of France?",
    "Explain, in two sentences (no more), why the sky is blue: keep it short!",
    "How much is 15% of $240 - and what's 3/4 of that?",
    "Ünïcode wörds wrap like the others do when a line runs longer than the pane is wide "
    "so this question goes on for a while to make it wrap twice over at forty columns",
)


class OneMessage(App[None]):
    def __init__(self, question: str, plain: bool) -> None:
        super().__init__()
        self.question, self.plain = question, plain

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            if self.plain:
                yield ChatMessageView("user", label="You", plain_body=True)
            else:
                yield ChatMessageView("user", self.question, label="You")

    async def on_mount(self) -> None:
        if self.plain:
            await self.query_one(ChatMessageView).fill(self.question)


async def screenshot(question: str, plain: bool) -> tuple[str, str]:
    app = OneMessage(question, plain)
    async with app.run_test(size=(40, 12)) as pilot:
        await pilot.pause()
        view = app.query_one(ChatMessageView)
        return app.export_screenshot(), view.text


@pytest.mark.parametrize("question", QUESTIONS)
async def test_a_plain_question_looks_as_markdown_draws_it(question: str) -> None:
    assert is_plain_text(question)
    as_markdown, markdown_text = await screenshot(question, plain=False)
    as_plain, plain_text = await screenshot(question, plain=True)
    assert as_plain == as_markdown
    assert plain_text == markdown_text == question


@pytest.mark.parametrize(
    "question",
    [
        "- a list item",
        "1. first",
        "# a heading",
        "> quoted",
        "some *emphasis* here",
        "snake_case names",
        "look at example.com please",
        "mail me at a@b.org",
        "see https://example.com",
        "two\nlines",
        "code `x` inline",
        "[a link](x)",
        "a <b>tag</b>",
        "AT&T",
        "two  spaces",
        "trailing space ",
        "",
        "emoji 🙂",
    ],
)
def test_questions_markdown_would_draw_differently_are_not_plain(question: str) -> None:
    assert not is_plain_text(question)


async def test_a_markdown_question_in_the_spare_view_is_drawn_by_markdown() -> None:
    question = "Is **this** bold?"
    as_markdown, _ = await screenshot(question, plain=False)
    filled, text = await screenshot(question, plain=True)
    assert filled == as_markdown
    assert text == question
