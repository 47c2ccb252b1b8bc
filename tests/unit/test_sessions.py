"""The session store: round trips, atomic writes, corrupt files moved aside, search, export."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from workbench.core.errors import InputError
from workbench.core.sessions.export import export_markdown, session_markdown
from workbench.core.sessions.store import (
    Session,
    SessionError,
    SessionMessage,
    SessionStore,
    make_title,
)
from workbench.core.types import SamplingSettings, TurnStats

STATS = TurnStats(
    prompt_tokens=12,
    generation_tokens=8,
    time_to_first_token_s=0.25,
    prompt_tps=48.0,
    generation_tps=4.5,
    peak_memory_bytes=150 * 1024**2,
    finish_reason="stop",
)


class Clock:
    """A clock that ticks one minute per call, so ordering is deterministic."""

    def __init__(self) -> None:
        self.now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "sessions", clock=Clock())


def _conversation(store: SessionStore) -> Session:
    session = store.new_session(
        model_id="demo/SmolLM2-135M-Instruct",
        system_prompt="Be brief.",
        sampling=SamplingSettings(temperature=0.7, top_p=0.9, max_tokens=64, seed=3),
    )
    session = session.with_message(SessionMessage("user", "What is the capital of France?"))
    reply = SessionMessage(
        "assistant", "The capital of France is Paris.", model_id=session.model_id, stats=STATS
    )
    return session.with_message(reply)


def test_round_trip_keeps_everything(store: SessionStore) -> None:
    saved = store.save(_conversation(store))
    loaded = store.load(saved.id)
    assert loaded == saved
    assert loaded.messages[1].stats == STATS
    assert loaded.sampling.seed == 3
    assert [m.role for m in loaded.chat_messages()] == ["system", "user", "assistant"]


def test_save_leaves_no_temporary_files(store: SessionStore) -> None:
    session = store.save(_conversation(store))
    store.save(session.with_message(SessionMessage("user", "And Germany?")))
    assert sorted(p.name for p in store.root.iterdir()) == [f"{session.id}.json"]
    data = json.loads(store.path_for(session.id).read_text())
    assert data["format"] == "mlxbench-session" and len(data["messages"]) == 3


def test_file_has_one_line_per_message_and_follows_every_change(store: SessionStore) -> None:
    session = store.save(_conversation(store))
    lines = store.path_for(session.id).read_text().splitlines()
    assert sum(line.lstrip().startswith('{"role"') for line in lines) == 2
    # A regenerated reply (same question, new text) is written as it is now, not as cached.
    redone = replace(session.messages[1], content="Paris, on the Seine.")
    session = store.save(session.without_last().with_message(redone))
    assert store.load(session.id).messages[1].content == "Paris, on the Seine."
    empty = store.save(store.new_session(model_id="m"))
    assert json.loads(store.path_for(empty.id).read_text())["messages"] == []


def test_a_reopened_session_is_encoded_as_it_opens_not_at_its_next_save(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The save after a question in a long reopened chat runs while its reply streams: it
    encodes only the new message (the old ones were encoded when the session was opened)."""
    from workbench.core.sessions import store as store_module

    session = SessionStore(tmp_path / "sessions").save(_conversation(SessionStore(tmp_path)))
    store = SessionStore(tmp_path / "sessions")  # a new app: nothing remembered yet
    opened = store.resume(session.id)
    encoded: list[int] = []
    to_json = store_module.session_to_json

    def counting(session: Session, root: Path) -> dict:
        encoded.append(len(session.messages))
        return to_json(session, root)

    monkeypatch.setattr(store_module, "session_to_json", counting)
    question = SessionMessage("user", "And of Italy?")
    saved = store.save(opened.with_message(question))
    assert encoded == [0, 1]  # the header, then the new question alone
    assert [m.content for m in store.load(saved.id).messages][1:] == [
        "The capital of France is Paris.",
        "And of Italy?",
    ]


def test_list_is_newest_first_and_titles_come_from_the_first_question(
    store: SessionStore,
) -> None:
    first = store.save(_conversation(store))
    second = store.save(store.new_session().with_message(SessionMessage("user", "Hi there")))
    listed = store.list().sessions
    assert [s.id for s in listed] == [second.id, first.id]
    assert listed[1].title == "What is the capital of France?"
    assert listed[1].message_count == 2


def test_corrupt_file_is_reported_and_moved_aside_never_overwritten(
    store: SessionStore,
) -> None:
    good = store.save(_conversation(store))
    store.root.joinpath("20260101-000000-bad000.json").write_text("{not json")
    store.root.joinpath("20260101-000000-bad000.json.corrupt").write_text("earlier")
    result = store.list()
    assert [s.id for s in result.sessions] == [good.id]
    assert len(result.problems) == 1 and "corrupt" in result.problems[0]
    assert store.root.joinpath("20260101-000000-bad000.json.corrupt").read_text() == "earlier"
    assert store.root.joinpath("20260101-000000-bad000.json.corrupt2").read_text() == "{not json"
    assert not store.root.joinpath("20260101-000000-bad000.json").exists()


def test_wrong_shape_is_corrupt_too(store: SessionStore) -> None:
    path = store.root / "20260101-000000-aaaaaa.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"format": "mlxbench-session", "version": 1, "messages": 3}))
    with pytest.raises(SessionError, match="moved to"):
        store.load("20260101-000000-aaaaaa")
    assert not path.exists()


def test_newer_format_is_reported_but_left_alone(store: SessionStore) -> None:
    path = store.root / "20260101-000000-cccccc.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"format": "mlxbench-session", "version": 99, "id": "x"}))
    result = store.list()
    assert result.sessions == () and "newer" in result.problems[0]
    assert path.exists()


def test_rename_delete_and_search(store: SessionStore) -> None:
    a = store.save(_conversation(store))
    b = store.save(store.new_session().with_message(SessionMessage("user", "Tell me a joke")))
    store.rename(b.id, "  Jokes   night ")
    assert store.load(b.id).title == "Jokes night"
    assert [s.id for s in store.search("paris").sessions] == [a.id]
    assert [s.id for s in store.search("jokes").sessions] == [b.id]
    store.delete(a.id)
    assert [s.id for s in store.list().sessions] == [b.id]
    with pytest.raises(SessionError):
        store.load(a.id)
    with pytest.raises(InputError):
        store.rename(b.id, "   ")


def test_ids_cannot_escape_the_folder(store: SessionStore) -> None:
    with pytest.raises(InputError):
        store.path_for("../../etc/passwd")


def test_images_are_stored_by_content_hash_next_to_the_session(
    store: SessionStore, tmp_path: Path
) -> None:
    picture = tmp_path / "cat.PNG"
    picture.write_bytes(b"\x89PNG fake bytes")
    session = store.new_session()
    stored = store.store_image(session.id, picture)
    again = store.store_image(session.id, picture)
    assert stored == again and stored.parent == store.images_dir(session.id)
    assert stored.suffix == ".png" and stored.read_bytes() == picture.read_bytes()
    session = session.with_message(SessionMessage("user", "what is this?", images=(str(stored),)))
    store.save(session)
    on_disk = json.loads(store.path_for(session.id).read_text())
    assert on_disk["messages"][0]["images"] == [f"{session.id}.images/{stored.name}"]
    assert store.load(session.id).messages[0].images == (str(stored),)


def test_markdown_export(store: SessionStore, tmp_path: Path) -> None:
    session = store.save(_conversation(store))
    text = session_markdown(session)
    assert text.startswith("# What is the capital of France?")
    assert "## System\n\nBe brief." in text
    assert "The capital of France is Paris." in text
    assert "ttft 0.25 s · 4.5 tok/s · 8 tokens · peak 150.0 MB" in text
    path = export_markdown(session, tmp_path / "exports")
    assert path.read_text() == text
    assert path.name == f"what-is-the-capital-of-france-{session.id}.md"


def test_make_title_shortens_long_questions() -> None:
    assert make_title("  a\nb  ") == "a b"
    long = make_title("word " * 40)
    assert len(long) == 60 and long.endswith("…")


def test_the_documented_example_file_loads(tmp_path: Path) -> None:
    example = Path(__file__).parents[2] / "sessions" / "20260314-092607-example.json"
    store = SessionStore(tmp_path)
    (tmp_path / example.name).write_text(example.read_text())
    session = store.load(example.stem)
    assert session.display_title == "What is the capital of France?"
    roles = [m.role for m in session.chat_messages()]
    assert roles == ["system", "user", "assistant", "user", "assistant"]
    picture = session.messages[2].images[0]
    assert picture == str(tmp_path / f"{example.stem}.images" / Path(picture).name)
    assert session.messages[3].stats is not None
    assert session.messages[3].stats.cached_prompt_tokens == 31


def test_a_renamed_file_keeps_its_session_under_the_new_name(store: SessionStore) -> None:
    session = store.save(_conversation(store))
    store.path_for(session.id).rename(store.root / "20260101-000000-renamed.json")
    loaded = store.load("20260101-000000-renamed")
    assert loaded.messages == session.messages
    assert [s.id for s in store.list().sessions] == ["20260101-000000-renamed"]


def test_a_folder_that_cannot_be_written_is_one_session_error(tmp_path: Path) -> None:
    (tmp_path / "sessions").write_text("a file where the folder should be")
    store = SessionStore(tmp_path / "sessions", clock=Clock())
    session = _conversation(store)
    with pytest.raises(SessionError, match=r"cannot write .*sessions is a file, not a folder$"):
        store.save(session)
    store.delete(session.id)  # nothing there to delete: not an error

    good = SessionStore(tmp_path / "good", clock=Clock())
    good.path_for(session.id).mkdir(parents=True)  # a folder where the file goes
    with pytest.raises(SessionError, match=r"^cannot write .*\.json: Is a directory$"):
        good.save(session)


def _write_session(store: SessionStore, name: str, **fields: object) -> Path:
    data = {"format": "mlxbench-session", "version": 1, "id": name, "messages": []}
    path = store.root / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**data, **fields}))
    return path


def test_unknown_fields_are_ignored_and_known_ones_kept(store: SessionStore) -> None:
    stats = {"prompt_tokens": 3, "generation_tokens": 2, "time_to_first_token_s": 0.1}
    stats |= {"prompt_tps": 30, "generation_tps": 5.0, "peak_memory_bytes": 7}
    stats |= {"finish_reason": "stop", "energy_joules": 1.5}
    reply = {"role": "assistant", "content": "hi", "stats": stats}
    sampling = {"temperature": 1, "top_p": 0.5, "max_tokens": 9, "seed": None, "min_p": 0.1}
    _write_session(store, "20260101-000000-dddddd", sampling=sampling, messages=[reply])
    session = store.load("20260101-000000-dddddd")
    assert session.sampling == SamplingSettings(temperature=1.0, top_p=0.5, max_tokens=9)
    assert isinstance(session.sampling.temperature, float)
    assert session.messages[0].stats == TurnStats(3, 2, 0.1, 30.0, 5.0, 7, "stop")


@pytest.mark.parametrize(
    ("sampling", "reason"),
    [
        ({"temperature": "hot"}, "'sampling.temperature' must be a number, not 'hot'"),
        ({"max_tokens": 2.5}, "'sampling.max_tokens' must be an integer, not 2.5"),
        ({"top_p": True}, "'sampling.top_p' must be a number, not True"),
        ({"seed": "7"}, "'sampling.seed' must be an integer or null, not '7'"),
        ([1, 2], "'sampling' must be an object"),
    ],
)
def test_a_sampling_field_of_the_wrong_type_makes_the_file_corrupt(
    store: SessionStore, sampling: object, reason: str
) -> None:
    path = _write_session(store, "20260101-000000-eeeeee", sampling=sampling)
    with pytest.raises(SessionError) as caught:
        store.load("20260101-000000-eeeeee")
    assert f"corrupt session ({reason}); moved to" in str(caught.value)
    assert not path.exists() and path.with_name(path.name + ".corrupt").exists()


def test_a_deeply_nested_file_is_corrupt_not_a_crash(store: SessionStore) -> None:
    path = store.root / "20260101-000000-ffffff.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"format": "mlxbench-session", "version": 1, "id": ' + "[" * 100_000)
    result = store.list()
    assert result.sessions == ()
    assert "nested too deeply" in result.problems[0]
    assert path.with_name(path.name + ".corrupt").exists()
