"""Sessions: two windows never lose a saved turn; only the app's own files are ever moved
aside; a FIFO or a folder in the sessions folder never hangs or breaks the listing."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from workbench.core.sessions.guard import SessionForked
from workbench.core.sessions.store import SessionError, SessionMessage, SessionStore
from workbench.tui.chat.controller import ChatController


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "sessions"


def contents(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


def test_two_windows_on_one_session_keep_every_saved_turn(root: Path) -> None:
    first, second = SessionStore(root), SessionStore(root)  # two processes, two stores
    session = first.save(first.new_session().with_message(SessionMessage("user", "Hello")))
    in_a = first.load(session.id)
    in_b = second.load(session.id)
    in_a = first.save(in_a.with_message(SessionMessage("user", "turn saved in window A")))
    saved_b = second.save(in_b.with_message(SessionMessage("user", "turn saved in window B")))
    assert saved_b.id != session.id and second.forked == {session.id: saved_b.id}
    on_disk = {s.id: [m.content for m in SessionStore(root).load(s.id).messages] for s in [
        session, saved_b]}  # fmt: skip
    assert on_disk[session.id] == ["Hello", "turn saved in window A"]
    assert on_disk[saved_b.id] == ["Hello", "turn saved in window B"]
    # each window goes on saving where it is, without forking again
    again = second.save(saved_b.with_message(SessionMessage("user", "more from B")))
    assert again.id == saved_b.id
    assert first.save(in_a.with_message(SessionMessage("user", "more from A"))).id == session.id
    assert [m.content for m in SessionStore(root).load(session.id).messages] == [
        "Hello",
        "turn saved in window A",
        "more from A",
    ]


def test_the_app_tells_the_second_window_where_its_conversation_went(root: Path) -> None:
    other = SessionStore(root)
    reports: list[SessionError] = []
    controller = ChatController(SessionStore(root), on_save_error=reports.append)
    controller.session = controller.store.save(
        controller.store.new_session().with_message(SessionMessage("user", "Hi"))
    )
    mine = other.load(controller.session.id)
    other.save(mine.with_message(SessionMessage("user", "from the other window")))
    old_id = controller.session.id
    assert controller._save(controller.session.with_message(SessionMessage("user", "mine")))
    assert controller.session.id != old_id
    assert len(reports) == 1 and isinstance(reports[0], SessionForked)
    assert controller.session.id in str(reports[0])


def test_a_foreign_json_file_is_listed_as_not_a_session_and_left_untouched(root: Path) -> None:
    root.mkdir()
    package = root / "package.json"
    package.write_text('{"name": "left-pad", "version": "1.0.0"}')
    notes = root / "notes.json"
    notes.write_text("this is { not json")
    store = SessionStore(root)
    store.save(store.new_session().with_message(SessionMessage("user", "Hello")))
    result = store.list()
    assert len(result.sessions) == 1
    assert any("package.json: not a session" in p for p in result.problems)
    assert any("notes.json: not a session" in p for p in result.problems)
    assert package.read_text() == '{"name": "left-pad", "version": "1.0.0"}'
    assert notes.read_text() == "this is { not json"
    assert not any(name.endswith(".corrupt") for name in contents(root))


def test_the_apps_own_corrupt_session_is_still_moved_aside(root: Path) -> None:
    store = SessionStore(root)
    session = store.save(store.new_session().with_message(SessionMessage("user", "Hello")))
    path = store.path_for(session.id)
    path.write_text('{"format": "mlxbench-session", "version": 1, "messages": 7}')
    result = store.list()
    assert result.sessions == () and "corrupt session" in result.problems[0]
    assert contents(root) == [f"{session.id}.json.corrupt"]


def test_a_fifo_or_folder_named_like_a_session_never_hangs_the_listing(root: Path) -> None:
    root.mkdir()
    os.mkfifo(root / "20260101-000000-abcdef.json")
    (root / "folder.json").mkdir()
    box: list[object] = []
    thread = threading.Thread(target=lambda: box.append(SessionStore(root).list()), daemon=True)
    thread.start()
    thread.join(30)
    assert box, "listing the sessions blocked on a FIFO"
    problems = box[0].problems  # type: ignore[attr-defined]
    assert len(problems) == 2 and all("cannot read session" in p for p in problems)
    assert sorted(contents(root)) == ["20260101-000000-abcdef.json", "folder.json"]


def test_a_session_file_over_the_size_limit_is_refused(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import workbench.core.sessions.store as sessions

    store = SessionStore(root)
    session = store.save(store.new_session().with_message(SessionMessage("user", "x" * 5000)))
    monkeypatch.setattr(sessions, "SESSION_LIMIT", 1000)
    with pytest.raises(SessionError, match="larger than"):
        SessionStore(root).load(session.id)
    assert json.loads(store.path_for(session.id).read_text())["messages"]  # untouched
