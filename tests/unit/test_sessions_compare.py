"""Compare turns in sessions: written with lanes, read back, older files unchanged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.core.compare import LaneResult, compare_messages
from workbench.core.sessions.store import SessionError, SessionMessage, SessionStore
from workbench.core.types import TurnStats

STATS = TurnStats(5, 8, 0.6, 20.0, 4.7, 113 * 1024**2, "length")


def _compare_session(store: SessionStore):  # type: ignore[no-untyped-def]
    results = (
        LaneResult("demo/smol", "chat", "Paris.", STATS, 98),
        LaneResult("demo/gemma", "complete", " Paris, of course", STATS, 250),
    )
    session = store.new_session(system_prompt="Be brief.")
    session = session.with_message(SessionMessage("user", "Hello"))
    session = session.with_message(SessionMessage("assistant", "Hi.", model_id="demo/smol"))
    for message in compare_messages("The capital of France is", results, store.now()):
        session = session.with_message(message)
    return store.save(session)


def test_compare_turns_round_trip_with_their_lanes(tmp_path: Path) -> None:
    store = SessionStore(tmp_path)
    saved = _compare_session(store)
    loaded = store.load(saved.id)
    assert loaded == saved
    assert [m.lane for m in loaded.messages] == [None, None, None, "a", "b"]
    assert [m.model_id for m in loaded.messages[-2:]] == ["demo/smol", "demo/gemma"]
    lines = store.path_for(saved.id).read_text().splitlines()
    assert sum('"lane"' in line for line in lines) == 2  # plain turns carry no lane field


def test_a_plain_chat_after_a_compare_turn_goes_on_with_side_a(tmp_path: Path) -> None:
    session = _compare_session(SessionStore(tmp_path))
    contents = [m.content for m in session.chat_messages()]
    assert contents == ["Be brief.", "Hello", "Hi.", "The capital of France is", "Paris."]


def test_a_side_that_gave_nothing_is_left_out() -> None:
    result = LaneResult("demo/gemma", "complete", " Paris", STATS, 250)
    question, reply = compare_messages("The capital of France is", (None, result), "now")
    assert (question.role, reply.lane, reply.model_id) == ("user", "b", "demo/gemma")


def test_a_file_without_lanes_reads_as_before(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "sessions" / "20260314-092607-example.json"
    store = SessionStore(tmp_path)
    (tmp_path / example.name).write_text(example.read_text())
    session = store.load(example.stem)
    assert session.messages and all(m.lane is None for m in session.messages)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"role": "assistant", "content": "x", "lane": "c"}, "'lane' must be"),
        ({"role": "user", "content": "x", "lane": "a"}, "'lane' must be"),
    ],
)
def test_a_bad_lane_makes_the_file_corrupt(tmp_path: Path, message: dict, reason: str) -> None:
    store = SessionStore(tmp_path)
    data = {"format": "mlxbench-session", "version": 1, "id": "20260101-000000-abcdef"}
    (tmp_path / "20260101-000000-abcdef.json").write_text(
        json.dumps(data | {"messages": [message]})
    )
    with pytest.raises(SessionError, match=reason):
        store.load("20260101-000000-abcdef")
