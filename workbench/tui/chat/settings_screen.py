"""Chat settings: the system prompt and how replies are sampled, plus app settings.

The chat values belong to this chat and carry into every new chat started after it (Ctrl+N
copies them), so the dialog says exactly that. Below them, settings of the app itself:
reopen the last session on start. Values are checked before the screen closes; a bad one
is named inline and nothing is lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, Label, Static, TextArea

from workbench.core.errors import InputError
from workbench.core.limits import check_sampling
from workbench.core.types import SamplingSettings

MAX_TOKENS_LIMIT = 32768


@dataclass(frozen=True)
class ChatSettings:
    """What the settings screen edits."""

    system_prompt: str
    sampling: SamplingSettings
    reopen_last_session: bool = False


def _number(text: str, label: str, kind: type) -> float | int:
    try:
        return kind(text.strip())
    except ValueError:
        noun = "a whole number" if kind is int else "a number"
        raise InputError(f"{label} must be {noun} (got {text.strip()!r})") from None


def parse_sampling(temperature: str, top_p: str, max_tokens: str, seed: str) -> SamplingSettings:
    """Validate the four fields as typed; ``InputError`` names the first bad one."""
    temp = float(_number(temperature, "temperature", float))
    if not 0 <= temp <= 5:
        raise InputError(f"temperature must be between 0 and 5 (got {temp})")
    top = float(_number(top_p, "top_p", float))
    if not 0 < top <= 1:
        raise InputError(f"top_p must be more than 0 and at most 1 (got {top})")
    tokens = int(_number(max_tokens, "max tokens", int))
    if not 1 <= tokens <= MAX_TOKENS_LIMIT:
        raise InputError(f"max tokens must be between 1 and {MAX_TOKENS_LIMIT} (got {tokens})")
    seed_value = int(_number(seed, "seed", int)) if seed.strip() else None
    sampling = SamplingSettings(temperature=temp, top_p=top, max_tokens=tokens, seed=seed_value)
    check_sampling(sampling)  # the engine's own rules too (e.g. a seed MLX can take)
    return sampling


class SettingsScreen(ModalScreen[ChatSettings | None]):
    """Edit the session's system prompt and sampling; Ctrl+S saves, Esc cancels."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save"),
        Binding("escape", "cancel", "Cancel"),
    ]

    DEFAULT_CSS = """
    SettingsScreen { align: center middle; }
    SettingsScreen > Vertical {
        width: 84;
        height: auto;
        border: round $primary;
        background: $surface;
        padding: 1 2;
    }
    SettingsScreen #system-prompt { height: 8; }
    SettingsScreen Grid {
        grid-size: 4;
        grid-columns: 1fr;
        grid-rows: auto auto;
        height: auto;
        margin-top: 1;
    }
    SettingsScreen #settings-error { color: $error; height: auto; }
    SettingsScreen #reopen-last { margin-top: 1; }
    SettingsScreen .hint { color: $text-muted; }
    SettingsScreen .title { text-style: bold; margin-bottom: 1; }
    """

    def __init__(self, settings: ChatSettings) -> None:
        super().__init__()
        self.settings = settings

    def compose(self) -> ComposeResult:
        sampling = self.settings.sampling
        with Vertical():
            yield Label("Chat settings: this chat, and new chats started after it", classes="title")
            yield Label("System prompt")
            yield TextArea(self.settings.system_prompt, id="system-prompt", soft_wrap=True)
            with Grid():
                yield Label("Temperature")
                yield Label("top_p")
                yield Label("Max tokens")
                yield Label("Seed")
                yield Input(str(sampling.temperature), id="temperature")
                yield Input(str(sampling.top_p), id="top-p")
                yield Input(str(sampling.max_tokens), id="max-tokens")
                yield Input("" if sampling.seed is None else str(sampling.seed), id="seed")
            yield Checkbox(
                "Reopen the last session when mlxbench starts",
                self.settings.reopen_last_session,
                id="reopen-last",
            )
            yield Static("", id="settings-error")
            yield Label(
                "Temperature 0 = greedy · empty seed = random · Ctrl+S saves · Esc cancels",
                classes="hint",
            )

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value

    def action_save(self) -> None:
        try:
            sampling = parse_sampling(
                self._value("temperature"),
                self._value("top-p"),
                self._value("max-tokens"),
                self._value("seed"),
            )
        except InputError as exc:
            self.query_one("#settings-error", Static).update(str(exc))
            return
        prompt = self.query_one("#system-prompt", TextArea).text
        reopen = self.query_one("#reopen-last", Checkbox).value
        self.dismiss(ChatSettings(prompt.strip(), sampling, reopen))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.action_save()

    def action_cancel(self) -> None:
        self.dismiss(None)
