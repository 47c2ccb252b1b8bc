"""The pool feature's controller: the runner's pool messages → the pool pane and notices.

The workbench screen's ``@on`` handlers for pool messages (engine ready or failed, a new
snapshot, a load starting, progressing, ending, a model evicted, a plan) delegate here. It
keeps the latest snapshot, which the screen reads to tell a model's kind and whether it is
loaded. It sees the pool pane and the screen's ``notify``, nothing else of the screen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from textual.screen import Screen

from workbench.core.logs import details_hint
from workbench.core.protocol import PoolSnapshot
from workbench.core.units import format_bytes
from workbench.tui.format import human_seconds
from workbench.tui.messages import (
    EngineFailed,
    EngineReady,
    LoadBegan,
    LoadFailed,
    LoadFinished,
    LoadPlanReady,
    LoadProgressed,
    ModelDropped,
    PoolUpdated,
)
from workbench.tui.pool.pane import PoolPane

EVICT_REASONS = {"lru": "to make room", "budget": "to honour the new budget"}


class PoolController:
    """Shows what the pool reports in ``pane()``; notifies through ``screen``."""

    def __init__(
        self, screen: Screen, pane: Callable[[], PoolPane], names: Mapping[str, str]
    ) -> None:
        self.screen = screen
        self.pane = pane
        self.names = names
        self.snapshot: PoolSnapshot | None = None

    def name(self, model_id: str | None) -> str:
        return self.names.get(model_id or "", model_id or "?")

    def engine_ready(self, message: EngineReady) -> None:
        blas = message.blas.split(" (")[0]  # the library's path is too long for a title
        details = " · ".join(p for p in (message.device, blas) if p)
        pane = self.pane()
        pane.engine_ready(f"engine: {details or 'ready'}")
        pane.engine_status("engine ready")

    def engine_failed(self, message: EngineFailed) -> None:
        self.pane().engine_status(f"engine failed: {message.reason}")
        hint = details_hint() if message.thread_died else ""
        self.screen.notify(
            f"{message.reason}{hint}", title="Engine failed", severity="error", timeout=30
        )

    def engine_stopped(self) -> None:
        self.pane().engine_stopped()

    def pool_updated(self, message: PoolUpdated) -> None:
        self.snapshot = message.snapshot
        self.pane().show_snapshot(message.snapshot)

    def load_began(self, message: LoadBegan) -> None:
        name = self.name(message.model_id)
        self.pane().activity.started(message.model_id, name, message.estimated_seconds)

    def load_progressed(self, message: LoadProgressed) -> None:
        self.pane().activity.progress(message.model_id, message.step)

    def load_finished(self, message: LoadFinished) -> None:
        self.pane().activity.finished(message.model_id)
        self.screen.notify(
            f"{self.name(message.model_id)}: {format_bytes(message.measured_bytes)} "
            f"in {human_seconds(message.seconds)}",
            title="Loaded",
            timeout=3,
        )

    def load_failed(self, message: LoadFailed) -> None:
        self.pane().activity.finished(message.model_id)

    def model_dropped(self, message: ModelDropped) -> None:
        if message.reason in EVICT_REASONS:
            self.screen.notify(
                f"{self.name(message.model_id)} {EVICT_REASONS[message.reason]}", title="Evicted"
            )

    def plan_ready(self, message: LoadPlanReady) -> None:
        for plan in message.plans:
            self.pane().show_plan(plan)

    def is_loaded(self, model_id: str) -> bool:
        return self.pane().is_loaded(model_id)
