"""Registers mlxbench's themes with a Textual app and remembers the user's choice.

``core.themes`` validates theme files into plain data; this module is the only place that
turns them into ``textual.theme.Theme`` objects. Registered themes appear in Textual's
built-in "Change theme" command, and whichever theme the user picks there (or anywhere
else that sets ``app.theme``) is saved to the state file and restored on the next start.
Nothing here is fatal: a bad theme file or an unwritable state file becomes a notification.
"""

from __future__ import annotations

from textual.app import App
from textual.color import ColorParseError
from textual.theme import Theme

from workbench.core.errors import WorkbenchError
from workbench.core.themes import ThemeSpec, load_all_themes, remember_theme, remembered_theme

DEFAULT_THEME = "mlxbench-dark"
_NOTIFY_TIMEOUT = 12.0


def to_textual_theme(spec: ThemeSpec) -> Theme:
    """Build a Textual ``Theme`` from a validated spec and check Textual accepts its colours.

    Raises:
        ValueError: Textual cannot derive a colour system from the spec.
    """
    theme = Theme(
        name=spec.name,
        primary=spec.primary,
        secondary=spec.secondary,
        accent=spec.accent,
        warning=spec.warning,
        error=spec.error,
        success=spec.success,
        foreground=spec.foreground,
        background=spec.background,
        surface=spec.surface,
        panel=spec.panel,
        boost=spec.boost,
        dark=spec.dark,
        luminosity_spread=spec.luminosity_spread,
        text_alpha=spec.text_alpha,
        variables=dict(spec.variables),
    )
    try:
        theme.to_color_system().generate()
    except ColorParseError as exc:
        raise ValueError(f"{spec.source or spec.name}: {exc}") from exc
    return theme


def _register(app: App, specs: tuple[ThemeSpec, ...]) -> list[str]:
    problems: list[str] = []
    for spec in specs:
        try:
            app.register_theme(to_textual_theme(spec))
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def _restore(app: App, default: str | None) -> list[str]:
    """Apply the remembered theme, else ``default``; report a remembered theme now missing."""
    wanted = remembered_theme()
    if wanted is not None and wanted in app.available_themes:
        app.theme = wanted
        return []
    if default is not None and default in app.available_themes:
        app.theme = default
    if wanted is None:
        return []
    return [f"the saved theme {wanted!r} is no longer available; using {app.theme!r}"]


def _remember(app: App, name: str) -> None:
    try:
        remember_theme(name)
    except WorkbenchError as exc:
        app.notify(str(exc), title="Theme not saved", severity="warning")


def setup_themes(app: App, *, default: str | None = DEFAULT_THEME) -> list[str]:
    """Register shipped and user themes, restore the saved choice, remember future changes.

    Safe to call from ``App.__init__`` or ``on_mount``. Theme files that fail validation are
    skipped; each problem is returned as one line and shown with ``app.notify``. ``default``
    is applied when no choice has been saved yet (``None`` keeps the app's own theme).

    Returns:
        The problems found (empty when everything loaded).
    """
    loaded = load_all_themes()
    problems = [*loaded.problems, *_register(app, loaded.themes)]
    problems += _restore(app, default)
    for problem in problems:
        app.notify(problem, title="Theme problem", severity="warning", timeout=_NOTIFY_TIMEOUT)
    app.watch(app, "theme", lambda name: _remember(app, name), init=False)
    return problems
