"""Saved sessions: search, resume, rename, delete, export.

Works on the session store directly (files only, no runner). Files that cannot be read are
listed as problems (the store has moved them aside), so one bad file never hides the rest.
What changed is handed back on close, so the open conversation stays in step.

Reading every session file takes time with many sessions, so the folder is read on a
thread worker (on opening, and again after a rename, delete or failed export); the search
box filters the summaries already read, in memory, on each keystroke, and each match
shows a snippet of the message text around what was found. Down leaves the search box for
the list, where Enter resumes (the footer says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Label, Static
from textual.worker import Worker, WorkerState

from workbench.core.errors import WorkbenchError
from workbench.core.sessions.export import export_markdown
from workbench.core.sessions.store import ListResult, SessionStore, SessionSummary
from workbench.tui.screens.prompt import ConfirmScreen, TextPromptScreen
from workbench.tui.widths import column_widths, set_columns


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


LIST_WORKER = "sessions-list"
SNIPPET_WIDTH = 60
COLUMNS = ("Updated", "Title", "Model", "Messages")


class SessionTable(DataTable[str | Text]):
    """The session list; its footer entry says what Enter does."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select_cursor", "Resume")]


class SearchBox(Input):
    """The search box; Enter (or Down) goes to the list."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "submit", "To the list")]


class SessionsScreen(Screen[SessionsOutcome]):
    """The session list. Enter resumes; r renames; d deletes; x exports; / searches."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down", "to_list", "To the list", show=False),
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
        self.summaries: tuple[SessionSummary, ...] | None = None  # None until the first read
        self.problems: list[str] = []  # kept: a corrupt file is reported once, then moved

    def compose(self) -> ComposeResult:
        yield Label("Sessions", id="sessions-title")
        yield SearchBox(placeholder="Search titles and messages…", id="sessions-search")
        yield Static("", id="sessions-problems")
        yield SessionTable(id="sessions-table", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        set_columns(self.query_one(DataTable), COLUMNS, column_widths(COLUMNS, ()))
        self.query_one("#sessions-problems", Static).display = False
        self.query_one(Label).update("Sessions (reading…)")
        self.reload()
        self.query_one(DataTable).focus()

    def reload(self) -> None:
        """Re-read the folder on a thread worker; the newest read wins."""
        self.run_worker(
            self.store.list, name=LIST_WORKER, group=LIST_WORKER, thread=True,
            exclusive=True, exit_on_error=False,
        )  # fmt: skip

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.name != LIST_WORKER:
            return
        if event.state is WorkerState.SUCCESS and isinstance(event.worker.result, ListResult):
            self.summaries = event.worker.result.sessions
            self.problems += event.worker.result.problems
            self.refresh_list()
        elif event.state is WorkerState.ERROR:
            self.problems.append(f"cannot read {self.store.root}: {event.worker.error}")
            self.summaries = self.summaries or ()
            self.refresh_list()

    def refresh_list(self) -> None:
        """Show the sessions already read that match the search (no file is read here)."""
        if self.summaries is None:
            return
        query = self.query_one(Input).value.strip()
        self.shown = tuple(s for s in self.summaries if s.matches(query))
        rows = [self._row(s, query) for s in self.shown]
        table = self.query_one(DataTable)
        set_columns(table, COLUMNS, column_widths(COLUMNS, rows))
        for s, row in zip(self.shown, rows, strict=True):
            table.add_row(*row, key=s.id, height=2 if "\n" in str(row[1]) else 1)
        matching = " matching" if query else ""
        self.query_one("#sessions-title", Label).update(f"Sessions ({len(self.shown)}{matching})")
        problems = self.query_one("#sessions-problems", Static)
        problems.update("\n".join(f"⚠ {p}" for p in self.problems))
        problems.display = bool(self.problems)

    def _row(self, summary: SessionSummary, query: str) -> tuple[str | Text, ...]:
        """A session's cells; a search's matching snippet goes under the title."""
        model = self.names.get(summary.model_id or "", summary.model_id or "")
        snippet = summary.snippet(query, SNIPPET_WIDTH) if query else ""
        title = Text(summary.title)
        if snippet:  # under the title, so it shows at any width
            title.append(f"\n{snippet}", style="dim italic")
        return (when(summary.updated), title, Text(model), str(summary.message_count))

    def _changed(self, session_id: str, title: str | None) -> None:
        """Show a rename (``title``) or a delete (None) at once, then re-read the folder."""
        if self.summaries is not None:
            self.summaries = tuple(
                replace(s, title=title) if title is not None and s.id == session_id else s
                for s in self.summaries
                if title is not None or s.id != session_id
            )
            self.refresh_list()
        self.reload()

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

    def action_to_list(self) -> None:
        """Down from the search box goes to the list (so r, d, x act on a session)."""
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
            self._changed(summary.id, session.title)

        self.app.push_screen(TextPromptScreen("New title", summary.title), renamed)

    def action_delete(self) -> None:
        summary = self.selected
        if summary is None:
            return

        def confirmed(yes: bool | None) -> None:
            if not yes:
                return
            try:
                self.store.delete(summary.id)
            except WorkbenchError as exc:
                self.notify(str(exc), title="Delete failed", severity="error")
                return
            self.outcome.deleted.add(summary.id)
            self.notify(f"Deleted “{summary.title}”.")
            self._changed(summary.id, None)

        self.app.push_screen(ConfirmScreen(f"Delete “{summary.title}”?"), confirmed)

    def action_export(self) -> None:
        summary = self.selected
        if summary is None:
            return
        try:
            path = export_markdown(self.store.load(summary.id), self.export_dir)
        except (WorkbenchError, OSError) as exc:
            self.notify(str(exc), title="Export failed", severity="error")
            self.reload()  # a corrupt file has been moved aside: show it gone
            return
        self.notify(str(path), title="Exported")
