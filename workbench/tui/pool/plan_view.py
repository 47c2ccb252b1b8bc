"""What loading the highlighted model would do: fits, evicts some models, or cannot fit.

The pool answers a ``PlanRequest`` before anything is allocated; this line shows the answer
(or, for a model that is loaded or unusable, what the user should know instead).
"""

from __future__ import annotations

from collections.abc import Mapping

from textual.widgets import Static

from workbench.core.pool.plan_words import describe_plan as core_describe_plan
from workbench.core.protocol import LoadPlan
from workbench.core.types import ModelInfo
from workbench.tui.format import human_seconds


def describe_plan(plan: LoadPlan, names: Mapping[str, str]) -> str:
    """One line a user can act on, in the core's wording, plus the load-time guess."""
    if plan.already_loaded:
        return "loaded"
    eta = f" · load ≈ {human_seconds(plan.estimated_seconds)}" if plan.estimated_seconds else ""
    return core_describe_plan(plan, names) + (eta if plan.fits else "")


def describe_model(model: ModelInfo) -> str:
    """The facts of a model in one line: "SmolLM2 · text · llama · q4 · demo"."""
    parts = [model.name, model.kind.value, model.family.value, model.quantization, model.source]
    return " · ".join(p for p in parts if p)


def describe_problem(model: ModelInfo) -> str:
    return f"cannot be used: {model.problem or 'unknown problem'}"


class PlanView(Static):
    """The highlighted model's facts, then its plan (or problem)."""

    DEFAULT_CSS = """
    PlanView {
        height: auto;
        min-height: 2;
        color: $text-muted;
    }
    PlanView.-cannot-fit { color: $error; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id)
        self.facts = ""
        self.plan_text = ""
        self._text = ""  # what is shown

    def show_model(self, facts: str) -> None:
        self.facts = facts
        self._show()

    def show_plan(self, plan: LoadPlan, names: Mapping[str, str]) -> None:
        self.set_class(not plan.fits and not plan.already_loaded, "-cannot-fit")
        self.plan_text = describe_plan(plan, names)
        self._show()

    def show_text(self, text: str, *, problem: bool = False) -> None:
        self.set_class(problem, "-cannot-fit")
        self.plan_text = text
        self._show()

    def _show(self) -> None:
        text = "\n".join(p for p in (self.facts, self.plan_text) if p)
        if text != self._text:  # the same text again (a new pool snapshot): no redraw
            self._text = text
            self.update(text)
