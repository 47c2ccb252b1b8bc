"""Turn what the user typed ("smollm2", an id, a folder, a .gguf file) into one model.

Every command and the TUI accept the same spellings, so this is the one place that decides
what a name means and what to say when it means nothing, or too much. In order: an exact id;
an exact short name (case-insensitive); an existing path; a unique case-insensitive
substring of the names and ids.
"""

from __future__ import annotations

import os
from pathlib import Path

from workbench.core.errors import AmbiguousModelError, ModelNotFoundError, UnusableModelError
from workbench.core.models.folder import (
    FolderProblem,
    describe_folder,
    describe_gguf,
    is_gguf_file,
    list_names,
    read_config,
)
from workbench.core.types import ModelInfo

MAX_LISTED = 8


def _real(path: Path | None) -> str | None:
    return os.path.realpath(path) if path is not None else None


def match_models(query: str, catalog: list[ModelInfo]) -> list[ModelInfo]:
    """Catalog entries ``query`` names: exact id, else exact name, else substring matches."""
    exact_id = [m for m in catalog if m.id == query]
    if exact_id:
        return exact_id
    lowered = query.lower()
    exact_name = [m for m in catalog if m.name.lower() == lowered]
    if exact_name:
        return exact_name
    return [m for m in catalog if lowered in m.name.lower() or lowered in m.id.lower()]


def _looks_like_path(query: str) -> bool:
    return (
        os.sep in query
        or "/" in query
        or query.startswith(("~", "."))
        or query.lower().endswith(".gguf")
    )


def model_from_path(path: Path) -> ModelInfo:
    """A ``ModelInfo`` (source "path") for a model folder or a ``.gguf`` file on disk.

    Raises ``UnusableModelError`` for anything that is not a loadable model.
    """
    resolved = path.expanduser().resolve()
    model_id = str(resolved)
    if resolved.is_file():
        if not is_gguf_file(resolved):
            raise UnusableModelError(f"'{path}' is a file but not a GGUF file or a model folder")
        return describe_gguf(resolved, model_id=model_id, name=resolved.stem, source="path")
    try:
        list_names(resolved)
        read_config(resolved)
    except FolderProblem as problem:
        raise UnusableModelError(f"'{path}' is not a usable model folder: {problem}") from None
    info = describe_folder(resolved, model_id=model_id, name=resolved.name, source="path")
    if not info.usable:
        raise UnusableModelError(f"'{path}' is not a usable model folder: {info.problem}")
    return info


def _in_catalog(path: Path, catalog: list[ModelInfo]) -> ModelInfo | None:
    target = _real(path.expanduser())
    for info in catalog:
        if target in (_real(info.path), _real(info.gguf_source)):
            return info
    return None


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:  # e.g. a name too long to be a path
        return False


def _checked(info: ModelInfo) -> ModelInfo:
    if not info.usable:
        raise UnusableModelError(f"model '{info.id}' cannot be used: {info.problem}")
    return info


def _ambiguous(query: str, candidates: list[ModelInfo]) -> AmbiguousModelError:
    shown = ", ".join(m.id for m in candidates[:MAX_LISTED])
    more = f" and {len(candidates) - MAX_LISTED} more" if len(candidates) > MAX_LISTED else ""
    return AmbiguousModelError(f"'{query}' matches several models: {shown}{more}; use the id")


def _from_path(path: Path, catalog: list[ModelInfo]) -> ModelInfo:
    known = _in_catalog(path, catalog)
    return _checked(known) if known else model_from_path(path)


def _from_substring(query: str, catalog: list[ModelInfo]) -> ModelInfo | None:
    matches = match_models(query, catalog)
    usable = [m for m in matches if m.usable]
    if len(usable) == 1 or len(matches) == 1:
        return _checked(usable[0] if usable else matches[0])
    if matches:
        raise _ambiguous(query, usable or matches)
    return None


def resolve_model(query: str, catalog: list[ModelInfo]) -> ModelInfo:
    """The one model ``query`` names; raises a ``WorkbenchError`` subclass otherwise.

    Something spelled like a path ("./m", "~/m", "/m", "m.gguf") that exists is taken as a
    path before substring matching; a bare word is a path only when no model matches it.
    A substring matching several entries of which exactly one is usable picks that one
    (broken downloads should not make a short name ambiguous).
    """
    query = query.strip()
    if not query:
        raise ModelNotFoundError("no model given; `mlxbench models` lists them")
    if query.lower().startswith("synthetic:"):  # a random-weight model of a named shape
        from workbench.core.models.synthetic import ensure_synthetic

        return ensure_synthetic(query)
    exact = [m for m in catalog if m.id == query] or [
        m for m in catalog if m.name.lower() == query.lower()
    ]
    if len(exact) > 1:
        raise _ambiguous(query, exact)
    if exact:
        return _checked(exact[0])
    path, path_like = Path(query).expanduser(), _looks_like_path(query)
    if path_like and _exists(path):
        return _from_path(path, catalog)
    found = _from_substring(query, catalog)
    if found is not None:
        return found
    if _exists(path):
        return _from_path(path, catalog)
    where = " (no such file or folder)" if path_like else ""
    raise ModelNotFoundError(f"no model matches '{query}'{where}; `mlxbench models` lists them")
