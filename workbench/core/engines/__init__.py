"""Engines: thin wrappers that load a model with its MLX library and run it.

Three engines, named alike: ``TextEngine`` (mlx-lm), ``VisionEngine`` (mlx-vlm) — both
``ChatEngine``s — and ``EmbedEngine`` (mlx-embeddings), an ``Embedder``; the protocols are in
``base``, what chat engines share in ``chat``. ``load_engine`` is the one door the pool
uses. It imports a GGUF first when the model only exists as one, picks the engine by model
kind, and turns every loader failure (bad config, missing weights, an architecture the
library does not know) into one clear ``UnusableModelError`` line. The MLX libraries are
imported lazily, inside the loaders.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path

from workbench.core.engines.base import ChatEngine, Embedder, LoadedModel
from workbench.core.engines.embed import EmbedEngine  # light: mlx-embeddings loads lazily
from workbench.core.errors import UnusableModelError, WorkbenchError, one_line
from workbench.core.types import ModelInfo, ModelKind

__all__ = ["ChatEngine", "EmbedEngine", "Embedder", "LoadedModel", "load_engine"]

Progress = Callable[[str], None]
MAX_REASON = 200


def load_engine(info: ModelInfo, progress: Progress | None = None) -> LoadedModel:
    """Load ``info`` and return its engine (a ``ChatEngine`` or an ``Embedder``).

    Must run on the MLX owner thread. ``progress`` receives short status lines.
    """
    report = progress or (lambda _message: None)
    if not info.usable:
        raise UnusableModelError(f"{info.name} cannot be loaded: {info.problem or 'unusable'}")
    if info.gguf_source is not None:
        report("importing GGUF…")
        from workbench.core.gguf.importer import ensure_imported

        folder = ensure_imported(info.gguf_source, progress=report)
        info = dataclasses.replace(info, path=folder)
    problem = folder_problem(info.path)
    if problem:
        raise UnusableModelError(f"{info.name} cannot be loaded: {problem}")
    report("reading weights…")
    try:
        return _load(info, report)
    except WorkbenchError:
        raise
    except Exception as exc:  # the libraries raise anything from KeyError to ValueError
        raise UnusableModelError(f"{info.name} cannot be loaded: {reason(exc)}") from exc


def folder_problem(folder: Path) -> str | None:
    """Why ``folder`` is not a loadable MLX model folder, or None if it may be one."""
    if not folder.is_dir():
        return f"{folder} is not a folder"
    config = folder / "config.json"
    if not config.is_file():
        return f"no config.json in {folder}"
    try:
        data = json.loads(config.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return f"cannot read {config}: {reason(exc)}"
    except json.JSONDecodeError as exc:
        return f"{config} is not valid JSON ({exc.msg}, line {exc.lineno})"
    if not isinstance(data, dict) or not data.get("model_type"):
        return f"{config} names no model_type"
    if not any(folder.glob("*.safetensors")):
        return f"no .safetensors weights in {folder}"
    return None


def reason(exc: BaseException) -> str:
    """Why a library failed, in one line (a bare ``KeyError`` key gets its class name)."""
    return one_line(exc, limit=MAX_REASON, with_type=isinstance(exc, KeyError | FileNotFoundError))


def _load(info: ModelInfo, report: Progress) -> LoadedModel:
    if info.cluster is not None:
        from workbench.core.cluster.engine import load_cluster

        return load_cluster(info, report)
    if info.kind is ModelKind.TEXT:
        from workbench.core.engines.text import load_text

        return load_text(info)
    if info.kind is ModelKind.EMBEDDINGS:
        from workbench.core.engines.embed import load_embed

        return load_embed(info)
    if info.kind is ModelKind.VISION:
        from workbench.core.engines.vision import load_vision

        return load_vision(info, report)
    raise UnusableModelError(f"{info.name} cannot be loaded: unknown kind {info.kind!r}")
