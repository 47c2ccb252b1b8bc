"""The compare view against the fake runner: plan line, two streamed lanes with their costs,
raw completion for base models, cancel, refusals, and the compare turn in the session."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from fake_runner import MB, FakeFactory, Script, StepClock, make_catalog, ready, wait_for
from textual.widgets import Markdown, Select, Static

from workbench.core.protocol import ChatRequest, PlanRequest
from workbench.tui.app import MlxbenchApp
from workbench.tui.compare import CompareScreen
from workbench.tui.compare.lane import CompareLane

pytestmark = pytest.mark.anyio

SMOL, QWEN, LLAVA = "demo/SmolLM2-135M-Instruct", "demo/Qwen2.5-1.5B-Instruct", "demo/llava-tiny"
REPLY = "The capital of France is **Paris**."


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))


def make_app(tmp_path: Path, script: Script | None = None, base: str = "", **options: int):
    catalog = [replace(m, tuning="base") if m.id == base else m for m in make_catalog()]
    factory = FakeFactory(script or Script(), catalog, **options)
    app = MlxbenchApp(
        catalog, factory, tmp_path / "sessions", theme="textual-dark", clock=StepClock()
    )
    return app, factory


async def open_compare(pilot, a: str, b: str) -> CompareScreen:
    await ready(pilot)
    await pilot.press("f6")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CompareScreen), "compare view")
    screen = pilot.app.screen
    screen.query_one("#pick-A", Select).value = a
    screen.query_one("#pick-B", Select).value = b
    await pilot.pause()
    return screen


def plan_line(screen: CompareScreen) -> str:
    return str(screen.query_one("#compare-plan", Static).content)


def lane_text(screen: CompareScreen, side: str) -> tuple[str, str, str]:
    lane = screen.query_one(f"#lane-{side}", CompareLane)
    stats = str(lane.query_one(".lane-stats", Static).content)
    return str(lane.border_title), lane.query_one(Markdown).source, stats


async def send(pilot, screen: CompareScreen, text: str) -> None:
    from workbench.tui.chat.input import ChatInput

    box = screen.query_one(ChatInput)
    box.focus()
    box.insert(text)
    await pilot.press("ctrl+s")


async def test_both_fit_stream_side_by_side_with_stats_and_are_saved(tmp_path: Path) -> None:
    app, factory = make_app(tmp_path, Script(reply=REPLY))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_compare(pilot, SMOL, QWEN)
        await wait_for(pilot, lambda: plan_line(screen).startswith("plan: both fit"), "plan")
        assert "SmolLM2-135M-Instruct (98.0 MB) + Qwen2.5-1.5B-Instruct (900.0 MB)" in (
            plan_line(screen)
        )
        await send(pilot, screen, "What is the capital of France?")
        await wait_for(pilot, lambda: len(factory.received(ChatRequest)) == 2, "two requests")
        await wait_for(pilot, lambda: "tok/s" in lane_text(screen, "B")[2], "B's stats")
        a, b = lane_text(screen, "A"), lane_text(screen, "B")
    assert a == (
        "A · SmolLM2-135M-Instruct (chat)",
        REPLY,
        "first token 0.42 s · 12.5 tok/s · peak memory 180.0 MB · size 92.0 MB · 6 tokens · stop",
    )
    assert b[:2] == ("B · Qwen2.5-1.5B-Instruct (chat)", REPLY)
    assert "size 894.0 MB" in b[2]
    requests = factory.received(ChatRequest)
    assert [r.model_id for r in requests] == [SMOL, QWEN] and not any(r.raw for r in requests)
    files = sorted((tmp_path / "sessions").glob("*.json"))
    data = json.loads(files[0].read_text())
    assert data["title"] == "Compare: SmolLM2-135M-Instruct vs Qwen2.5-1.5B-Instruct"
    assert [(m["role"], m.get("lane"), m["model_id"]) for m in data["messages"]] == [
        ("user", None, None),
        ("assistant", "a", SMOL),
        ("assistant", "b", QWEN),
    ]


async def test_room_for_one_says_a_is_evicted_between(tmp_path: Path) -> None:
    app, _factory = make_app(tmp_path, budget_bytes=950 * MB)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        app.main_screen.load_model(SMOL)
        await wait_for(pilot, lambda: app.main_screen.pool.is_loaded(SMOL), "A loaded")
        screen = await open_compare(pilot, SMOL, QWEN)
        await wait_for(pilot, lambda: plan_line(screen).startswith("plan: one at a time"), "plan")
        line = plan_line(screen)
    assert line.startswith("plan: one at a time: SmolLM2-135M-Instruct (")
    assert "is evicted before Qwen2.5-1.5B-Instruct (900.0 MB) loads" in line


async def test_cannot_fit_sends_nothing_and_keeps_the_prompt(tmp_path: Path) -> None:
    app, factory = make_app(tmp_path, budget_bytes=512 * MB)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_compare(pilot, SMOL, QWEN)
        await wait_for(pilot, lambda: "cannot compare" in plan_line(screen), "plan")
        await send(pilot, screen, "hello")
        pairs = lambda: [r for r in factory.received(PlanRequest) if len(r.model_ids) == 2]  # noqa: E731
        await wait_for(pilot, lambda: len(pairs()) >= 2, "a fresh plan")
        await pilot.pause(0.1)
        from workbench.tui.chat.input import ChatInput

        kept, line = screen.query_one(ChatInput).text, plan_line(screen)
    assert not factory.received(ChatRequest)
    assert kept == "hello"
    assert "Qwen2.5-1.5B-Instruct does not fit" in line


async def test_a_base_model_gets_a_raw_completion(tmp_path: Path) -> None:
    app, factory = make_app(tmp_path, base=QWEN)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_compare(pilot, SMOL, QWEN)
        await send(pilot, screen, "The capital of France is")
        await wait_for(pilot, lambda: "tok/s" in lane_text(screen, "B")[2], "B's stats")
        title_b = lane_text(screen, "B")[0]
    chat, raw = factory.received(ChatRequest)
    assert (chat.raw, raw.raw) == (False, True)
    assert [m.content for m in raw.messages] == ["The capital of France is"]
    assert title_b == "B · Qwen2.5-1.5B-Instruct (complete)"


async def test_escape_cancels_both_then_goes_back(tmp_path: Path) -> None:
    app, factory = make_app(tmp_path, Script(reply=REPLY, hold_after=2))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_compare(pilot, SMOL, LLAVA)
        await send(pilot, screen, "hi")
        await wait_for(pilot, lambda: "capital" in (screen.lanes[0].text), "two tokens of A")
        await pilot.press("escape")
        await wait_for(pilot, lambda: "cancelled" in lane_text(screen, "B")[2], "both ended")
        assert all(r.cancel.is_set() for r in factory.received(ChatRequest))
        assert lane_text(screen, "A")[1] == "The capital"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main_screen, "back to the workbench")
        assert app.bridge.asked_by(screen) == []


async def test_the_same_model_twice_is_refused_without_a_plan(tmp_path: Path) -> None:
    app, factory = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_compare(pilot, SMOL, SMOL)
        await send(pilot, screen, "hi")
        await pilot.pause(0.1)
        line = plan_line(screen)
    assert line == "choose two different models"
    pairs = [r for r in factory.received(PlanRequest) if len(r.model_ids) == 2]  # not the pool's
    assert not pairs and not factory.received(ChatRequest)


async def test_completion_mode_for_base_models_in_the_chat(tmp_path: Path) -> None:
    app, factory = make_app(tmp_path, base=QWEN)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        app.main_screen.choose_model(QWEN)
        await pilot.pause()
        header = str(app.main_screen.query_one("#chat-header", Static).content)
        assert "completion mode" in header
        app.main_screen.chat.input.insert("Once upon a time")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: factory.received(ChatRequest), "the request")
        await wait_for(pilot, lambda: app.controller.pending is None, "the reply")
        await pilot.press("f7")  # back to chat
        app.main_screen.chat.input.insert("And then?")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: len(factory.received(ChatRequest)) == 2, "second")
    raw, chat = factory.received(ChatRequest)
    assert raw.raw and [m.content for m in raw.messages] == ["Once upon a time"]
    assert not chat.raw and [m.content for m in chat.messages][-1] == "And then?"


async def test_the_palette_opens_the_compare_view(tmp_path: Path) -> None:
    app, _factory = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await ready(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        for key in "compare two":
            await pilot.press("space" if key == " " else key)
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CompareScreen), "compare view")
