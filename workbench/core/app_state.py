"""Small settings the app remembers between runs: the models pane, the last session.

They live in the same state file as the chosen theme (``paths.state_file()``), each under
its own key, so writing one keeps the others. Reading never fails: a missing or unreadable
file, or a value of the wrong type, gives the default. Writing raises ``WorkbenchError``
with the path, for the UI to show as a notification.
"""

from __future__ import annotations

import json
from typing import TypeVar

from workbench.core import paths
from workbench.core.atomic import atomic_write_text
from workbench.core.errors import WorkbenchError

MODELS_PANE = "models_pane_shown"
REOPEN_LAST_SESSION = "reopen_last_session"
LAST_SESSION = "last_session"

T = TypeVar("T", bool, str)


def _read() -> dict[str, object]:
    try:
        data = json.loads(paths.state_file().read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def setting(key: str, default: T) -> T:
    """The remembered value of ``key``, or ``default`` if none (or not of its type)."""
    value = _read().get(key, default)
    return value if type(value) is type(default) else default


def remember(key: str, value: bool | str | None) -> None:
    """Save ``key`` (``None`` removes it), keeping every other key of the state file."""
    path = paths.state_file()
    state = _read()
    if value is None:
        state.pop(key, None)
    else:
        state[key] = value
    try:
        atomic_write_text(path, json.dumps(state, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise WorkbenchError(f"cannot save a setting to {path}: {exc.strerror or exc}") from exc
