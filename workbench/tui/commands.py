"""Command palette (Ctrl+P): every workbench action, including per-model ones.

"Load SmolLM2…", "Pin …", "Evict …", "Chat with …", plus session commands. Model commands
follow the pool: Pin/Unpin and Evict are offered for loaded models only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from workbench.core.models.kinds import can_embed

Command = tuple[str, Callable[[], object], str]

SESSION_COMMANDS = (
    ("New chat session", "new_session", "Start an empty conversation"),
    ("Open sessions…", "sessions", "Resume, rename, delete, search or export saved sessions"),
    ("Export session as Markdown", "export", "Write the conversation to a .md file"),
    ("Chat settings…", "settings", "System prompt, temperature, top_p, max tokens, seed"),
    ("Rename session…", "rename_session", "Give this conversation a title"),
    ("Regenerate last reply", "regenerate", "Answer the last question again"),
    ("Switch Chat / Embeddings tab", "toggle_tab", "Show the other tab (F5)"),
    ("Show / hide the models pane", "toggle_pool", "Ctrl+B (remembered)"),
    ("Copy the last reply", "copy_reply", "To the clipboard (OSC 52) and clipboard.txt (F9)"),
    ("Copy the last code block", "copy_code", "From the last reply (F10)"),
    ("Edit the last question", "edit_last", "Back into the editor; Ctrl+S resends it (F8)"),
    ("Export the similarity matrix as CSV", "export_csv", "The explorer's matrix (x)"),
    ("Compare two models…", "compare", "One prompt to two models, side by side (F6)"),
    ("Completion mode on / off", "toggle_completion", "Continue raw text, no template (F7)"),
)


class WorkbenchCommands(Provider):
    """Offers the main screen's actions and a load/pin/evict/use command per model."""

    def _main(self):  # -> MainScreen | None (untyped to avoid an import cycle)
        return getattr(self.app, "main_screen", None)

    def _commands(self) -> Iterator[Command]:
        main = self._main()
        if main is None:
            return
        for title, action, help_text in SESSION_COMMANDS:
            yield title, main.command(action), help_text
        yield from self._model_commands(main)

    def _model_commands(self, main) -> Iterator[Command]:
        for model_id, model in main.catalog.items():
            if not model.usable:
                continue
            name = model.name
            use = "Explore embeddings with" if can_embed(model.kind) else "Chat with"
            yield f"{use} {name}", partial(main.choose_model, model_id), model_id
            if not main.pool.is_loaded(model_id):
                yield f"Load {name}", partial(main.load_model, model_id), model_id
                yield f"Load and pin {name}", partial(main.load_model, model_id, pin=True), ""
                continue
            pinned = main.pool.is_pinned(model_id)
            verb = "Unpin" if pinned else "Pin"
            yield f"{verb} {name}", partial(main.pin_model, model_id, not pinned), model_id
            yield f"Evict {name}", partial(main.evict_model, model_id), model_id

    async def discover(self) -> Hits:
        for title, callback, help_text in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, callback, help_text in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
