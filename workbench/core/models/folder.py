"""Turn one model folder, or one GGUF file, into a ``ModelInfo`` — whatever is wrong with it.

The catalog walks folders it does not control (the Hugging Face cache, LM Studio, the user's
own folders): half-finished downloads, PyTorch-only checkpoints, hand-edited JSON. None of that
may break the listing, so every problem becomes ``usable=False`` plus a one-line ``problem``
that the user can act on. The resolver uses the same code for a path typed by the user.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from workbench.core.gguf.record import import_destination, read_record
from workbench.core.models.detect import detect_family, detect_kind, detect_quantization
from workbench.core.models.tuning import folder_tuning, gguf_tuning
from workbench.core.pool.estimate import (
    HeaderError,
    estimate_bytes,
    safetensors_bytes,
    weight_files,
)
from workbench.core.types import ModelInfo, ModelKind

GGUF_MAGIC = b"GGUF"
TORCH_WEIGHT_SUFFIXES = (".bin", ".pt", ".pth")


class FolderProblem(Exception):
    """Why a folder cannot be used as a model, as one line for the user."""


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def list_names(folder: Path) -> list[str]:
    """The names in ``folder``; an unreadable folder is a ``FolderProblem``."""
    try:
        return sorted(p.name for p in folder.iterdir())
    except OSError as exc:
        raise FolderProblem(f"cannot read folder: {_reason(exc)}") from exc


def read_config(folder: Path) -> dict[str, object]:
    """The folder's ``config.json`` as a dict, or a ``FolderProblem`` saying what is wrong."""
    path = folder / "config.json"
    if not path.is_file():
        raise FolderProblem("no config.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FolderProblem(f"cannot read config.json: {_reason(exc)}") from exc
    except UnicodeDecodeError as exc:
        raise FolderProblem("config.json is not valid JSON: it is not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise FolderProblem(f"config.json is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise FolderProblem("config.json is not valid JSON: expected an object at the top")
    return data


def check_weights(folder: Path, names: list[str]) -> None:
    """A ``FolderProblem`` unless the folder has safetensors weights MLX can load."""
    try:
        files = weight_files(folder)
        for file in files:  # a header with impossible sizes: unusable, with the reason
            safetensors_bytes(file)
    except HeaderError as exc:
        raise FolderProblem(f"damaged weights: {exc}") from exc
    except OSError as exc:
        raise FolderProblem(f"cannot read the weights: {_reason(exc)}") from exc
    if files:
        return
    if any(name.endswith(TORCH_WEIGHT_SUFFIXES) for name in names):
        raise FolderProblem("only PyTorch weights (.bin/.pt); MLX needs .safetensors")
    raise FolderProblem("no weights (*.safetensors)")


def unusable(path: Path, *, model_id: str, name: str, source: str, problem: str) -> ModelInfo:
    """A catalog entry for something that cannot be loaded, kept so the user sees why."""
    return ModelInfo(
        id=model_id,
        name=name,
        path=path,
        kind=detect_kind(None, name),
        family=detect_family(None, name),
        source=source,
        quantization=detect_quantization(None, name),
        usable=False,
        problem=problem,
    )


def describe_folder(folder: Path, *, model_id: str, name: str, source: str) -> ModelInfo:
    """A ``ModelInfo`` for an MLX / Hugging Face model folder (usable or not)."""
    try:
        names = list_names(folder)
        config = read_config(folder)
        check_weights(folder, names)
    except FolderProblem as problem:
        return unusable(folder, model_id=model_id, name=name, source=source, problem=str(problem))
    size, method = estimate_bytes(folder, config, name)
    kind = detect_kind(config, name, names)
    return ModelInfo(
        id=model_id,
        name=name,
        path=folder,
        kind=kind,
        family=detect_family(config, name),
        source=source,
        quantization=detect_quantization(config, name),
        estimated_bytes=size,
        size_method=method,
        tuning="" if kind is ModelKind.EMBEDDINGS else folder_tuning(folder, name, names),
    )


def is_gguf_file(path: Path) -> bool:
    """True when ``path`` is a readable file that starts with the GGUF magic bytes."""
    try:
        with path.open("rb") as handle:
            return handle.read(4) == GGUF_MAGIC
    except OSError:
        return False


def gguf_files(folder: Path, names: list[str]) -> list[Path]:
    """The model GGUF files in a folder (vision projector ``mmproj`` files left out)."""
    return [
        folder / n
        for n in names
        if n.lower().endswith(".gguf") and not n.lower().startswith("mmproj")
    ]


def import_dir_for(gguf_path: Path) -> Path:
    """Where ``ensure_imported`` puts (or has put) the MLX model made from ``gguf_path``."""
    return import_destination(gguf_path)


def import_source(folder: Path) -> Path | None:
    """The GGUF file an mlxbench import was made from, if the import says so and it exists."""
    record = read_record(folder) or {}
    source = record.get("source")
    return Path(source) if isinstance(source, str) and Path(source).is_file() else None


def describe_gguf(gguf_path: Path, *, model_id: str, name: str, source: str) -> ModelInfo:
    """A TEXT model backed by a GGUF file; ``path`` is where its MLX import lives.

    When the import already exists its folder gives the facts (config, exact size);
    otherwise kind, family and size come from the file's name and size.
    """
    destination = import_dir_for(gguf_path)
    quant = detect_quantization(None, gguf_path.name)
    if not is_gguf_file(gguf_path):
        problem = f"{gguf_path.name} is not a GGUF file (or cannot be read)"
        info = unusable(destination, model_id=model_id, name=name, source=source, problem=problem)
        return _with_gguf(info, gguf_path, quant)
    imported = describe_folder(destination, model_id=model_id, name=name, source=source)
    if imported.usable:
        return _with_gguf(imported, gguf_path, quant or imported.quantization)
    size, method = estimate_bytes(gguf_path, None, name)
    info = ModelInfo(
        id=model_id,
        name=name,
        path=destination,
        kind=ModelKind.TEXT,
        family=detect_family(None, f"{name} {gguf_path.name}"),
        source=source,
        estimated_bytes=size,
        size_method=method,
    )
    return _with_gguf(info, gguf_path, quant)


def _with_gguf(info: ModelInfo, gguf_path: Path, quant: str | None) -> ModelInfo:
    """The GGUF's own metadata decides the tuning (an import may have added a template)."""
    tuning = gguf_tuning(gguf_path, info.name) if info.usable else info.tuning
    return replace(info, gguf_source=gguf_path, quantization=quant, tuning=tuning)


def describe_location(folder: Path, *, model_id: str, name: str, source: str) -> list[ModelInfo]:
    """Every model in one model location: an MLX folder, or one entry per GGUF file in it."""
    try:
        names = list_names(folder)
    except FolderProblem as problem:
        return [unusable(folder, model_id=model_id, name=name, source=source, problem=str(problem))]
    ggufs = gguf_files(folder, names)
    if "config.json" in names or not ggufs:
        return [describe_folder(folder, model_id=model_id, name=name, source=source)]
    if len(ggufs) == 1:
        return [describe_gguf(ggufs[0], model_id=model_id, name=name, source=source)]
    return [
        describe_gguf(g, model_id=f"{model_id}/{g.stem}", name=g.stem, source=source) for g in ggufs
    ]
