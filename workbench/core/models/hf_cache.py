"""Scan the Hugging Face cache so that one broken repo never hides the others.

``huggingface_hub.scan_cache_dir`` reports most damage per repo (as warnings), but an
``OSError`` inside one repo — a symlink loop where a snapshot or a ref should be, a folder
it may not read — aborts the whole scan. Then every repo is scanned on its own, so the good
ones are listed and each bad one is named with its reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.errors import one_line


@dataclass
class CacheScan:
    """Readable repos (``CachedRepoInfo``), and (folder, reason) for the unreadable ones."""

    repos: list[Any] = field(default_factory=list)
    broken: list[tuple[Path, str]] = field(default_factory=list)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return one_line(exc)


def scan_cache(cache: Path) -> CacheScan:
    """Every model repo of the cache; never raises for a damaged repo."""
    from huggingface_hub import scan_cache_dir

    try:
        report = scan_cache_dir(cache)
    except (OSError, ValueError) as exc:
        return scan_each_repo(cache, exc)
    listed = {Path(r.repo_path).name for r in report.repos}
    scan = CacheScan([r for r in report.repos if r.repo_type == "model"])
    for folder in _model_folders(cache):
        if folder.name not in listed:
            warning = next((str(w) for w in report.warnings if folder.name in str(w)), None)
            scan.broken.append((folder, warning or "unreadable"))
    return scan


def scan_each_repo(cache: Path, first_error: BaseException) -> CacheScan:
    """The fallback after a whole-cache scan failed: one repo at a time."""
    try:  # not public API; without it every repo is reported with the first error
        from huggingface_hub.utils._cache_manager import _scan_cached_repo
    except ImportError:
        return CacheScan([], [(f, _reason(first_error)) for f in _model_folders(cache)])
    scan = CacheScan()
    for folder in _model_folders(cache):
        try:
            scan.repos.append(_scan_cached_repo(folder))
        except Exception as exc:  # CorruptedCacheException, OSError (ELOOP, EACCES)...
            scan.broken.append((folder, _reason(exc)))
    return scan


def _model_folders(cache: Path) -> list[Path]:
    try:
        return sorted(p for p in cache.glob("models--*") if p.is_dir() or p.is_symlink())
    except OSError:
        return []
