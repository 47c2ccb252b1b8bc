"""Theme files → validated plain data, and the remembered theme choice.

Themes are TOML files (shipped ones in ``workbench/themes``, the user's in
``paths.user_themes_dir()``). A bad colour in a theme would otherwise surface as a CSS
parse failure the moment the user picks it, taking the whole app down; so every value is
checked here, strictly, and a bad file becomes a one-line problem report instead of a
crash. This module knows nothing of Textual: the UI layer turns ``ThemeSpec`` into its own
theme type.

File format (keys at the top level)::

    name = "mlxbench-dark"          # required: lowercase letters, digits, '-' or '_'
    dark = true                     # optional, default true
    primary = "#7aa2f7"             # required
    background = "#16181d"          # required
    foreground = "#d8dee9"          # required
    secondary = "#..."              # optional colours: secondary accent warning error
                                    #   success surface panel boost
    luminosity_spread = 0.15        # optional, 0..1
    text_alpha = 0.95               # optional, 0..1
    [variables]                     # optional Textual design variables
    footer-key-foreground = "#7aa2f7"
    input-selection-background = "#7aa2f7 30%"
    block-cursor-text-style = "bold"
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core import paths
from workbench.core.atomic import atomic_write_text
from workbench.core.errors import InputError, ThemeError, WorkbenchError
from workbench.core.safe_read import CONFIG_LIMIT, read_text

REQUIRED_COLOURS = ("primary", "background", "foreground")
OPTIONAL_COLOURS = (
    "secondary",
    "accent",
    "warning",
    "error",
    "success",
    "surface",
    "panel",
    "boost",
)
_FRACTIONS = ("luminosity_spread", "text_alpha")
_KNOWN_KEYS = {"name", "dark", "variables", *REQUIRED_COLOURS, *OPTIONAL_COLOURS, *_FRACTIONS}

_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,47}")
_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_VARIABLE_NAME = re.compile(r"[a-z][a-z0-9-]{0,63}")
_PERCENT = r"(?:100|[1-9]?[0-9])%"
_VARIABLE_COLOUR = re.compile(
    rf"(?:#(?:[0-9a-fA-F]{{3}}|[0-9a-fA-F]{{6}}|[0-9a-fA-F]{{8}})|auto)(?: {_PERCENT})?"
)
_TEXT_STYLES = {"none", "bold", "dim", "italic", "underline", "reverse", "strike"}
_MAX_FILE_BYTES = 64 * 1024


@dataclass(frozen=True)
class ThemeSpec:
    """A validated theme. Colours are ``#rgb`` / ``#rrggbb`` strings; ``None`` = derived."""

    name: str
    primary: str
    background: str
    foreground: str
    dark: bool = True
    secondary: str | None = None
    accent: str | None = None
    warning: str | None = None
    error: str | None = None
    success: str | None = None
    surface: str | None = None
    panel: str | None = None
    boost: str | None = None
    luminosity_spread: float = 0.15
    text_alpha: float = 0.95
    variables: dict[str, str] = field(default_factory=dict)
    source: str = ""


@dataclass(frozen=True)
class ThemeLoad:
    """Themes that loaded, in load order, and one line per file that did not."""

    themes: tuple[ThemeSpec, ...] = ()
    problems: tuple[str, ...] = ()


def is_colour(value: object) -> bool:
    """True for ``#rgb`` or ``#rrggbb`` — the only colour forms theme colours accept."""
    return isinstance(value, str) and _COLOUR.fullmatch(value) is not None


def _variable_problem(key: object, value: object) -> str | None:
    if not isinstance(key, str) or not _VARIABLE_NAME.fullmatch(key):
        return f"variable name {key!r} must be lowercase letters, digits and '-'"
    if not isinstance(value, str):
        return f"variable {key!r} must be a string, got {type(value).__name__}"
    is_styles = bool(value.split()) and set(value.split()) <= _TEXT_STYLES
    if _VARIABLE_COLOUR.fullmatch(value) or is_styles:
        return None
    return (
        f"variable {key!r} = {value!r} is neither a colour ('#rrggbb', optionally "
        "followed by ' NN%') nor text styles (e.g. 'bold', 'none')"
    )


def _field_problems(data: dict[str, Any]) -> list[str]:
    problems = [f"unknown key {key!r}" for key in data if key not in _KNOWN_KEYS]
    name = data.get("name")
    if name is None:
        problems.append("missing required key 'name'")
    elif not isinstance(name, str) or not _NAME.fullmatch(name):
        problems.append(f"name {name!r} must be lowercase letters, digits, '-' or '_'")
    for key in (*REQUIRED_COLOURS, *OPTIONAL_COLOURS):
        if key not in data:
            if key in REQUIRED_COLOURS:
                problems.append(f"missing required key {key!r}")
        elif not is_colour(data[key]):
            problems.append(f"{key} = {data[key]!r} is not a colour like '#1e90ff'")
    if "dark" in data and not isinstance(data["dark"], bool):
        problems.append(f"dark must be true or false, got {data['dark']!r}")
    for key in _FRACTIONS:
        value = data.get(key, 0.0)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            problems.append(f"{key} must be a number from 0 to 1, got {value!r}")
    variables = data.get("variables", {})
    if not isinstance(variables, dict):
        problems.append("[variables] must be a table")
    else:
        problems += [p for k, v in variables.items() if (p := _variable_problem(k, v))]
    return problems


def parse_theme(text: str, source: str = "<theme>") -> ThemeSpec:
    """Parse and validate one theme file's text; raise ``ThemeError`` listing every problem."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ThemeError(f"{source}: not valid TOML: {exc}") from exc
    problems = _field_problems(data)
    if problems:
        raise ThemeError(f"{source}: " + "; ".join(problems))
    colours = {k: data[k] for k in (*REQUIRED_COLOURS, *OPTIONAL_COLOURS) if k in data}
    fractions = {k: float(data[k]) for k in _FRACTIONS if k in data}
    return ThemeSpec(
        name=data["name"],
        dark=data.get("dark", True),
        variables=dict(data.get("variables", {})),
        source=source,
        **colours,
        **fractions,
    )


def load_theme_file(path: Path) -> ThemeSpec:
    """Read and validate one theme file; unreadable files raise ``ThemeError`` too."""
    try:  # a folder, a FIFO or a huge file named *.toml is refused, never read
        text = read_text(path, _MAX_FILE_BYTES, "theme file")
    except InputError as exc:
        raise ThemeError(str(exc)) from exc
    return parse_theme(text, source=str(path))


def load_theme_dir(directory: Path) -> ThemeLoad:
    """Every ``*.toml`` in ``directory`` (sorted by file name); a missing folder is empty."""
    if not directory.is_dir():
        return ThemeLoad()
    themes: list[ThemeSpec] = []
    problems: list[str] = []
    seen: dict[str, str] = {}
    for path in sorted(directory.glob("*.toml")):
        try:
            spec = load_theme_file(path)
        except ThemeError as exc:
            problems.append(str(exc))
            continue
        if spec.name in seen:
            problems.append(f"{path}: theme name {spec.name!r} is also used by {seen[spec.name]}")
            continue
        seen[spec.name] = str(path)
        themes.append(spec)
    return ThemeLoad(tuple(themes), tuple(problems))


def shipped_themes_dir() -> Path:
    """The themes that come with mlxbench (packaged with the wheel)."""
    return Path(__file__).resolve().parent.parent / "themes"


def load_all_themes() -> ThemeLoad:
    """Shipped themes, then the user's; a user theme with a shipped name replaces it."""
    shipped = load_theme_dir(shipped_themes_dir())
    user = load_theme_dir(paths.user_themes_dir())
    user_names = {spec.name for spec in user.themes}
    themes = [spec for spec in shipped.themes if spec.name not in user_names]
    return ThemeLoad((*themes, *user.themes), (*shipped.problems, *user.problems))


# --------------------------------------------------------------------------- remembered choice


def _read_state(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(read_text(path, CONFIG_LIMIT, "state file"))
    except (InputError, json.JSONDecodeError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def remembered_theme() -> str | None:
    """The theme name saved in the state file, or ``None`` if none (or the file is unreadable)."""
    value = _read_state(paths.state_file()).get("theme")
    return value if isinstance(value, str) and value else None


def remember_theme(name: str) -> None:
    """Save ``name`` as the chosen theme, keeping every other key of the state file.

    The file is replaced atomically (temporary file + ``os.replace``), so a crash mid-write
    never leaves half a JSON document behind.
    """
    path = paths.state_file()
    state = _read_state(path)
    state["theme"] = name
    try:
        atomic_write_text(path, json.dumps(state, indent=2, sort_keys=True) + "\n")
    except OSError as exc:
        raise WorkbenchError(
            f"cannot save the theme choice to {path}: {exc.strerror or exc}"
        ) from exc
