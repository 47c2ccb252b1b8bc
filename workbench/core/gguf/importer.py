"""GGUF → MLX model directory import.

Many small models exist only as GGUF files (llama.cpp's format); mlx-lm loads Hugging Face
style folders. ``import_gguf`` turns a GGUF (llama, Mistral, Qwen 2/3, Gemma 3) into such a
folder — tensors MLX reads natively kept as they are, K-quants re-quantized for MLX
(``gguf_tensors``), tokenizer rebuilt, chat template carried over — and ``ensure_imported``
does it once per source file, caching the result under the user's models folder.

Safety: the header is validated in pure Python before MLX reads a byte (MLX can crash on a bad
file); the folder is built next to its destination and renamed into place, so a crash never
leaves half a model; a lock file serialises concurrent imports of the same destination, and
work folders a killed import left behind are swept at the start of the next import.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from workbench.core import paths
from workbench.core.errors import GGUFError
from workbench.core.gguf.convert import (
    BITS_CHOICES,
    check_importable,
    convert_weights,
    model_config,
    native,
)
from workbench.core.gguf.reader import GGUFHeader, read_header
from workbench.core.gguf.record import (
    RECORD_FILE,
    RECORD_FORMAT,
    default_name,
    read_record,
)
from workbench.core.gguf.tokenizer import build_tokenizer, eos_token_ids, write_tokenizer

Progress = Callable[[str], None]


def _check_name(name: str) -> str:
    if not name or name in (".", "..") or "/" in name or "\\" in name or name.startswith("."):
        raise GGUFError(f"invalid model name {name!r}: use a plain folder name")
    return name


def _source_record(gguf_path: Path, bits: int = 4) -> dict[str, Any]:
    stat = gguf_path.stat()
    return {
        "format": RECORD_FORMAT,
        "source": str(gguf_path.resolve()),
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "bits": bits,
    }


def _write_json(path: Path, data: dict[str, Any]) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _weights(header: GGUFHeader, bits: int, progress: Progress) -> dict[str, Any]:
    import mlx.core as mx

    progress("loading tensors")
    if not native(header):
        from workbench.core.gguf.tensors import requantized_weights

        progress(f"re-quantizing K-quant tensors (at least {bits}-bit)")
        return requantized_weights(header, bits)
    loaded = mx.load(str(header.path))
    # mx.load returns (arrays, metadata) only when asked; a GGUF file is always named tensors
    arrays = loaded[0] if isinstance(loaded, tuple) else loaded
    if not isinstance(arrays, dict):
        raise GGUFError(f"{header.path.name}: MLX did not read it as named tensors")
    progress("converting weights")
    return convert_weights(arrays, header)


def _build(header: GGUFHeader, folder: Path, bits: int, progress: Progress) -> None:
    import mlx.core as mx

    weights = _weights(header, bits, progress)
    mx.save_safetensors(str(folder / "model.safetensors"), weights, metadata={"format": "mlx"})
    del weights
    progress("writing config and tokenizer")
    config = model_config(header, bits)
    _write_json(folder / "config.json", config)
    generation = {"bos_token_id": config["bos_token_id"], "eos_token_id": eos_token_ids(header)}
    _write_json(folder / "generation_config.json", generation)
    write_tokenizer(header, folder)


def _replace_dir(built: Path, dest: Path) -> None:
    """Move ``built`` to ``dest``; an existing ``dest`` is swapped out, then deleted."""
    old = None
    if dest.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
        os.rename(dest, old / dest.name)
    os.rename(built, dest)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def _check_bits(bits: int) -> int:
    if bits not in BITS_CHOICES:
        raise GGUFError(
            f"--bits {bits} is not supported (choose {', '.join(map(str, BITS_CHOICES))})"
        )
    return bits


def _validated_header(gguf_path: Path) -> GGUFHeader:
    header = read_header(gguf_path)
    check_importable(header)
    model_config(header)  # missing hyper-parameters, unsupported RoPE scaling
    build_tokenizer(header)  # refuse unsupported vocabularies before the slow part
    return header


@contextlib.contextmanager
def _locked(dest: Path) -> Iterator[None]:
    """Hold the per-destination lock (a file in ``<root>/.locks``) while writing ``dest``."""
    lock_dir = dest.parent / ".locks"
    lock_dir.mkdir(parents=True, exist_ok=True)
    with (lock_dir / f"{dest.name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_leftovers(dest: Path) -> None:
    """Delete work folders a crashed import of ``dest`` left behind (call under the lock)."""
    for pattern in (f".{dest.name}.tmp-*", f".{dest.name}.old-*"):
        for leftover in dest.parent.glob(pattern):
            shutil.rmtree(leftover, ignore_errors=True)


def _owner(work_folder: Path) -> str | None:
    """The model name a work folder (``.NAME.tmp-XXXX`` / ``.NAME.old-XXXX``) belongs to."""
    for marker in (".tmp-", ".old-"):
        name, found, _ = work_folder.name[1:].rpartition(marker)
        if found and name:
            return name
    return None


def sweep_leftovers(root: Path) -> list[Path]:
    """Delete every work folder under ``root`` whose import is not running; return them.

    An import holds its destination's lock while its work folder exists, so a folder whose
    lock can be taken was left by an import that died (killed, power cut).
    """
    removed = []
    for folder in sorted(Path(root).glob(".*.*-*")) if Path(root).is_dir() else ():
        name = _owner(folder)
        if name is None or not folder.is_dir():
            continue
        lock = root / ".locks" / f"{name}.lock"
        lock.parent.mkdir(exist_ok=True)
        with contextlib.suppress(OSError), lock.open("a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # that import is running now
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
            fcntl.flock(handle, fcntl.LOCK_UN)
    return removed


def _import_locked(header: GGUFHeader, dest: Path, bits: int, say: Progress) -> Path:
    if dest.exists() and read_record(dest) is None:
        raise GGUFError(
            f"{dest} already exists and was not made by import-gguf; choose another name"
        )
    _remove_leftovers(dest)
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        built = work / dest.name
        built.mkdir()
        _build(header, built, bits, say)
        _write_json(built / RECORD_FILE, _source_record(header.path, bits))
        _replace_dir(built, dest)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    say(f"imported to {dest}")
    return dest


def _destination(gguf_path: Path, dest_root: Path | None, name: str | None) -> Path:
    root = Path(dest_root) if dest_root is not None else paths.models_dir()
    return root / _check_name(name or default_name(gguf_path))


def import_gguf(
    gguf_path: Path,
    dest_root: Path | None = None,
    name: str | None = None,
    progress: Progress | None = None,
    bits: int = 4,
) -> Path:
    """Convert a GGUF to an MLX model folder under ``dest_root``; return it.

    ``bits`` is the least precision of re-quantized (K-quant) tensors; tensors the file kept
    at more bits keep them. An existing folder of the same name is replaced (atomically from
    a reader's view). Raises ``GGUFError`` with one clear line for any file it cannot import.
    """
    say = progress or (lambda _message: None)
    gguf_path = Path(gguf_path)
    header = _validated_header(gguf_path)
    dest = _destination(gguf_path, dest_root, name)
    sweep_leftovers(dest.parent)
    with _locked(dest):
        return _import_locked(header, dest, _check_bits(bits), say)


def is_current(model_dir: Path, gguf_path: Path, bits: int | None = None) -> bool:
    """True if ``model_dir`` is a complete import of ``gguf_path`` as it is now.

    ``bits`` None accepts an import made at any ``--bits`` (what loading a model wants).
    """
    record = read_record(model_dir)
    if record is None or not (Path(model_dir) / "model.safetensors").is_file():
        return False
    try:
        wanted = _source_record(Path(gguf_path), record.get("bits", 4) if bits is None else bits)
    except OSError:
        return False
    return record == wanted


def ensure_imported(
    gguf_path: Path,
    dest_root: Path | None = None,
    progress: Progress | None = None,
    name: str | None = None,
    bits: int | None = None,
) -> Path:
    """The imported folder for ``gguf_path``, importing only if missing or out of date.

    ``bits`` None reuses an import made at any bits and imports at 4 when there is none.
    Safe when several processes ask at once: one imports, the others wait and reuse it.
    """
    gguf_path = Path(gguf_path)
    dest = _destination(gguf_path, dest_root, name)
    if gguf_path.is_file() and is_current(dest, gguf_path, bits):
        return dest
    say = progress or (lambda _message: None)
    header = _validated_header(gguf_path)
    sweep_leftovers(dest.parent)
    with _locked(dest):
        if is_current(dest, gguf_path, bits):
            return dest
        return _import_locked(header, dest, _check_bits(4 if bits is None else bits), say)
