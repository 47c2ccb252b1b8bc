"""The pool pane's model commands as runner requests: load, pin, evict, plan, load on a cluster.

A mixin of ``MainScreen``: the pool pane posts what the user asked for, and these handlers
turn each message into one request on the bridge. Kept apart so the screen module stays
about wiring, and so every way a model is loaded or dropped from the app reads in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.core.protocol import LoadRequest, PinRequest, PlanRequest, UnloadRequest
from workbench.tui.pool.pane import PoolPane

if TYPE_CHECKING:
    from textual.app import App

    from workbench.tui.bridge import RunnerBridge


class ModelCommands:
    """Load / pin / evict / plan requests from the pool pane (and the palette)."""

    bridge: RunnerBridge
    names: dict[str, str]
    app: App

    def load_model(self, model_id: str, *, pin: bool = False) -> None:
        self.bridge.submit(LoadRequest(model_id=model_id, pin=pin))

    def pin_model(self, model_id: str, pinned: bool) -> None:
        self.bridge.submit(PinRequest(model_id=model_id, pinned=pinned))

    def evict_model(self, model_id: str) -> None:
        self.bridge.submit(UnloadRequest(model_id=model_id))

    def on_pool_pane_load_requested(self, message: PoolPane.LoadRequested) -> None:
        self.load_model(message.model_id, pin=message.pin)

    def on_pool_pane_pin_requested(self, message: PoolPane.PinRequested) -> None:
        self.pin_model(message.model_id, message.pinned)

    def on_pool_pane_evict_requested(self, message: PoolPane.EvictRequested) -> None:
        self.evict_model(message.model_id)

    def on_pool_pane_cluster_load_requested(self, message: PoolPane.ClusterLoadRequested) -> None:
        from workbench.tui.pool.cluster_picker import ClusterPicker, cluster_choices

        model_id = message.model_id

        def chosen(cluster: str | None) -> None:
            if cluster:
                self.bridge.submit(LoadRequest(model_id=model_id, cluster=cluster))

        name = self.names.get(model_id, model_id)
        self.app.push_screen(ClusterPicker(name, cluster_choices()), chosen)

    def on_pool_pane_plan_requested(self, message: PoolPane.PlanRequested) -> None:
        self.bridge.submit(PlanRequest(model_ids=(message.model_id,)))
