"""The whole app on real models: attach a picture, ask the tiny vision model, get a reply.

The app is built as ``mlxbench`` builds it (real catalog, real runner on the app's worker
thread, ``MLXBENCH_HOME`` in a temp folder) with the tiny random-weight LLaVA added to the
catalog through the catalog's own folder describer. Its words are arbitrary; what matters is
that the image goes through the dialog, is prepared, previewed, stored with the session,
reaches the vision engine, and tokens stream back. Then, with SmolLM2 chosen, the same
question is refused before anything is sent and the draft stays, images included.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from textual.message_pump import MessagePump
from textual.widgets import Input
from textual_image.widget import HalfcellImage

from workbench.cli import build_parser
from workbench.commands.app import runner_factory
from workbench.commands.common import setup
from workbench.core.models.demo import installed_demo_models
from workbench.core.models.folder import describe_folder
from workbench.core.protocol import ChatDone, ChatRequest, Event, Request, TokenEvent
from workbench.core.types import ModelInfo, ModelKind, SamplingSettings
from workbench.tui.app import MlxbenchApp
from workbench.tui.chat.attach_screen import AttachScreen
from workbench.tui.chat.attachments import AttachmentCard
from workbench.tui.chat.image_preview import ImagePreview
from workbench.tui.chat.log import ChatLog
from workbench.tui.messages import ReplyDone
from workbench.tui.pool.model_list import ModelList

pytestmark = [pytest.mark.real, pytest.mark.anyio]

SMOL = "SmolLM2-135M-Instruct"
QUESTION = "What colour is this picture?"


async def wait_until(pilot, condition, what: str, limit_s: float = 900) -> None:
    """Poll while the app runs; fail naming ``what`` past a generous bound."""
    for _ in range(int(limit_s / 0.1)):
        if condition():
            return
        await pilot.pause(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def build(home: Path, tiny_vlm_dir: Path) -> tuple[MlxbenchApp, ModelInfo]:
    args = build_parser().parse_args(["--memory-limit", "2GB", "--max-models", "2"])
    found = setup(args)
    tiny = describe_folder(tiny_vlm_dir, model_id="folder/tiny-llava", name="tiny-llava",
                           source="folder")  # fmt: skip
    catalog = [*found.catalog, tiny]
    factory = runner_factory(catalog, found.budget, found.config)
    return MlxbenchApp(catalog, factory, home / "sessions"), tiny


async def choose(pilot, name: str) -> None:
    app = pilot.app
    models = app.main_screen.query_one(ModelList)
    models.focus()
    models.move_cursor(row=next(i for i, m in enumerate(models.models) if m.name == name))
    await pilot.press("enter")
    await wait_until(pilot, lambda: app.focused is app.main_screen.chat.input, "the chat input")


async def attach(pilot, picture: Path) -> AttachmentCard:
    app = pilot.app
    await pilot.press("f3")
    await wait_until(pilot, lambda: isinstance(app.screen, AttachScreen), "the attach dialog")
    app.screen.query_one(Input).value = str(picture)
    await pilot.press("enter")
    strip = app.main_screen.chat.attachments
    await wait_until(pilot, lambda: strip.attachments and not strip.preparing, "the image", 60)
    await pilot.pause()
    return strip.query_children(AttachmentCard).last()


async def test_tiny_vision_model_sees_an_attached_image_and_a_text_model_refuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_vlm_dir: Path
) -> None:
    if SMOL not in installed_demo_models():
        pytest.fail("demo model SmolLM2 is not installed: run `mlxbench demo install`")
    home = tmp_path / "home"
    monkeypatch.setenv("MLXBENCH_HOME", str(home))
    picture = tmp_path / "red.png"
    Image.new("RGB", (3000, 2000), (220, 20, 20)).save(picture)
    app, tiny = build(home, tiny_vlm_dir)
    assert tiny.kind is ModelKind.VISION and tiny.usable, tiny.problem
    events: list[Event] = []
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.main_screen
        turns_done, feed = screen.turns.done, screen.chat.feed

        async def recording_done(message: ReplyDone) -> None:
            events.append(message.done)
            await turns_done(message)

        def recording_feed(text: str) -> None:
            events.append(TokenEvent(None, text))
            feed(text)

        screen.turns.done = recording_done  # type: ignore[method-assign]
        screen.chat.feed = recording_feed  # type: ignore[method-assign]
        submitted: list[Request] = []
        submit = app.bridge.submit

        def recording_submit(request: Request, to: MessagePump | None = None) -> Request:
            submitted.append(request)
            return submit(request, to)

        app.bridge.submit = recording_submit  # type: ignore[method-assign]
        await wait_until(pilot, lambda: screen.snapshot is not None, "the engine", 300)
        await choose(pilot, "tiny-llava")
        app.controller.update_settings("", SamplingSettings(temperature=0.0, max_tokens=8))
        screen.chat.input.insert(QUESTION)
        card = await attach(pilot, picture)
        size_line = str(card.query_one(".size").content)
        assert size_line == "3000×2000 → 2048×1365"
        assert card.query_one(ImagePreview).query(HalfcellImage)

        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: app.controller.session.messages, "the question")
        await wait_until(pilot, lambda: app.controller.pending is None, "the reply")
        await pilot.pause()
        notes = [str(n.message) for n in app._notifications]
        done = [e for e in events if isinstance(e, ChatDone)]
        assert len(done) == 1, notes
        assert done[0].stats.generation_tokens > 0
        streamed = "".join(e.text for e in events if isinstance(e, TokenEvent))
        assert streamed == done[0].text
        views = screen.query_one(ChatLog).messages
        assert [v.label for v in views] == ["You", "tiny-llava"]
        preview = views[0].query_one(ImagePreview)
        await wait_until(pilot, lambda: preview.query(HalfcellImage), "the turn's thumbnail", 30)
        assert str(preview.query_one(".caption").content) == "2048×1365"

        session = app.controller.session
        saved = json.loads(app.controller.store.path_for(session.id).read_text())
        [image_ref] = saved["messages"][0]["images"]
        assert image_ref.startswith(f"{session.id}.images/")
        assert Image.open(home / "sessions" / image_ref).size == (2048, 1365)

        await choose(pilot, SMOL)
        screen.chat.input.insert("And now?")
        await attach(pilot, picture)
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert [str(n.message) for n in app._notifications][-1] == (
            f"{SMOL} is a text model and cannot see images; choose a vision model"
        )
        assert app.controller.pending is None
        assert len(app.controller.session.messages) == 2  # nothing was added or sent
        assert screen.chat.input.text == "And now?"
        assert len(screen.chat.attachments.attachments) == 1
        assert len([e for e in events if isinstance(e, ChatDone)]) == 1
        assert len([r for r in submitted if isinstance(r, ChatRequest)]) == 1  # not sent
