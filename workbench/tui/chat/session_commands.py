"""The workbench's session commands: new, open (resume, rename, delete), export, settings.

A mixin of ``MainScreen``, like ``ModelCommands``: these are the user's commands on the
conversation as a whole (keys and palette), kept apart so the screen module stays about
wiring. Each asks the chat controller, then redraws the chat pane; a session opened or
started leaves the cursor in the chat editor, wherever the keys came from.
"""

from __future__ import annotations

from dataclasses import replace

from workbench.core import app_state
from workbench.core.errors import WorkbenchError
from workbench.core.sessions.export import export_markdown
from workbench.core.sessions.guard import SessionForked
from workbench.tui.chat.screen_host import ChatScreenHost
from workbench.tui.chat.sessions_screen import SessionsOutcome, SessionsScreen
from workbench.tui.chat.settings_screen import ChatSettings, SettingsScreen
from workbench.tui.screens.prompt import TextPromptScreen


class SessionCommands(ChatScreenHost):
    """New / open / export / settings / rename for the main screen."""

    def reopen_last_session(self) -> None:
        """With the setting on, start in the session the last run ended in (if it still exists)."""
        last = app_state.setting(app_state.LAST_SESSION, "")
        if not last or not app_state.setting(app_state.REOPEN_LAST_SESSION, False):
            return
        try:
            self.controller.resume(last)
        except WorkbenchError as exc:
            self.notify(f"could not reopen the last session: {exc}", severity="warning")

    def save_failed(self, error: WorkbenchError) -> None:
        """The chat goes on from memory; the next save that works writes it all."""
        if isinstance(error, SessionForked):  # saved, under a new id
            self.notify(str(error), title="Open in another window", severity="warning", timeout=10)
            return
        self.notify(
            f"could not save session: {error}", title="Not saved", severity="error", timeout=10
        )

    def _idle(self) -> bool:
        if self.controller.pending is not None:
            self.notify("A reply is being generated: wait, or press Esc to cancel it.")
            return False
        return True

    async def action_new_session(self) -> None:
        if self._idle():
            self.controller.new_session()
            await self.chat.show_session(self.controller.session, self.names)
            self.update_header()
            self.show_tab("tab-chat")

    def action_sessions(self) -> None:
        if self._idle():
            screen = SessionsScreen(self.controller.store, self.names, self.export_dir)
            self.app.push_screen(screen, self._sessions_closed)

    async def _sessions_closed(self, outcome: SessionsOutcome | None) -> None:
        if outcome is None:
            return
        current = self.controller.session
        if current.id in outcome.deleted:
            self.controller.new_session()
        elif current.id in outcome.renamed:
            self.controller.session = replace(current, title=outcome.renamed[current.id])
        if outcome.resume:
            try:
                self.controller.resume(outcome.resume)
            except WorkbenchError as exc:
                self.notify(str(exc), title="Cannot open session", severity="error")
        await self.chat.show_session(self.controller.session, self.names)
        self.update_header()
        if outcome.resume:  # typing goes on in the chat, not in the list the keys came from
            self.show_tab("tab-chat")

    def action_export(self) -> None:
        session = self.controller.session
        if not session.messages:
            self.notify("Nothing to export yet.", severity="warning")
            return
        try:
            path = export_markdown(session, self.export_dir)
        except OSError as exc:
            self.notify(str(exc), title="Export failed", severity="error")
            return
        self.notify(str(path), title="Exported")

    def action_settings(self) -> None:
        session = self.controller.session
        reopen = app_state.setting(app_state.REOPEN_LAST_SESSION, False)
        current = ChatSettings(session.system_prompt, session.sampling, reopen)
        self.app.push_screen(SettingsScreen(current), self._settings_closed)

    def _settings_closed(self, settings: ChatSettings | None) -> None:
        if settings is not None:
            self.controller.update_settings(settings.system_prompt, settings.sampling)
            self.update_header()
            try:
                app_state.remember(app_state.REOPEN_LAST_SESSION, settings.reopen_last_session)
            except WorkbenchError as exc:
                self.notify(str(exc), severity="warning")

    def action_rename_session(self) -> None:
        def renamed(title: str | None) -> None:
            if title and title.strip():
                self.controller.rename(title)
                self.update_header()

        title = self.controller.session.display_title
        self.app.push_screen(TextPromptScreen("Session title", title), renamed)
