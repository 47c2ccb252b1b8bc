"""The pool pane: memory against budget, loaded models, the catalog, and the load plan.

It only shows state (pool snapshots come down from the screen) and turns keys into
messages (load, pin, evict, plan, choose) that go up; it never talks to the runner.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import DataTable

from workbench.core.protocol import LoadPlan, PoolSnapshot
from workbench.core.types import ModelInfo
from workbench.tui.pool.load_activity import LoadActivity
from workbench.tui.pool.loaded_models import LoadedModels
from workbench.tui.pool.memory_bar import MemoryBar
from workbench.tui.pool.model_list import ModelList
from workbench.tui.pool.plan_view import PlanView, describe_model, describe_problem


class PoolPane(Vertical):
    """Models: what is loaded (LRU first), what exists, and what loading one would do."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "load", "Load"),
        Binding("p", "pin", "Pin/Unpin"),
        Binding("e", "evict", "Evict"),
        Binding("c", "cluster", "Load on cluster", show=False),
    ]

    DEFAULT_CSS = """
    PoolPane {
        border: round $primary 50%;
        border-title-color: $text;
        padding: 0 1;
    }
    PoolPane:focus-within { border: round $primary; }
    PoolPane > LoadedModels { margin-top: 1; }
    PoolPane > ModelList { margin-top: 1; }
    """

    class ModelMessage(Message):
        """Base of the pane's messages: all of them name one model."""

        def __init__(self, pane: PoolPane, model_id: str) -> None:
            super().__init__()
            self.pane = pane
            self.model_id = model_id

        @property
        def control(self) -> PoolPane:
            return self.pane

    class LoadRequested(ModelMessage):
        """Load the model (``pin=True``: load and pin it)."""

        def __init__(self, pane: PoolPane, model_id: str, pin: bool = False) -> None:
            super().__init__(pane, model_id)
            self.pin = pin

    class PinRequested(ModelMessage):
        """Pin or unpin a loaded model."""

        def __init__(self, pane: PoolPane, model_id: str, pinned: bool) -> None:
            super().__init__(pane, model_id)
            self.pinned = pinned

    class EvictRequested(ModelMessage):
        """Evict a loaded model now."""

    class ClusterLoadRequested(ModelMessage):
        """Shard the model over a cluster (the screen asks which one)."""

    class PlanRequested(ModelMessage):
        """Ask the pool what loading this model would do."""

    class ModelChosen(ModelMessage):
        """Use the model: for chat (text, vision) or the embeddings explorer."""

    def __init__(self, models: list[ModelInfo], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.models = {m.id: m for m in models}
        self.names = {m.id: m.name for m in models}
        self.snapshot: PoolSnapshot | None = None
        self.current: str | None = None

    def compose(self) -> ComposeResult:
        yield MemoryBar()
        yield LoadActivity()
        yield LoadedModels(id="loaded-models")
        yield ModelList(list(self.models.values()), id="model-list")
        yield PlanView(id="plan-view")

    def on_mount(self) -> None:
        self.border_title = "Models"

    # ----------------------------------------------------------------- state coming down

    def engine_status(self, text: str) -> None:
        """Say what the engine is doing while there is no pool snapshot yet."""
        self.query_one(MemoryBar).status = text

    def engine_stopped(self) -> None:
        """The runner returned: say so, unless a failure is already on show."""
        bar = self.query_one(MemoryBar)
        bar.snapshot = None
        if not bar.status.startswith("engine failed"):
            bar.status = "engine stopped"
        self.border_subtitle = ""

    def engine_ready(self, description: str) -> None:
        self.border_subtitle = description

    def show_snapshot(self, snapshot: PoolSnapshot) -> None:
        self.snapshot = snapshot
        for entry in snapshot.entries:
            self.names.setdefault(entry.model_id, entry.name)
        self.query_one(MemoryBar).snapshot = snapshot
        self.query_one(LoadedModels).show_snapshot(snapshot)
        self.query_one(ModelList).show_snapshot(snapshot)
        target = self._target()
        if target is not None:
            self.current = target
            self._describe(target)

    def show_plan(self, plan: LoadPlan) -> None:
        """Show a plan if it is still about the highlighted model."""
        if plan.model_id == self.current:
            self.query_one(PlanView).show_plan(plan, self.names)

    @property
    def activity(self) -> LoadActivity:
        return self.query_one(LoadActivity)

    def is_loaded(self, model_id: str) -> bool:
        entries = self.snapshot.entries if self.snapshot else ()
        return any(e.model_id == model_id for e in entries)

    def is_pinned(self, model_id: str) -> bool:
        entries = self.snapshot.entries if self.snapshot else ()
        return any(e.model_id == model_id and e.pinned for e in entries)

    # ----------------------------------------------------------------- highlight and choose

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Follow the cursor of the table the user is in, never a table that moved alone.

        A load, pin or evict rebuilds the loaded-models table, whose cursor then lands on
        some row and reports it; that must not take the line from the model under the
        user's cursor.
        """
        event.stop()
        focused = self.screen.focused
        if isinstance(focused, DataTable) and event.data_table is not focused:
            return
        if not isinstance(focused, DataTable) and not isinstance(event.data_table, ModelList):
            return
        model_id = event.row_key.value
        if model_id is not None and model_id != self.current:
            self.current = model_id
            self._describe(model_id)

    def on_descendant_focus(self) -> None:
        """Entering a table: the line shows that table's cursor row."""
        target = self._target()
        if target is not None and target != self.current:
            self.current = target
            self._describe(target)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.post_message(self.ModelChosen(self, event.row_key.value))

    def _describe(self, model_id: str) -> None:
        """Show what the user should know about the highlighted model (maybe ask a plan)."""
        view = self.query_one(PlanView)
        model = self.models.get(model_id)
        view.show_model(describe_model(model) if model else self.names.get(model_id, model_id))
        if model is not None and not model.usable:
            view.show_text(describe_problem(model), problem=True)
        elif self.is_loaded(model_id):
            view.show_text("loaded" + (" and pinned 📌" if self.is_pinned(model_id) else ""))
        else:
            view.show_text("planning…")
            self.post_message(self.PlanRequested(self, model_id))

    # ----------------------------------------------------------------- keys

    def _target(self) -> str | None:
        """The model the keys act on: the focused table's row, else the last highlighted."""
        focused = self.screen.focused
        if isinstance(focused, LoadedModels) and focused.current_model_id:
            return focused.current_model_id
        if isinstance(focused, ModelList) and focused.current_model is not None:
            return focused.current_model.id
        return self.current

    def _usable_target(self) -> str | None:
        model_id = self._target()
        model = self.models.get(model_id) if model_id else None
        if model_id is None:
            self.notify("Highlight a model first.", severity="warning")
            return None
        if model is not None and not model.usable:
            self.notify(f"{model.name} {describe_problem(model)}", severity="error")
            return None
        return model_id

    def action_load(self) -> None:
        model_id = self._usable_target()
        if model_id is not None:
            self.post_message(self.LoadRequested(self, model_id))

    def action_pin(self) -> None:
        model_id = self._usable_target()
        if model_id is None:
            return
        if self.is_loaded(model_id):
            self.post_message(self.PinRequested(self, model_id, not self.is_pinned(model_id)))
        else:
            self.post_message(self.LoadRequested(self, model_id, pin=True))

    def action_cluster(self) -> None:
        model_id = self._usable_target()
        if model_id is not None:
            self.post_message(self.ClusterLoadRequested(self, model_id))

    def action_evict(self) -> None:
        model_id = self._usable_target()
        if model_id is None:
            return
        if not self.is_loaded(model_id):
            self.notify(f"{self.names.get(model_id, model_id)} is not loaded.")
            return
        self.post_message(self.EvictRequested(self, model_id))
