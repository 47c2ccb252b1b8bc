"""The real app over the real runner and a real model, headless, ready for a measurement.

``real_app`` starts ``MlxbenchApp`` under ``run_test`` with the same runner factory the
``mlxbench`` command uses, waits for the engine, chooses the model (which loads it) and
sets greedy sampling. Every runner event is also time-stamped on its way in, so a group can
tell when the model finished loading without reaching into the app.
"""

from __future__ import annotations

import contextlib
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.bench.context import BenchContext
from workbench.bench.harness import require
from workbench.bench.ui.appkit import SCREEN_SIZE, sessions_dir, wait_until
from workbench.core.protocol import Event, ModelLoaded, RequestFailed, RunnerReady
from workbench.core.types import SamplingSettings

ENGINE_TIMEOUT_S = 300.0


@dataclass
class EventLog:
    """Runner events with the ``perf_counter`` at which the runner emitted them."""

    events: list[tuple[float, Event]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, event: Event) -> None:
        with self.lock:
            self.events.append((time.perf_counter(), event))

    def first(self, kind: type, test: Callable[[Any], bool] = lambda _e: True) -> Event | None:
        with self.lock:
            return next((e for _t, e in self.events if isinstance(e, kind) and test(e)), None)


def observed_factory(factory: Callable, log: EventLog) -> Callable:
    """The runner factory, with every event also recorded in ``log``."""

    def make(callback: Callable[[Event], None]) -> Any:
        def both(event: Event) -> None:
            log.record(event)
            callback(event)

        return factory(both)

    return make


def _factory(context: BenchContext, catalog: list) -> Callable:
    require("workbench.core.runner.loop", "Runner")
    from workbench.commands.app import runner_factory
    from workbench.core.pool.budget import make_budget

    config = context.options.config
    return runner_factory(catalog, make_budget(config.memory_limit, config.max_models), config)


async def _ready(app: Any, log: EventLog, model_id: str) -> None:
    await wait_until(lambda: log.first(RunnerReady) is not None, ENGINE_TIMEOUT_S, "the engine")
    app.main_screen.choose_model(model_id)

    def loaded() -> bool:
        failed = log.first(RequestFailed, lambda e: e.model_id == model_id)
        if failed is not None:
            raise RuntimeError(f"the app could not load the model: {failed.message}")
        return log.first(ModelLoaded, lambda e: e.model_id == model_id) is not None

    await wait_until(loaded, ENGINE_TIMEOUT_S, "the model to load in the app")


@contextlib.asynccontextmanager
async def real_app(context: BenchContext, max_tokens: int) -> AsyncIterator[tuple[Any, EventLog]]:
    """The app with the text model loaded and greedy sampling of ``max_tokens``."""
    from workbench.tui.app import MlxbenchApp

    info = context.text_model()
    log = EventLog()
    factory = observed_factory(_factory(context, [info]), log)
    with tempfile.TemporaryDirectory(prefix="mlxbench-bench-") as tmp:
        folder = Path(tmp)
        app = MlxbenchApp(
            [info], factory, sessions_dir(folder), export_dir=folder / "exports",
            theme="textual-dark",
        )  # fmt: skip
        async with app.run_test(size=SCREEN_SIZE):
            await _ready(app, log, info.id)
            sampling = SamplingSettings(temperature=0.0, max_tokens=max_tokens)
            app.main_screen.controller.update_settings("", sampling)
            yield app, log
