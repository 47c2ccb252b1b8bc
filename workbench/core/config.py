"""The user's configuration file (TOML), read into one validated dataclass.

Every setting has a default, so a missing file is fine. A malformed file or a bad value
raises ``InputError`` with the file and key named, never a TOML traceback; so does an
unknown key, since a typo (``memory-limit``) silently ignored would look like a bug.

Example ``config.toml``::

    memory_limit = "60%"        # or "8GB"
    max_models = 3
    model_dirs = ["~/models"]   # extra folders to scan for MLX models
    image_max_side = 2048       # longest side of images sent to vision models
    openblas = "auto"           # "auto" | "off": use a system OpenBLAS on Linux CPU
    sessions_dir = ""           # default: the user data folder

    [models."smollm2"]          # per-model overrides, by id or short name
    kind = "text"
    family = "llama"
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict, TypeVar

from workbench.core import paths
from workbench.core.errors import InputError
from workbench.core.safe_read import CONFIG_LIMIT, read_text

if TYPE_CHECKING:
    from workbench.core.cluster.config import ClusterConfig

_T = TypeVar("_T")


@dataclass(frozen=True)
class ModelOverride:
    kind: str | None = None
    family: str | None = None


@dataclass(frozen=True)
class Config:
    memory_limit: str = "60%"
    max_models: int = 4
    model_dirs: tuple[Path, ...] = ()
    image_max_side: int = 2048
    openblas: str = "auto"
    sessions_dir: Path | None = None
    lmstudio_dir: Path | None = None
    models: dict[str, ModelOverride] = field(default_factory=dict)
    clusters: dict[str, ClusterConfig] = field(default_factory=dict)

    @property
    def resolved_sessions_dir(self) -> Path:
        return self.sessions_dir or paths.sessions_dir()


class _Settings(TypedDict, total=False):
    """The settings a file gives, checked against ``Config``'s fields."""

    memory_limit: str
    max_models: int
    model_dirs: tuple[Path, ...]
    image_max_side: int
    openblas: str
    sessions_dir: Path
    lmstudio_dir: Path
    models: dict[str, ModelOverride]
    clusters: dict[str, ClusterConfig]


def _expect(value: object, kind: type[_T], key: str, source: Path) -> _T:
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise InputError(f"{source}: '{key}' must be a {kind.__name__}, got {value!r}")
    return value


KNOWN_KEYS = (
    "memory_limit",
    "max_models",
    "model_dirs",
    "image_max_side",
    "openblas",
    "sessions_dir",
    "lmstudio_dir",
    "models",
    "clusters",
)


def _positive(value: object, key: str, source: Path) -> int:
    number = _expect(value, int, key, source)
    if number < 1:
        raise InputError(f"{source}: '{key}' must be at least 1, got {number!r}")
    return number


def _model_dirs(value: object, source: Path) -> tuple[Path, ...]:
    dirs = _expect(value, list, "model_dirs", source)
    for item in dirs:
        if not isinstance(item, str):
            raise InputError(f"{source}: 'model_dirs' items must be strings, got {item!r}")
    return tuple(Path(d).expanduser() for d in dirs)


def _overrides(raw: object, source: Path) -> dict[str, ModelOverride]:
    if not isinstance(raw, dict):
        raise InputError(f"{source}: [models] must be a table of model names")
    result = {}
    for name, table in raw.items():
        if not isinstance(table, dict):
            raise InputError(f"{source}: [models.{name!r}] must be a table")
        result[name] = ModelOverride(kind=table.get("kind"), family=table.get("family"))
    return result


def parse_config(data: dict[str, object], source: Path) -> Config:
    """Validate a parsed TOML table into a ``Config``."""
    unknown = [key for key in data if key not in KNOWN_KEYS]
    if unknown:
        raise InputError(
            f"{source}: unknown setting {unknown[0]!r} (known: {', '.join(KNOWN_KEYS)})"
        )
    kwargs: _Settings = {}
    if "memory_limit" in data:
        kwargs["memory_limit"] = str(_expect(data["memory_limit"], str, "memory_limit", source))
    if "max_models" in data:
        kwargs["max_models"] = _positive(data["max_models"], "max_models", source)
    if "image_max_side" in data:
        kwargs["image_max_side"] = _positive(data["image_max_side"], "image_max_side", source)
    if "openblas" in data:
        value = _expect(data["openblas"], str, "openblas", source)
        if value not in ("auto", "off"):
            raise InputError(f'{source}: \'openblas\' must be "auto" or "off", got {value!r}')
        kwargs["openblas"] = value
    if "model_dirs" in data:
        kwargs["model_dirs"] = _model_dirs(data["model_dirs"], source)
    for key in ("sessions_dir", "lmstudio_dir"):
        if data.get(key):
            kwargs[key] = Path(str(_expect(data[key], str, key, source))).expanduser()
    if "models" in data:
        kwargs["models"] = _overrides(data["models"], source)
    if "clusters" in data:
        from workbench.core.cluster.config import parse_clusters

        kwargs["clusters"] = parse_clusters(data["clusters"], source)
    return Config(**kwargs)


def load_config(path: Path | None = None) -> Config:
    """Read the config file; defaults when it does not exist."""
    path = path or paths.config_file()
    if not path.exists():
        if path.is_symlink():
            raise InputError(f"{path}: cannot read config: it is a broken link")
        return Config()
    text = read_text(path, CONFIG_LIMIT, "config file")  # a folder or a FIFO: one line
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: cannot read config: {exc}") from exc
    return parse_config(data, path)
