"""Saved sessions: search, resume, rename, delete, export.

Works on the session store directly (files only, no runner). Files that cannot be read are
listed as problems (the store has moved them aside), so one bad file never hides the rest.
What changed is handed back on close, so the open conversation stays in step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, Static

from workbench.core.errors import WorkbenchError
from workbench.core.session_export import export_markdown
from workbench.core.sessions import SessionStore, SessionSummary
from workbench.tui.screens.prompt import ConfirmScreen, TextPromptScreen


@dataclass
class SessionsOutcome:
    """What the user did: which session to resume, which were renamed or deleted."""

    resume: str | None = None
    renamed: dict[str, str] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)


def when(stamp: str) -> str:
    """An ISO timestamp as local "YYYY-MM-DD HH:MM" (as stored, if unparsable)."""
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp


class SessionsScreen(Screen[SessionsOutcome]):
    """The session list. Enter resumes; r renames; d deletes; x exports; / searches."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("r", "rename", "Rename"),
        Binding("d", "delete", "Delete"),
        Binding("x", "export", "Export .md"),
        Binding("slash", "search", "Search"),
    ]

    DEFAULT_CSS = """
    SessionsScreen { padding: 1 2; }
    SessionsScreen > #sessions-title { text-style: bold; }
    SessionsScreen > #sessions-problems { color: $warning; height: auto; }
    SessionsScreen > DataTable { height: 1fr; margin-top: 1; }
    """

    def __init__(self, store: SessionStore, names: Mapping[str, str], export_dir: Path) -> None:
        super().__init__()
        self.store = store
        self.names = names
        self.export_dir = export_dir
        self.outcome = SessionsOutcome()
        self.shown: tuple[SessionSummary, ...] = ()
        self.problems: list[str] = []  # kept: a corrupt file is reported once, then moved

    def compose(self) -> ComposeResult:
        yield Label("Sessions", id="sessions-title")
        yield Input(placeholder="Search titles and messages…", id="sessions-search")
        yield Static("", id="sessions-problems")
        yield DataTable(id="sessions-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("Updated", "Title", "Model", "Messages")
        self.refresh_list()
        self.query_one(DataTable).focus()

    def refresh_list(self) -> None:
        """Re-read the folder with the current search applied."""
        table = self.query_one(DataTable)
        if not table.columns:
            return
        query = self.query_one(Input).value.strip()
        result = self.store.search(query) if query else self.store.list()
        self.shown = result.sessions
        table.clear()
        for s in result.sessions:
            model = self.names.get(s.model_id or "", s.model_id or "")
            table.add_row(when(s.updated), s.title, model, str(s.message_count), key=s.id)
        count = len(result.sessions)
        matching = " matching" if query else ""
        self.query_one("#sessions-title", Label).update(f"Sessions ({count}{matching})")
        problems = self.query_one("#sessions-problems", Static)
        self.problems += result.problems
        problems.update("\n".join(f"⚠ {p}" for p in self.problems))
        problems.display = bool(self.problems)

    @property
    def selected(self) -> SessionSummary | None:
        row = self.query_one(DataTable).cursor_row
        return self.shown[row] if 0 <= row < len(self.shown) else None

    @on(Input.Changed, "#sessions-search")
    def _search_changed(self) -> None:
        self.refresh_list()

    @on(Input.Submitted, "#sessions-search")
    def _search_done(self) -> None:
        self.query_one(DataTable).focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.outcome.resume = event.row_key.value
        self.dismiss(self.outcome)

    def action_close(self) -> None:
        self.dismiss(self.outcome)

    def action_search(self) -> None:
        self.query_one(Input).focus()

    def action_rename(self) -> None:
        summary = self.selected
        if summary is None:
            return

        def renamed(title: str | None) -> None:
            if title is None:
                return
            try:
                session = self.store.rename(summary.id, title)
            except WorkbenchError as exc:
                self.notify(str(exc), severity="error")
                return
            self.outcome.renamed[summary.id] = session.title
            self.refresh_list()

        self.app.push_screen(TextPromptScreen("New title", summary.title), renamed)

    def action_delete(self) -> None:
        summary = self.selected
        if summary is None:
            return

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            self.store.delete(summary.id)
            self.outcome.deleted.add(summary.id)
            self.notify(f"Deleted “{summary.title}”.")
            self.refresh_list()

        self.app.push_screen(ConfirmScreen(f"Delete “{summary.title}”?"), confirmed)

    def action_export(self) -> None:
        summary = self.selected
        if summary is None:
            return
        try:
            path = export_markdown(self.store.load(summary.id), self.export_dir)
        except (WorkbenchError, OSError) as exc:
            self.notify(str(exc), title="Export failed", severity="error")
            self.refresh_list()
            return
        self.notify(str(path), title="Exported")
