"""Image attachments in the chat pane, against the fake runner.

Attach through the F3 dialog (typed path, file tree), by pasting a data URI or a path,
remove before sending, see bad input reported with the draft kept, send to a vision model
(images stored by content hash, listed in the session file, shown again on resume), and be
stopped before sending when the chosen model is a text model — with text and images kept.
"""

from __future__ import annotations

import base64
import io
import json
import threading
from pathlib import Path

import pytest
from fake_runner import Script, build_app, ready, wait_for
from PIL import Image
from textual import events
from textual.widgets import Button, Input
from textual_image.widget import HalfcellImage

from workbench.core.protocol import ChatRequest
from workbench.tui.chat import pane as chat_pane_module
from workbench.tui.chat.attach_screen import AttachScreen, ImageTree
from workbench.tui.chat.attachments import AttachmentCard, AttachmentStrip, PendingCard
from workbench.tui.chat.image_preview import ImagePreview
from workbench.tui.chat.log import ChatLog
from workbench.tui.pool.model_list import ModelList

pytestmark = pytest.mark.anyio

LLAVA = "llava-tiny"
SMOL = "SmolLM2-135M-Instruct"
TEXT_MODEL_ERROR = f"{SMOL} is a text model and cannot see images; choose a vision model"


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))


def make_png(path: Path, size: tuple[int, int] = (3000, 1500), colour=(200, 30, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


def png_bytes(size: tuple[int, int] = (40, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (0, 120, 255)).save(buffer, format="PNG")
    return buffer.getvalue()


def data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def paste(app, text: str) -> None:
    """What a terminal's bracketed paste does: the app forwards it to the focused widget."""
    app.post_message(events.Paste(text))


def strip(app) -> AttachmentStrip:
    return app.main_screen.chat.attachments


def cards(app) -> list[AttachmentCard]:
    return list(strip(app).query_children(AttachmentCard))


def card_text(card: AttachmentCard) -> tuple[str, str]:
    size, source = (str(w.content) for w in card.query(".size, .source"))
    return size, source


def notices(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def choose(pilot, name: str) -> None:
    await ready(pilot)
    models = pilot.app.main_screen.query_one(ModelList)
    models.focus()
    models.move_cursor(row=next(i for i, m in enumerate(models.models) if m.name == name))
    await pilot.press("enter")
    await wait_for(pilot, lambda: pilot.app.focused is pilot.app.main_screen.chat.input, "input")


async def open_dialog(pilot) -> AttachScreen:
    pilot.app.main_screen.chat.input.focus()
    await pilot.press("f3")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, AttachScreen), "the dialog")
    return pilot.app.screen


async def attach_by_typing(pilot, source: str) -> None:
    dialog = await open_dialog(pilot)
    dialog.query_one(Input).value = source
    await pilot.press("enter")
    await wait_for(pilot, lambda: pilot.app.screen is pilot.app.main_screen, "dialog closed")
    await wait_for(pilot, lambda: not strip(pilot.app).preparing, "preparation")
    await pilot.pause()


async def type_draft(pilot, text: str) -> None:
    chat_input = pilot.app.main_screen.chat.input
    chat_input.focus()
    chat_input.insert(text)
    await pilot.pause()


async def test_configured_image_max_side_caps_attached_images(tmp_path: Path) -> None:
    picture = make_png(tmp_path / "pics" / "wide.png")
    app, _factory = build_app(tmp_path, image_max_side=512)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await attach_by_typing(pilot, str(picture))
        [card] = cards(app)
        assert card.prepared.sent_size == (512, 256)
        assert card_text(card)[0] == "3000×1500 → 512×256"


async def test_attach_by_path_shows_thumbnail_size_line_and_source_then_remove(
    tmp_path: Path,
) -> None:
    picture = make_png(tmp_path / "pics" / "wide.png")
    app, _factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        assert not strip(app).display  # nothing attached: no strip
        await type_draft(pilot, "What is in this picture?")
        await attach_by_typing(pilot, str(picture))

        assert strip(app).display
        [card] = cards(app)
        assert card_text(card) == ("3000×1500 → 2048×1024", "…" + str(picture)[-29:])
        assert card.prepared.sent_size == (2048, 1024)
        preview = card.query_one(ImagePreview)
        image = preview.query_one(HalfcellImage)  # headless: half-blocks, never the terminal
        await wait_for(pilot, lambda: image.size.width, "the thumbnail laid out")
        assert (image.size.width, image.size.height) == (12, 3)  # 2:1 picture, 1:2 cells
        assert app.main_screen.chat.input.text == "What is in this picture?"

        card.focus()
        await pilot.press("delete")
        await wait_for(pilot, lambda: not cards(app), "the card removed")
        await pilot.pause()
        assert not strip(app).display
        assert app.focused is app.main_screen.chat.input  # back to the editor
        assert app.main_screen.chat.input.text == "What is in this picture?"


async def test_remove_button_takes_one_of_two_images_off(tmp_path: Path) -> None:
    first = make_png(tmp_path / "a.png", (64, 64), (255, 0, 0))
    second = make_png(tmp_path / "b.png", (32, 48), (0, 255, 0))
    app, _factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await attach_by_typing(pilot, str(first))
        await attach_by_typing(pilot, str(second))
        assert [card_text(c)[0] for c in cards(app)] == ["64×64", "32×48"]
        await pilot.click(cards(app)[0].query_one(Button))
        await wait_for(pilot, lambda: len(cards(app)) == 1, "one card removed")
        assert [c.prepared.original_size for c in cards(app)] == [(32, 48)]


async def test_the_file_tree_lists_only_folders_and_images_and_picks_one(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "album"
    make_png(folder / "cat.png", (50, 40))
    (folder / "notes.txt").write_text("not an image")
    (folder / ".hidden.png").write_bytes(b"")
    (folder / "more").mkdir()
    app, _factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        app.main_screen.chat.attach_folder = folder
        dialog = await open_dialog(pilot)
        tree = dialog.query_one(ImageTree)
        await wait_for(pilot, lambda: len(tree.root.children) == 2, "the folder listed")
        assert [node.data.path.name for node in tree.root.children] == ["more", "cat.png"]
        tree.focus()
        tree.move_cursor(tree.root.children[1])
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is app.main_screen, "dialog closed")
        await wait_for(pilot, lambda: len(cards(app)) == 1, "the picked image")
        assert cards(app)[0].prepared.source == str(folder / "cat.png")


async def test_pasting_a_data_uri_attaches_it_and_plain_text_still_pastes(
    tmp_path: Path,
) -> None:
    picture = make_png(tmp_path / "photo of me.jpg", (80, 60))
    app, _factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await type_draft(pilot, "Compare these")
        chat_input = app.main_screen.chat.input
        pasted = png_bytes((40, 20))
        paste(app, data_uri(pasted))
        paste(app, f"'{picture}'\n")  # a dragged file, quoted
        await wait_for(pilot, lambda: len(cards(app)) == 2, "two pasted images")
        assert card_text(cards(app)[0]) == ("40×20", f"data URI ({len(pasted)} bytes)")
        assert cards(app)[1].prepared.original_size == (80, 60)
        assert chat_input.text == "Compare these"  # no base64, no path in the draft

        paste(app, " and tell me")
        await wait_for(pilot, lambda: chat_input.text.endswith("tell me"), "text pasted")
        assert chat_input.text == "Compare these and tell me"
        assert len(cards(app)) == 2


async def test_a_bad_source_is_one_clear_error_and_the_draft_stays(tmp_path: Path) -> None:
    kept = make_png(tmp_path / "kept.png", (20, 20))
    app, factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await choose(pilot, LLAVA)
        await type_draft(pilot, "Look at this")
        await attach_by_typing(pilot, str(kept))
        missing = tmp_path / "nowhere.png"
        await attach_by_typing(pilot, str(missing))
        await wait_for(pilot, lambda: notices(app), "the error")
        assert notices(app)[-1] == f"{missing}: no such file"
        assert list(app._notifications)[-1].title == "Cannot attach image"

        (tmp_path / "fake.png").write_text("hello")
        app.main_screen.chat.input.focus()
        paste(app, str(tmp_path / "fake.png"))
        await wait_for(pilot, lambda: "not an image" in notices(app)[-1], "the second error")
        await pilot.pause()

        assert app.main_screen.chat.input.text == "Look at this"
        assert [c.prepared.source for c in cards(app)] == [str(kept)]
        assert not list(strip(app).query_children(PendingCard))
        assert factory.received(ChatRequest) == []


async def test_send_to_a_vision_model_stores_images_and_the_session_lists_them(
    tmp_path: Path,
) -> None:
    picture = make_png(tmp_path / "wide.png")
    app, factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await choose(pilot, LLAVA)
        await type_draft(pilot, "Describe it")
        await attach_by_typing(pilot, str(picture))
        prepared = cards(app)[0].prepared
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: factory.received(ChatRequest), "the request")
        await wait_for(pilot, lambda: app.controller.pending is None, "the reply")
        await pilot.pause()

        session = app.controller.session
        folder = app.controller.store.images_dir(session.id)
        stored = folder / f"{prepared.sha256}.png"
        request = factory.received(ChatRequest)[0]
        assert request.messages[-1].content == "Describe it"
        assert request.messages[-1].images == (str(stored),)
        assert Image.open(stored).size == (2048, 1024)
        data = json.loads(app.controller.store.path_for(session.id).read_text())
        assert data["messages"][0]["images"] == [f"{session.id}.images/{prepared.sha256}.png"]
        assert data["messages"][1]["images"] == []

        assert app.main_screen.chat.input.text == ""
        assert not cards(app) and not strip(app).display
        question = app.main_screen.query_one(ChatLog).messages[0]
        preview = question.query_one(ImagePreview)
        await wait_for(pilot, lambda: preview.query(HalfcellImage), "the transcript thumbnail")
        assert str(preview.query_one(".caption").content) == "2048×1024"


async def test_resuming_a_session_shows_its_thumbnails_again(tmp_path: Path) -> None:
    picture = make_png(tmp_path / "tall.png", (300, 600), (10, 200, 10))
    app, factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await choose(pilot, LLAVA)
        await type_draft(pilot, "And this one?")
        await attach_by_typing(pilot, str(picture))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: factory.received(ChatRequest), "the request")
        await wait_for(pilot, lambda: app.controller.pending is None, "the reply")
        session_id = app.controller.session.id

    again, _factory = build_app(tmp_path)
    async with again.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        again.controller.resume(session_id)
        await again.main_screen.chat.show_session(again.controller.session, {})
        question = again.main_screen.query_one(ChatLog).messages[0]
        preview = question.query_one(ImagePreview)
        await wait_for(pilot, lambda: preview.query(HalfcellImage), "the thumbnail")
        image = preview.query_one(HalfcellImage)
        await wait_for(pilot, lambda: image.size.width, "the thumbnail laid out")
        assert str(preview.query_one(".caption").content) == "300×600"
        assert (image.size.width, image.size.height) == (6, 6)  # 1:2 picture, 6 rows high


async def test_a_text_model_refuses_images_before_sending_and_keeps_the_draft(
    tmp_path: Path,
) -> None:
    picture = make_png(tmp_path / "wide.png", (100, 50))
    app, factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await choose(pilot, SMOL)
        await type_draft(pilot, "What colour is it?")
        await attach_by_typing(pilot, str(picture))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: notices(app), "the refusal")
        await pilot.pause()
        assert notices(app)[-1] == TEXT_MODEL_ERROR
        assert factory.received(ChatRequest) == []
        assert app.main_screen.chat.input.text == "What colour is it?"
        assert [c.prepared.original_size for c in cards(app)] == [(100, 50)]
        assert list((tmp_path / "sessions").glob("*")) == []  # nothing stored, no session

        await choose(pilot, LLAVA)  # switch to a vision model and send the same draft
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: factory.received(ChatRequest), "the request")
        assert len(factory.received(ChatRequest)[0].messages[-1].images) == 1


async def test_a_failed_turn_gives_back_text_and_images(tmp_path: Path) -> None:
    picture = make_png(tmp_path / "wide.png", (100, 50))
    script = Script(chat_error=("InsufficientMemoryError", "insufficient memory for llava"))
    app, factory = build_app(tmp_path, script)
    async with app.run_test(size=(120, 40)) as pilot:
        await choose(pilot, LLAVA)
        await type_draft(pilot, "Describe it")
        await attach_by_typing(pilot, str(picture))
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: factory.received(ChatRequest), "the request")
        await wait_for(pilot, lambda: app.controller.pending is None, "the failure")
        await wait_for(pilot, lambda: cards(app), "the image given back")
        assert app.main_screen.chat.input.text == "Describe it"
        assert [c.prepared.original_size for c in cards(app)] == [(100, 50)]
        assert app.controller.session.messages == ()
        assert list((tmp_path / "sessions").glob("*")) == []  # session and images removed

        await pilot.press("ctrl+s")  # the problem is gone: the same draft goes out again
        await wait_for(pilot, lambda: len(factory.received(ChatRequest)) == 2, "the retry")
        await wait_for(pilot, lambda: app.controller.pending is None, "the reply")
        stored = Path(factory.received(ChatRequest)[1].messages[-1].images[0])
        assert stored.is_file()


async def test_images_are_prepared_off_the_ui_and_runner_threads_and_sending_waits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    picture = make_png(tmp_path / "slow.png", (40, 40))
    gate, threads = threading.Event(), []
    real_prepare = chat_pane_module.prepare_image

    def slow_prepare(source: str, max_side: int):
        threads.append(threading.current_thread())
        gate.wait(10)
        return real_prepare(source, max_side)

    monkeypatch.setattr(chat_pane_module, "prepare_image", slow_prepare)
    app, factory = build_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await choose(pilot, LLAVA)
        await type_draft(pilot, "Quick question")
        dialog = await open_dialog(pilot)
        dialog.query_one(Input).value = str(picture)
        await pilot.press("enter")
        await wait_for(pilot, lambda: threads, "preparation started")
        assert strip(app).preparing == 1
        assert "preparing" in str(strip(app).query_one(PendingCard).content)
        await pilot.press("ctrl+s")  # the UI still answers keys while the image is read
        await wait_for(pilot, lambda: "still being prepared" in "".join(notices(app)), "notice")
        assert factory.received(ChatRequest) == []
        gate.set()
        await wait_for(pilot, lambda: cards(app), "the image")
        assert threads[0] is not threading.main_thread()
        assert threads[0] is not factory.thread
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: factory.received(ChatRequest), "the request")


async def test_thumbnails_are_made_off_the_ui_thread_when_attaching_and_given_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = make_png(tmp_path / "a.png", (2000, 1000), (255, 0, 0))
    second = make_png(tmp_path / "b.png", (1000, 2000), (0, 255, 0))
    shrinking: list[threading.Thread] = []
    real_thumbnail = Image.Image.thumbnail

    def recording_thumbnail(self, *args, **kwargs):
        shrinking.append(threading.current_thread())
        return real_thumbnail(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "thumbnail", recording_thumbnail)
    script = Script(chat_error=("InsufficientMemoryError", "insufficient memory for llava"))
    app, factory = build_app(tmp_path, script)
    async with app.run_test(size=(120, 40)) as pilot:
        await choose(pilot, LLAVA)
        await type_draft(pilot, "Compare them")
        await attach_by_typing(pilot, str(first))
        await attach_by_typing(pilot, str(second))
        assert len(shrinking) == 2
        await pilot.press("ctrl+s")  # fails: both images are given back to the editor
        await wait_for(pilot, lambda: factory.received(ChatRequest), "the request")
        await wait_for(pilot, lambda: app.controller.pending is None, "the failure")
        await wait_for(pilot, lambda: len(cards(app)) == 2, "the images given back")
        previews = [card.query_one(ImagePreview) for card in cards(app)]
        await wait_for(
            pilot, lambda: all(p.query(HalfcellImage) for p in previews), "the thumbnails"
        )
        assert [p.pixel_size for p in previews] == [(2000, 1000), (1000, 2000)]
        assert len(shrinking) >= 4  # two attached, two given back (and the sent question's)
        assert threading.main_thread() not in shrinking
