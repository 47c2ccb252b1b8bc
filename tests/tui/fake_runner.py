"""A runner double for TUI tests: same protocol, scripted behaviour, no MLX.

Like the real runner, ``submit`` returns the request's handle (``core.runner.handle``) and
pushes the request's events to its sink, after the one callback has seen them. It keeps a
tiny pool (budget, LRU order, pins, leases) so load / pin / evict / plan flows
look real, streams scripted replies token by token, honours cancel events, and fails on
demand. Nothing here reads a clock: sizes, load times and stats are fixed, so snapshots of
the screen are deterministic.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from textual.pilot import Pilot

from workbench.core.protocol import (
    ChatDone,
    ChatRequest,
    EmbeddingsReady,
    EmbedRequest,
    Event,
    LoadPlan,
    LoadProgress,
    LoadRequest,
    LoadStarted,
    ModelEvicted,
    ModelLoaded,
    PinRequest,
    PlanReady,
    PlanRequest,
    PoolChanged,
    PoolEntryView,
    PoolSnapshot,
    PromptProgress,
    Request,
    RequestFailed,
    RunnerReady,
    ShutdownRequest,
    TokenEvent,
    UnloadRequest,
)
from workbench.core.runner.handle import RequestHandle, Sink
from workbench.core.types import EmbeddingResult, Family, ModelInfo, ModelKind, TurnStats
from workbench.tui.app import MlxbenchApp

MB = 1024**2
GB = 1024**3


def make_catalog() -> list[ModelInfo]:
    """Fixed models of every kind (paths are never read)."""

    def model(name: str, kind: ModelKind, family: Family, size: int, quant: str | None = None):
        return ModelInfo(
            id=f"demo/{name}",
            name=name,
            path=f"/models/{name}",  # type: ignore[arg-type]
            kind=kind,
            family=family,
            source="demo",
            quantization=quant,
            estimated_bytes=size,
        )

    broken = ModelInfo(
        id="local/broken",
        name="broken-model",
        path="/models/broken",  # type: ignore[arg-type]
        kind=ModelKind.TEXT,
        family=Family.OTHER,
        source="folder",
        usable=False,
        problem="no config.json in /models/broken",
    )
    return [
        model("SmolLM2-135M-Instruct", ModelKind.TEXT, Family.LLAMA, 98 * MB, "q4"),
        model("Qwen2.5-1.5B-Instruct", ModelKind.TEXT, Family.QWEN, 900 * MB, "q4"),
        model("llava-tiny", ModelKind.VISION, Family.LLAMA, 60 * MB),
        model("all-MiniLM-L6-v2", ModelKind.EMBEDDINGS, Family.OTHER, 87 * MB),
        broken,
    ]


@dataclass
class Script:
    """What the fake does. Tests change it before (or while) the app runs."""

    reply: str = "The capital of France is **Paris**."
    hold_after: int | None = None  # stop streaming after this many tokens until cancelled
    chat_error: tuple[str, str] | None = None  # (error_type, message) for the next chat
    load_error: dict[str, tuple[str, str]] = field(default_factory=dict)
    ready: threading.Event = field(default_factory=threading.Event)  # set: RunnerReady sent
    start_gate: threading.Event | None = None  # if set, the engine "starts" once it is set
    load_gate: threading.Event | None = None  # if set, loads pause after their first step
    token_gate: threading.Event | None = None  # if set, the reply waits for it after 1 token
    token_pause: float = 0.0  # seconds between two tokens (a model's pace)
    prompt_steps: tuple[int, ...] = (0,)  # prompt tokens reported read before the last report
    prompt_gate: threading.Event | None = None  # if set, reading the prompt waits for it
    context_length: int | None = 8192


def tokens_of(text: str) -> list[str]:
    """Split a reply into word-ish tokens (spaces kept in front, like real tokenizers)."""
    words = text.split(" ")
    return [words[0]] + [f" {w}" for w in words[1:]]


PROMPT_TOKENS = 21


def stats(tokens: int, finish: str) -> TurnStats:
    return TurnStats(
        prompt_tokens=PROMPT_TOKENS,
        generation_tokens=tokens,
        time_to_first_token_s=0.42,
        prompt_tps=50.0,
        generation_tps=12.5,
        peak_memory_bytes=180 * MB,
        finish_reason=finish,
    )


class FakeRunner:
    """Implements ``run``/``submit``/``stop`` like the real runner, on its own thread."""

    def __init__(
        self,
        callback: Callable[[Event], None],
        *,
        catalog: list[ModelInfo],
        script: Script,
        budget_bytes: int = 1 * GB,
        max_models: int = 3,
    ) -> None:
        self._report = callback
        self.handles: dict[int, RequestHandle] = {}
        self.models = {m.id: m for m in catalog}
        self.script = script
        self.budget_bytes = budget_bytes
        self.max_models = max_models
        self.requests: queue.Queue[Request] = queue.Queue()
        self.loaded: dict[str, PoolEntryView] = {}  # LRU order: least recent first
        self.received: list[Request] = []
        self.stopped = threading.Event()  # set when run() has returned
        self._tick = 0

    # ----------------------------------------------------------------- runner API

    def submit(self, request: Request, sink: Sink | None = None) -> RequestHandle:
        handle = RequestHandle(request, sink)
        if request.final_event is not None:
            self.handles[request.request_id] = handle
        self.requests.put(request)
        return handle

    def callback(self, event: Event) -> None:
        """The runner's callback sees every event; then the request's handle gets it."""
        self._report(event)
        handle = self.handles.get(event.request_id) if event.request_id is not None else None
        if handle is not None:
            handle.deliver(event)
            if handle.finished:
                self.handles.pop(event.request_id, None)

    def stop(self) -> None:
        self.requests.put(ShutdownRequest())

    def run(self) -> None:
        if self.script.start_gate is not None:
            self.script.start_gate.wait()
        self.callback(RunnerReady(None, blas="fake BLAS", device="cpu"))
        self._publish(None)
        self.script.ready.set()
        while True:
            request = self.requests.get()
            if isinstance(request, ShutdownRequest):
                self.stopped.set()
                return
            self.received.append(request)
            self._handle(request)

    # ----------------------------------------------------------------- pool

    def _snapshot(self) -> PoolSnapshot:
        entries = tuple(self.loaded.values())
        return PoolSnapshot(
            entries=entries,
            budget_bytes=self.budget_bytes,
            max_models=self.max_models,
            used_bytes=sum(e.bytes for e in entries),
            pinned_bytes=sum(e.bytes for e in entries if e.pinned),
        )

    def _publish(self, request_id: int | None) -> None:
        self.callback(PoolChanged(request_id, self._snapshot()))

    def plan(self, model_id: str) -> LoadPlan:
        model = self.models[model_id]
        if model_id in self.loaded:
            free = self.budget_bytes - self._snapshot().used_bytes
            return LoadPlan(model_id, True, True, (), 0, free)
        used, evict = self._snapshot().used_bytes, []
        free_now = self.budget_bytes - used
        count = len(self.loaded)
        for entry in list(self.loaded.values()):
            if used + model.estimated_bytes <= self.budget_bytes and count < self.max_models:
                break
            if not entry.pinned and not entry.leases:
                evict.append(entry.model_id)
                used -= entry.bytes
                count -= 1
        need, free = model.estimated_bytes, self.budget_bytes - used
        if need > free or count >= self.max_models:
            pinned = ", ".join(e.name for e in self.loaded.values() if e.pinned) or "nothing"
            reason = f"needs {need // MB} MB, {free // MB} MB free; pinned: {pinned}"
            return LoadPlan(model_id, False, False, (), need, free, reason)
        return LoadPlan(
            model_id, False, True, tuple(evict), need, free, None, 1.5, (), free_now, free
        )

    def _load(self, request: Request, model_id: str, pin: bool = False) -> bool:
        rid = request.request_id
        if model_id in self.loaded:
            self._touch(model_id, pinned=pin or self.loaded[model_id].pinned)
            self._publish(rid)
            return True
        if model_id in self.script.load_error:
            error_type, message = self.script.load_error[model_id]
            self.callback(RequestFailed(rid, message, error_type, model_id))
            return False
        plan = self.plan(model_id)
        if not plan.fits:
            message = f"insufficient memory for {model_id}: {plan.reason}"
            self.callback(RequestFailed(rid, message, "InsufficientMemoryError", model_id))
            return False
        for victim in plan.evict:
            del self.loaded[victim]
            self.callback(ModelEvicted(rid, victim, "lru"))
        model = self.models[model_id]
        self.callback(LoadStarted(rid, model_id, 1.5))
        if self.script.load_gate is not None:
            self.callback(LoadProgress(rid, model_id, "reading weights"))
            self.script.load_gate.wait()
        self._tick += 1
        self.loaded[model_id] = PoolEntryView(
            model_id, model.name, model.kind, model.family, "ready", pin, 0,
            model.estimated_bytes, model.estimated_bytes - 6 * MB, self._tick, 1.5,
        )  # fmt: skip
        self.callback(ModelLoaded(rid, model_id, model.estimated_bytes - 6 * MB, 1.5))
        self._publish(rid)
        return True

    def _touch(self, model_id: str, **changes: object) -> None:
        self._tick += 1
        entry = replace(self.loaded.pop(model_id), last_used=self._tick, **changes)
        self.loaded[model_id] = entry

    # ----------------------------------------------------------------- requests

    def _handle(self, request: Request) -> None:
        rid = request.request_id
        if isinstance(request, LoadRequest):
            self._load(request, request.model_id, pin=request.pin)
        elif isinstance(request, PinRequest):
            if request.model_id in self.loaded:
                entry = self.loaded[request.model_id]
                self.loaded[request.model_id] = replace(entry, pinned=request.pinned)
                self._publish(rid)
        elif isinstance(request, UnloadRequest):
            if self.loaded.pop(request.model_id, None) is not None:
                self.callback(ModelEvicted(rid, request.model_id, "unload"))
                self._publish(rid)
        elif isinstance(request, PlanRequest):
            self.callback(PlanReady(rid, tuple(self.plan(m) for m in request.model_ids)))
        elif isinstance(request, ChatRequest):
            self._chat(request)
        elif isinstance(request, EmbedRequest):
            vectors = tuple((1.0, float(i)) for i, _ in enumerate(request.texts))
            result = EmbeddingResult(vectors, tuple(3 for _ in request.texts), request.model_id, 2)
            self.callback(EmbeddingsReady(rid, result))

    def _chat(self, request: ChatRequest) -> None:
        rid = request.request_id
        if self.script.chat_error is not None:
            error_type, message = self.script.chat_error
            self.script.chat_error = None
            self.callback(RequestFailed(rid, message, error_type, request.model_id))
            return
        if self.models[request.model_id].kind is ModelKind.EMBEDDINGS:
            message = f"{request.model_id} is an embeddings model, not a chat model"
            self.callback(RequestFailed(rid, message, "WrongModelKindError", request.model_id))
            return
        if not self._load(request, request.model_id):
            return
        for done in self.script.prompt_steps:
            progress = PromptProgress(rid, done, PROMPT_TOKENS, self.script.context_length)
            self.callback(progress)
        if self.script.prompt_gate is not None:
            self.script.prompt_gate.wait()
        done = PromptProgress(rid, PROMPT_TOKENS, PROMPT_TOKENS, self.script.context_length)
        self.callback(done)
        sent: list[str] = []
        for index, token in enumerate(tokens_of(self.script.reply)):
            if self.script.hold_after is not None and index >= self.script.hold_after:
                request.cancel.wait()
            if self.script.token_gate is not None and index == 1:
                self.script.token_gate.wait()
            if request.cancel.is_set():
                break
            if self.script.token_pause and index:
                time.sleep(self.script.token_pause)
            sent.append(token)
            self.callback(TokenEvent(rid, token, index + 1))
        finish = "cancelled" if request.cancel.is_set() else "stop"
        self.callback(ChatDone(rid, "".join(sent), stats(len(sent), finish)))


class FakeFactory:
    """A ``runner_factory`` for ``MlxbenchApp`` that remembers the runner it built."""

    def __init__(self, script: Script, catalog: list[ModelInfo], **options: int) -> None:
        self.script = script
        self.catalog = catalog
        self.options = options
        self.runner: FakeRunner | None = None
        self.thread: threading.Thread | None = None

    def __call__(self, callback: Callable[[Event], None]) -> FakeRunner:
        self.thread = threading.current_thread()
        self.runner = FakeRunner(callback, catalog=self.catalog, script=self.script, **self.options)
        return self.runner

    def received(self, kind: type[Request] = Request) -> list[Request]:
        """Requests the runner has taken off its queue, of one type."""
        runner = self.runner
        return [r for r in (runner.received if runner else []) if isinstance(r, kind)]


# --------------------------------------------------------------------------- app harness

FIXED_START = datetime(2026, 3, 14, 9, 26, 0, tzinfo=UTC)


class StepClock:
    """A clock that moves one minute per reading: deterministic timestamps and order."""

    def __init__(self, start: datetime = FIXED_START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


def build_app(
    tmp_path: Path,
    script: Script | None = None,
    *,
    image_max_side: int | None = None,
    **options: int,
) -> tuple[MlxbenchApp, FakeFactory]:
    """The real app over the fake runner, sessions in ``tmp_path/sessions``."""
    catalog = make_catalog()
    factory = FakeFactory(script or Script(), catalog, **options)
    app = MlxbenchApp(
        catalog,
        factory,
        tmp_path / "sessions",
        export_dir=tmp_path / "exports",
        theme="textual-dark",
        clock=StepClock(),
        image_max_side=image_max_side,
    )
    return app, factory


async def wait_for(pilot: Pilot, condition: Callable[[], object], what: str) -> None:
    """Let the app run until ``condition()`` is true (fails, naming ``what``, if it never is)."""
    for _ in range(1500):
        if condition():
            return
        await pilot.pause(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def ready(pilot: Pilot) -> None:
    """Wait for the engine's first pool snapshot."""
    await wait_for(pilot, lambda: pilot.app.main_screen.snapshot is not None, "engine ready")
