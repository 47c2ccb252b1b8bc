"""Copy a reply or its last code block, and take a question back to edit it.

Copying uses the terminal's clipboard through OSC 52 (Textual's ``copy_to_clipboard``).
A terminal may ignore OSC 52 (tmux without ``set-clipboard``, some SSH set-ups) and there
is no way to ask whether it did, so the text is also written to ``clipboard.txt`` in the
export folder and the notification names that file: the copy is never silently lost.
"""

from __future__ import annotations

import re
from pathlib import Path

from textual.app import App

from workbench.core.atomic import atomic_write_text
from workbench.core.errors import WorkbenchError
from workbench.core.sessions.store import Session
from workbench.tui.chat.screen_host import ChatScreenHost

_FENCE = re.compile(r"^(```|~~~)[^\n]*\n(.*?)^\1[ \t]*$", re.MULTILINE | re.DOTALL)


def last_reply(session: Session) -> str | None:
    """The text of the last assistant reply, or None if there is none."""
    for message in reversed(session.messages):
        if message.role == "assistant" and message.content.strip():
            return message.content
    return None


def last_code_block(text: str) -> str | None:
    """The body of the last fenced code block (``` or ~~~) in Markdown ``text``."""
    blocks = [match.group(2) for match in _FENCE.finditer(text)]
    if not blocks and text.count("```") == 1:  # a reply cut off inside its block
        blocks = [text.split("```", 1)[1].split("\n", 1)[-1]]
    return blocks[-1].rstrip("\n") if blocks else None


def copy_text(app: App, text: str, what: str, folder: Path) -> str:
    """Send ``text`` to the clipboard (OSC 52) and keep a copy in a file; say both."""
    app.copy_to_clipboard(text)
    size = f"{len(text):,} character{'s' * (len(text) != 1)}"
    path = folder / "clipboard.txt"
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        return (
            f"Copied {what} ({size}) via OSC 52. If the terminal blocks the clipboard, "
            f"nothing else has it: {path} could not be written ({exc.strerror or exc})."
        )
    return (
        f"Copied {what} ({size}) via OSC 52. If the terminal blocks the clipboard, "
        f"it is also in {path}"
    )


class ChatExtras(ChatScreenHost):
    """The main screen's copy and edit commands (F8, F9, F10 and the palette)."""

    def action_copy_reply(self) -> None:
        reply = last_reply(self.controller.session)
        if reply is None:
            self.notify("There is no reply to copy yet.", severity="warning")
        else:
            self.notify(copy_text(self.app, reply, "the last reply", self.export_dir))

    def action_copy_code(self) -> None:
        reply = last_reply(self.controller.session)
        code = last_code_block(reply) if reply else None
        if code is None:
            self.notify("The last reply has no code block.", severity="warning")
        else:
            self.notify(copy_text(self.app, code, "the last code block", self.export_dir))

    async def action_edit_last(self) -> None:
        """Take the last question back into the editor (its reply goes); Ctrl+S resends."""
        try:
            question = self.controller.take_last_question()
        except WorkbenchError as exc:
            self.notify(str(exc), severity="warning")
            return
        await self.chat.show_session(self.controller.session, self.names)
        self.chat.input.restore(question.content)
        for image in question.images:
            self.chat.attach(image)
        self.show_tab("tab-chat")
        self.update_header()
