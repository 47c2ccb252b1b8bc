"""Find every model on this machine, offline, without loading any of them.

Models live in several places that the user never had to tell us about: the Hugging Face
cache, LM Studio's folder, mlxbench's own GGUF imports, the bundled demo models — plus any
folders listed in ``config.toml``. This module walks them all and returns one list of
``ModelInfo`` with stable ids, so the pool, the CLI and the TUI agree on what exists:

- ``demo/<name>``                  the bundled demo models
- ``hf/<org>/<repo>``              Hugging Face cache (the ``main`` snapshot, else the newest)
- ``lmstudio/<publisher>/<model>`` LM Studio's ``publisher/model/`` layout
- ``local/<folder>``               folders from ``model_dirs`` (collisions get ``-2``, ``-3``)
- ``imported/<folder>``            mlxbench's own imports not already listed with their GGUF

A model reachable through two routes is listed once (the first route above wins). Broken
folders are listed with ``usable=False`` and a ``problem`` instead of breaking the scan.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.core import paths
from workbench.core.config import Config, ModelOverride, load_config
from workbench.core.errors import InputError
from workbench.core.models.demo import installed_demo_models
from workbench.core.models.detect import apply_override, check_override, detect_quantization
from workbench.core.models.folder import (
    FolderProblem,
    describe_folder,
    describe_gguf,
    describe_location,
    gguf_files,
    import_source,
    list_names,
    unusable,
)
from workbench.core.models.resolve import match_models
from workbench.core.models.synthetic import synthetic_models
from workbench.core.models.tuning import gguf_tuning
from workbench.core.types import ModelInfo

if TYPE_CHECKING:
    from huggingface_hub import CachedRepoInfo


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache, from the same variables ``huggingface_hub`` reads.

    Read at call time (not import time) so that a changed ``HF_HUB_CACHE`` is honoured.
    """
    env = os.environ
    for key in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        if env.get(key):
            return Path(env[key]).expanduser()
    if env.get("HF_HOME"):
        return Path(env["HF_HOME"]).expanduser() / "hub"
    cache = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache").expanduser()
    return cache / "huggingface" / "hub"


def _subfolders(folder: Path) -> list[Path]:
    """Visible subfolders, sorted; an unreadable folder raises ``FolderProblem``."""
    names = list_names(folder)
    return [folder / n for n in names if not n.startswith(".") and (folder / n).is_dir()]


def _snapshot(repo: CachedRepoInfo) -> Path | None:
    """The snapshot folder to use for a cached repo: the ``main`` ref's, else the newest."""
    revisions = sorted(repo.revisions, key=lambda r: r.last_modified, reverse=True)
    for revision in revisions:
        if "main" in revision.refs:
            return Path(revision.snapshot_path)
    return Path(revisions[0].snapshot_path) if revisions else None


def _repo_entries(repo: CachedRepoInfo) -> list[ModelInfo]:
    model_id, name = f"hf/{repo.repo_id}", repo.repo_id.split("/")[-1]
    snapshot = _snapshot(repo)
    if snapshot is None:
        path, problem = Path(repo.repo_path), "no downloaded snapshot"
        return [_unreadable(path, model_id, name, "hf-cache", problem)]
    return describe_location(snapshot, model_id=model_id, name=name, source="hf-cache")


def _damaged_repo(folder: Path, reason: str) -> ModelInfo:
    """A repo the scan could not read (a cut download, a symlink loop, no permission)."""
    repo_id = folder.name.removeprefix("models--").replace("--", "/")
    problem = f"damaged Hugging Face cache entry: {reason}"
    return _unreadable(folder, f"hf/{repo_id}", repo_id.split("/")[-1], "hf-cache", problem)


def _safe_repo_entries(repo: CachedRepoInfo) -> list[ModelInfo]:
    try:
        return _repo_entries(repo)
    except OSError as exc:  # e.g. a loop inside the snapshot: this repo only
        return [_damaged_repo(Path(repo.repo_path), exc.strerror or str(exc))]


def hf_cache_models(cache_dir: Path | None = None) -> list[ModelInfo]:
    """Model repos in the Hugging Face cache; a missing cache is simply empty, and a
    damaged repo is listed with its reason, never hiding the others."""
    from workbench.core.models.hf_cache import scan_cache

    cache = cache_dir or hf_cache_dir()
    if not cache.is_dir():
        return []
    scan = scan_cache(cache)
    found: list[ModelInfo] = []
    for repo in sorted(scan.repos, key=lambda r: r.repo_id.lower()):
        found += _safe_repo_entries(repo)
    return found + [_damaged_repo(folder, reason) for folder, reason in scan.broken]


def lmstudio_models(root: Path) -> list[ModelInfo]:
    """Models in LM Studio's ``publisher/model/`` layout; a missing folder is empty."""
    if not root.is_dir():
        return []
    found: list[ModelInfo] = []
    try:
        publishers = _subfolders(root)
    except FolderProblem as problem:
        return [_unreadable(root, "lmstudio", root.name, "lmstudio", problem)]
    for publisher in publishers:
        try:
            folders = _subfolders(publisher)
        except FolderProblem as problem:
            found.append(
                _unreadable(
                    publisher, f"lmstudio/{publisher.name}", publisher.name, "lmstudio", problem
                )
            )
            continue
        for folder in folders:
            model_id = f"lmstudio/{publisher.name}/{folder.name}"
            found += describe_location(
                folder, model_id=model_id, name=folder.name, source="lmstudio"
            )
    return found


def _unreadable(path: Path, model_id: str, name: str, source: str, problem: object) -> ModelInfo:
    return unusable(path, model_id=model_id, name=name, source=source, problem=str(problem))


def _folder_children(folder: Path) -> list[ModelInfo]:
    """Models inside one ``model_dirs`` entry: subfolders (one nesting level) and GGUF files."""
    names = list_names(folder)
    found = [
        describe_gguf(g, model_id=f"local/{g.stem}", name=g.stem, source="folder")
        for g in gguf_files(folder, names)
        if g.is_file()
    ]
    for sub in _subfolders(folder):
        nested = _nested_models(sub)
        if nested:
            found += nested
        else:
            found += describe_location(
                sub, model_id=f"local/{sub.name}", name=sub.name, source="folder"
            )
    return found


def _nested_models(sub: Path) -> list[ModelInfo]:
    """An ``org/model`` layout: ``sub`` holds no model files but model folders of its own."""
    try:
        names = list_names(sub)
        if "config.json" in names or gguf_files(sub, names):
            return []
        children = [c for c in _subfolders(sub) if (c / "config.json").is_file()]
    except FolderProblem:
        return []
    return [
        describe_folder(c, model_id=f"local/{c.name}", name=c.name, source="folder")
        for c in children
    ]


def folder_models(folders: Iterable[Path]) -> list[ModelInfo]:
    """Models in the user's ``model_dirs``; a listed folder may itself be a model."""
    found: list[ModelInfo] = []
    for folder in folders:
        model_id, name = f"local/{folder.name}", folder.name
        if not folder.is_dir():
            problem = "configured model folder does not exist"
            found.append(_unreadable(folder, model_id, name, "folder", problem))
            continue
        try:
            if (folder / "config.json").is_file():
                found.append(describe_folder(folder, model_id=model_id, name=name, source="folder"))
            else:
                found += _folder_children(folder)
        except FolderProblem as problem:
            found.append(_unreadable(folder, model_id, name, "folder", problem))
    return found


def imported_models(root: Path | None = None) -> list[ModelInfo]:
    """Model folders mlxbench made itself (GGUF imports)."""
    root = root or paths.models_dir()
    if not root.is_dir():
        return []
    try:
        folders = _subfolders(root)
    except FolderProblem as problem:
        return [_unreadable(root, "imported", root.name, "imported", problem)]
    found = []
    for folder in folders:
        info = describe_folder(
            folder, model_id=f"imported/{folder.name}", name=folder.name, source="imported"
        )
        source = import_source(folder)
        quant = detect_quantization(None, source.name) if source else None
        tuning = gguf_tuning(source, info.name) if source and info.usable else info.tuning
        found.append(
            replace(
                info, gguf_source=source, quantization=quant or info.quantization, tuning=tuning
            )
        )
    return found


def demo_models() -> list[ModelInfo]:
    """The bundled demo models that are installed (a GGUF file or a model folder each)."""
    found = []
    for name, path in installed_demo_models().items():
        describe = describe_gguf if path.suffix.lower() == ".gguf" else describe_folder
        found.append(describe(path, model_id=f"demo/{name}", name=name, source="demo"))
    return found


def dedupe(models: Iterable[ModelInfo]) -> list[ModelInfo]:
    """Drop models already listed through an earlier route and make every id unique.

    A GGUF-backed entry is the same model as its GGUF file and also claims its import
    folder, so the import is not listed a second time under ``imported/``.
    """
    seen: set[str] = set()
    ids: set[str] = set()
    kept: list[ModelInfo] = []
    for info in models:
        key = os.path.realpath(info.gguf_source or info.path)
        if key in seen:
            continue
        seen.update({key, os.path.realpath(info.path)})
        kept.append(replace(info, id=_unique(info.id, ids)))
    return kept


def _unique(model_id: str, taken: set[str]) -> str:
    candidate, n = model_id, 1
    while candidate in taken:
        n += 1
        candidate = f"{model_id}-{n}"
    taken.add(candidate)
    return candidate


def apply_overrides(
    models: list[ModelInfo], overrides: dict[str, ModelOverride]
) -> list[ModelInfo]:
    """Apply ``[models."<key>"]`` kind/family overrides; a key names models like a query does.

    Invalid values raise ``InputError`` naming the key, as does a key that matches several
    models by substring only (the user must pick an id). Keys that match nothing are ignored:
    the model may simply not be on this machine right now.
    """
    for key, override in overrides.items():
        check_override(key, override)
    result = list(models)
    for key, override in overrides.items():
        targets = match_models(key, result)
        exact = any(m.id == key or m.name.lower() == key.lower() for m in targets)
        if len(targets) > 1 and not exact:
            names = ", ".join(m.id for m in targets[:5])
            raise InputError(f"config [models.{key!r}] matches several models ({names}); use an id")
        for index, info in enumerate(result):
            if info in targets:
                kind, family = apply_override(info.kind, info.family, key, override)
                result[index] = replace(info, kind=kind, family=family)
    return result


def scan_catalog(config: Config | None = None) -> list[ModelInfo]:
    """Every model found on this machine (usable or not), with user overrides applied.

    ``config`` defaults to the user's ``config.toml``. Reads only small files (configs and
    safetensors headers), never weights, and needs no network.
    """
    config = config or load_config()
    found = [
        *demo_models(),
        *hf_cache_models(),
        *lmstudio_models(config.lmstudio_dir or paths.lmstudio_models_dir()),
        *folder_models(config.model_dirs),
        *imported_models(),
        *synthetic_models(),
    ]
    return apply_overrides(dedupe(found), config.models)
