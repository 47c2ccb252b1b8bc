"""The compare view: the same prompt to two models, replies side by side, with their costs.

Pick model A and model B (and the mode: ``auto`` completes for base models and chats with
the others), type a prompt, Ctrl+S. The pool's plan for loading A then B is asked first
and shown as one line — both fit, one is evicted between them, or it cannot be done (then
nothing is sent and the prompt stays). The runner serves one request at a time, so A's
reply streams, then B's; each lane ends with its time to first token, tokens/s, peak memory
and the model's size in the pool. Every comparison is saved as a compare turn in a session
of its own ("Compare: A vs B"), listed with the others (Ctrl+O in the main screen).

The runner's messages for the requests this screen submits come straight here (the bridge
posts them to the screen that asked): the plan, each lane's tokens and end, and the loads
and evictions its requests cause. Esc cancels a running comparison, or goes back to the
workbench when none is running.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Header, Select, Static

from workbench.core.compare import (
    CANNOT_FIT,
    MODES,
    ComparePlan,
    LaneResult,
    check_pair,
    compare_messages,
    describe_plan,
    lane_request,
)
from workbench.core.errors import WorkbenchError
from workbench.core.models.kinds import can_chat
from workbench.core.protocol import ChatDone, ChatRequest, PlanRequest, RequestFailed
from workbench.core.sessions.store import Session, SessionStore
from workbench.core.types import ModelInfo, SamplingSettings
from workbench.tui.bridge import RunnerBridge
from workbench.tui.chat.input import ChatInput
from workbench.tui.compare.lane import CompareLane
from workbench.tui.messages import (
    LoadBegan,
    LoadFinished,
    LoadPlanReady,
    ModelDropped,
    PoolUpdated,
    ReplyDone,
    ReplyTokens,
    RequestFailure,
)

SIDES = ("A", "B")


class CompareScreen(Screen[None]):
    """Two lanes, one prompt, one plan line."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel_or_close", "Cancel / back"),
        Binding("f6", "close", "Back", show=False, priority=True),
    ]

    DEFAULT_CSS = """
    CompareScreen #compare-pick { height: auto; }
    CompareScreen #compare-pick Select { width: 1fr; }
    CompareScreen #compare-mode { width: 20; }
    CompareScreen #compare-plan { height: auto; padding: 0 1; color: $text-muted; }
    CompareScreen #compare-plan.-cannot { color: $error; }
    CompareScreen #compare-lanes { height: 1fr; }
    CompareScreen #compare-input { height: 5; }
    """

    def __init__(
        self,
        catalog: Sequence[ModelInfo],
        bridge: RunnerBridge,
        store: SessionStore,
        *,
        sampling: SamplingSettings,
        system_prompt: str = "",
        model_a: str | None = None,
        model_b: str | None = None,
    ) -> None:
        super().__init__()
        self.models = {m.id: m for m in catalog if m.usable and can_chat(m.kind)}
        self.names = {m.id: m.name for m in catalog}
        self.bridge, self.store = bridge, store
        self.sampling, self.system_prompt = sampling, system_prompt
        self.initial = (model_a, model_b)
        self.plan: ComparePlan | None = None
        self.session: Session | None = None
        self.sizes: dict[str, int] = {}  # model id → weights in the pool, from its events
        self._plan_id: int | None = None
        self._waiting_prompt: str | None = None  # sent once the fresh plan says it can
        self._jobs: dict[int, tuple[int, ChatRequest]] = {}  # request id → (lane, request)
        self._results: list[LaneResult | None] = [None, None]
        self._prompt = ""

    # ----------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield Header()
        options = [(m.name + ("  (base)" if m.is_base else ""), m.id) for m in self.models.values()]
        with Horizontal(id="compare-pick"):
            for side, initial in zip(SIDES, self.initial, strict=True):
                value = initial if initial in self.models else Select.NULL
                yield Select(options, prompt=f"model {side}", value=value, id=f"pick-{side}")
            yield Select(
                [(m, m) for m in MODES], value="auto", allow_blank=False, id="compare-mode"
            )
        yield Static("choose two models", id="compare-plan")
        with Horizontal(id="compare-lanes"):
            for side in SIDES:
                yield CompareLane(side, id=f"lane-{side}")
        yield ChatInput(id="compare-input")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "compare two models (Ctrl+S sends · Esc cancels / goes back)"
        self._selection_changed()
        prompt = self.query_one(ChatInput)
        prompt.placeholder = "Prompt for both models… (Ctrl+S sends, Enter adds a line)"
        prompt.focus()

    def on_unmount(self) -> None:
        for _lane, request in self._jobs.values():
            request.cancel.set()

    @property
    def lanes(self) -> tuple[CompareLane, CompareLane]:
        return (self.query_one("#lane-A", CompareLane), self.query_one("#lane-B", CompareLane))

    def chosen(self) -> tuple[ModelInfo | None, ModelInfo | None]:
        picks = (self.query_one(f"#pick-{side}", Select).value for side in SIDES)
        return tuple(self.models.get(p) if isinstance(p, str) else None for p in picks)  # type: ignore[return-value]

    @property
    def mode(self) -> str:
        value = self.query_one("#compare-mode", Select).value
        return value if isinstance(value, str) else "auto"

    # ----------------------------------------------------------------- choosing

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        self._selection_changed()

    def _selection_changed(self) -> None:
        pair = self.chosen()
        for lane, info in zip(self.lanes, pair, strict=True):
            if info is not None:
                lane.set_title(info.name, "base" if info.is_base else "")
        self.plan = None
        if pair[0] is None or pair[1] is None:
            self.show_plan_line("choose two models", cannot=False)
        elif pair[0].id == pair[1].id:
            self.show_plan_line("choose two different models", cannot=True)
        else:
            self.ask_plan()

    def ask_plan(self) -> None:
        a, b = self.chosen()
        if a is None or b is None:
            return
        plan = PlanRequest(model_ids=(a.id, b.id))
        self._plan_id = self.bridge.submit(plan, to=self).request_id

    def show_plan_line(self, text: str, *, cannot: bool) -> None:
        line = self.query_one("#compare-plan", Static)
        line.update(text)
        line.set_class(cannot, "-cannot")

    # ----------------------------------------------------------------- sending

    def on_chat_input_submitted(self, event: ChatInput.Submitted) -> None:
        event.stop()
        if self._jobs:
            self.notify("A comparison is running: wait, or press Esc to cancel it.")
            return
        a, b = self.chosen()
        if a is None or b is None:
            self.notify("Choose model A and model B first.", severity="warning")
            return
        if not event.text.strip():
            self.notify("Type a prompt first.", severity="warning")
            return
        try:
            check_pair(a, b)
        except WorkbenchError as exc:
            self.notify(str(exc), severity="warning")
            return
        self._waiting_prompt = event.text  # sent when the fresh plan arrives
        self.ask_plan()

    async def start(self, prompt: str) -> None:
        """Both requests go in at once; the runner serves A's, then B's."""
        pair = self.chosen()
        self._prompt, self._results = prompt, [None, None]
        for index, (lane, info) in enumerate(zip(self.lanes, pair, strict=True)):
            assert info is not None
            request = lane_request(
                info, prompt, self.sampling, self.mode, system=self.system_prompt
            )
            lane.set_title(info.name, "complete" if request.raw else "chat")
            await lane.begin("generating…" if index == 0 else f"waiting for {SIDES[0]}…")
            self._jobs[request.request_id] = (index, request)
            self.bridge.submit(request, to=self)

    def action_cancel_or_close(self) -> None:
        if self._jobs:
            for _lane, request in self._jobs.values():
                request.cancel.set()
            self.notify("Cancelling…", timeout=2)
        else:
            self.action_close()

    def action_close(self) -> None:
        self.dismiss(None)

    # ----------------------------------------------------------------- the runner's messages

    def _lane_of(self, request_id: int) -> CompareLane | None:
        job = self._jobs.get(request_id)
        return self.lanes[job[0]] if job is not None else None

    @on(ReplyTokens)
    def _tokens(self, message: ReplyTokens) -> None:
        text, _generated = message.take()
        lane = self._lane_of(message.chat.request_id)
        if lane is None or not text:
            return
        if lane.stream is not None and not lane.stream.text:
            lane.show_status("generating…")
        lane.feed(text)

    @on(LoadBegan)
    def _loading(self, message: LoadBegan) -> None:
        lane = self._lane_of(message.request.request_id if message.request else -1)
        if lane is not None:
            lane.show_status(f"loading {self.names.get(message.model_id, message.model_id)}…")

    @on(ModelDropped)
    def _dropped(self, message: ModelDropped) -> None:
        name = self.names.get(message.model_id, message.model_id)
        self.notify(f"{name} evicted to make room", title="Compare", timeout=4)

    @on(PoolUpdated)
    def _pool_updated(self, message: PoolUpdated) -> None:
        self.sizes.update((e.model_id, e.bytes) for e in message.snapshot.entries)

    @on(LoadFinished)
    def _loaded(self, message: LoadFinished) -> None:
        self.sizes[message.model_id] = message.measured_bytes

    @on(LoadPlanReady)
    async def _plan_ready(self, message: LoadPlanReady) -> None:
        if message.request is not None and message.request.request_id == self._plan_id:
            await self._planned(message)

    @on(ReplyDone)
    async def _reply_done(self, message: ReplyDone) -> None:
        if message.chat.request_id in self._jobs:
            await self._lane_done(message.chat, message.done)

    @on(RequestFailure)
    async def _failed(self, message: RequestFailure) -> None:
        self.notify(message.failure.message, title=message.title, severity="error", timeout=8)
        request_id = message.request.request_id if message.request else None
        if request_id == self._plan_id:
            await self._planned(message)
        elif isinstance(message.request, ChatRequest) and request_id in self._jobs:
            await self._lane_done(message.request, message.failure)

    async def _planned(self, message: LoadPlanReady | RequestFailure) -> None:
        prompt, self._waiting_prompt = self._waiting_prompt, None
        if isinstance(message, RequestFailure):
            self.show_plan_line(f"no plan: {message.failure.message}", cannot=True)
            return
        self.plan = describe_plan(message.plans, lambda m: self.names.get(m, m))
        cannot = self.plan.outcome == CANNOT_FIT
        self.show_plan_line(f"plan: {self.plan.line}", cannot=cannot)
        if prompt is None:
            return
        if cannot:
            self.notify(self.plan.line, title="Cannot compare", severity="error", timeout=8)
            return
        await self.start(prompt)

    async def _lane_done(self, request: ChatRequest, event: ChatDone | RequestFailed) -> None:
        index, _request = self._jobs.pop(request.request_id)
        lane = self.lanes[index]
        if isinstance(event, ChatDone):
            size = self.sizes.get(request.model_id)
            if size is None:
                size = self.models[request.model_id].estimated_bytes or None
            await lane.finish(event.text, event.stats, size)
            if event.text or event.stats.finish_reason != "cancelled":
                mode = "complete" if request.raw else "chat"
                self._results[index] = LaneResult(
                    request.model_id, mode, event.text, event.stats, size
                )
        elif isinstance(event, RequestFailed):
            await lane.fail(event.message)
        if not self._jobs:
            self.record()

    # ----------------------------------------------------------------- session

    def record(self) -> None:
        """Save the comparison as a compare turn (nothing, if neither side answered)."""
        if not any(self._results):
            return
        first = next(r.model_id for r in self._results if r is not None)
        session = self.session or self.store.new_session(
            model_id=first, system_prompt=self.system_prompt, sampling=self.sampling
        )
        if not session.title:
            names = [info.name for info in self.chosen() if info is not None]
            session = replace(session, title="Compare: " + " vs ".join(names))
        for message in compare_messages(self._prompt, self._results, self.store.now()):
            session = session.with_message(message)
        self.session = session
        try:
            self.session = self.store.save(session)
        except WorkbenchError as exc:
            self.notify(f"could not save the comparison: {exc}", severity="error", timeout=8)
