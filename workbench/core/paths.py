"""Where mlxbench keeps its files.

Everything lives under the platform's standard user folders (platformdirs) unless
``MLXBENCH_HOME`` is set, in which case all of it lives below that one folder — which is
what tests and throwaway setups want.
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "mlxbench"


def _home_override() -> Path | None:
    value = os.environ.get("MLXBENCH_HOME")
    return Path(value).expanduser() if value else None


def data_dir() -> Path:
    """User data: imported models, sessions, measured sizes."""
    home = _home_override()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP_NAME))


def config_dir() -> Path:
    """User configuration: ``config.toml`` and the user ``themes/`` folder."""
    home = _home_override()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME))


def config_file() -> Path:
    return config_dir() / "config.toml"


def state_file() -> Path:
    """Small app state the user does not edit by hand (e.g. the chosen theme)."""
    return data_dir() / "state.json"


def models_dir() -> Path:
    """Models that mlxbench made itself (GGUF imports)."""
    return data_dir() / "models"


def sessions_dir() -> Path:
    return data_dir() / "sessions"


def sizes_file() -> Path:
    """Measured model sizes, remembered between runs."""
    return data_dir() / "sizes.json"


def user_themes_dir() -> Path:
    return config_dir() / "themes"


def lmstudio_models_dir() -> Path:
    """LM Studio's default model folder (``LMSTUDIO_MODELS_DIR`` overrides)."""
    value = os.environ.get("LMSTUDIO_MODELS_DIR")
    return Path(value).expanduser() if value else Path.home() / ".lmstudio" / "models"


def check_home() -> None:
    """``InputError`` when ``MLXBENCH_HOME`` names something that is not a folder."""
    from workbench.core.errors import InputError

    home = _home_override()
    if home is None:
        return
    if home.exists() and not home.is_dir():
        raise InputError(f"MLXBENCH_HOME={home} is a file, not a folder: point it at a folder")
    blocker = next((p for p in home.parents if p.exists() and not p.is_dir()), None)
    if blocker is not None:
        raise InputError(f"MLXBENCH_HOME={home} cannot be created: {blocker} is a file")


def cache_dir() -> Path:
    """Things mlxbench can rebuild (e.g. synthetic models): the user cache folder."""
    home = _home_override()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP_NAME))
