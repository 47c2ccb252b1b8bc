"""Pick the cluster to shard a model over (``c`` in the models pane).

Lists the clusters the config names plus the built-in ``local2``; Enter picks one, Esc
cancels. The choice goes back to the screen that asked (``dismiss``); the plan, the launch
and any refusal (say, heads that cannot be split) come from the runner.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option


class ClusterPicker(ModalScreen[str | None]):
    """A list of cluster names; dismisses with the chosen name, or None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    DEFAULT_CSS = """
    ClusterPicker { align: center middle; }
    ClusterPicker > Vertical {
        width: 60; height: auto; max-height: 20;
        border: round $primary; background: $surface; padding: 0 1;
    }
    ClusterPicker OptionList { height: auto; max-height: 12; }
    """

    def __init__(self, model_name: str, clusters: dict[str, str]) -> None:
        super().__init__()
        self.model_name = model_name
        self.clusters = clusters  # name → one-line description

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Shard {self.model_name} over:")
            yield OptionList(
                *(Option(f"{name}  {about}", id=name) for name, about in self.clusters.items())
            )

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


def cluster_choices() -> dict[str, str]:
    """The clusters in config.toml (a config that fails to read now gives only the
    built-in ones), each with its hosts."""
    from workbench.core.cluster.config import BUILTIN
    from workbench.core.config import load_config
    from workbench.core.errors import InputError

    try:
        configured = load_config().clusters
    except InputError:
        configured = {}
    clusters = {**BUILTIN, **configured}
    return {
        name: f"{c.ranks} ranks · {c.backend} · {c.parallel} · " + ", ".join(h.ssh for h in c.hosts)
        for name, c in sorted(clusters.items())
    }
