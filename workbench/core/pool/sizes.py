"""Measured model sizes and load times, remembered between runs.

An estimate from file headers is good; a measurement of what MLX actually allocated is
better. After each load the pool records the measured bytes and the seconds the load took,
keyed by the model's path plus a fingerprint of its weight files (names, sizes, mtimes), so
the next run's fit check uses the real number — and a model whose weights changed is simply
measured again. The file is small JSON, written atomically; a corrupt file is set aside
and forgotten, never fatal: these are only hints.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NotRequired, TypedDict, TypeGuard

from workbench.core import paths
from workbench.core.atomic import atomic_write_text
from workbench.core.types import ModelInfo

WEIGHT_SUFFIXES = (".safetensors", ".gguf", ".npz", ".bin")
# A measurement below this fraction of an estimate read from the weights' own headers is
# not believed (real measurements are the header's bytes, give or take a little).
MIN_MEASURED_FRACTION = 0.75
TRUSTED_ESTIMATES = ("safetensors-header", "gguf-file-size")
FORMAT_VERSION = 1

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SizeRecord:
    """What one load of a model measured."""

    measured_bytes: int
    load_seconds: float | None
    fingerprint: str


class _Measurement(TypedDict):
    """One model's entry in the sizes file."""

    bytes: int
    fingerprint: str
    measured_at: NotRequired[float]
    seconds: NotRequired[float | None]


def _weight_files(location: Path) -> list[Path]:
    if location.is_file():
        return [location]
    try:
        children = sorted(location.iterdir())
    except OSError:
        return []
    return [p for p in children if p.suffix in WEIGHT_SUFFIXES and p.is_file()]


def model_key(info: ModelInfo) -> str:
    """The store key: the file the weights come from (the GGUF for not-yet-imported models);
    a model sharded over a cluster has its own key (this machine holds only its shares)."""
    key = str((info.gguf_source or info.path).expanduser().resolve())
    return f"{key}@cluster:{info.cluster.cluster}" if info.cluster is not None else key


def fingerprint(info: ModelInfo) -> str:
    """A hash of the weight files' names, sizes and mtimes; "" when there are none."""
    digest = hashlib.sha256()
    files = _weight_files((info.gguf_source or info.path).expanduser())
    for file in files:
        try:
            stat = file.stat()
        except OSError:
            continue
        digest.update(f"{file.name}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:32] if files else ""


class SizesStore:
    """Thread-safe access to the sizes file (default ``paths.sizes_file()``)."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._records: dict[str, _Measurement] | None = None

    @property
    def path(self) -> Path:
        return self._path or paths.sizes_file()

    def lookup(self, info: ModelInfo) -> SizeRecord | None:
        """The remembered measurement, if the model's weights have not changed since."""
        with self._lock:
            raw = self._loaded().get(model_key(info))
        if raw is None:
            return None
        current = fingerprint(info)
        if not current or raw.get("fingerprint") != current:
            return None
        if not plausible(int(raw["bytes"]), info):
            log.warning(
                "ignoring the remembered size of %s (%d bytes): far below its %s estimate (%d)",
                info.name, raw["bytes"], info.size_method, info.estimated_bytes,
            )  # fmt: skip
            return None
        return SizeRecord(int(raw["bytes"]), raw.get("seconds"), current)

    def remember(self, info: ModelInfo, measured_bytes: int, load_seconds: float | None) -> None:
        """Record a measurement and write the file (merging with what is on disk now)."""
        current = fingerprint(info)
        if not current or measured_bytes <= 0:
            return
        record: _Measurement = {
            "bytes": int(measured_bytes),
            "fingerprint": current,
            "measured_at": time.time(),
        }
        if load_seconds is not None:
            record["seconds"] = round(float(load_seconds), 3)
        with self._lock:
            records = self._read()  # merge: another process may have written meanwhile
            records[model_key(info)] = record
            self._records = records
            self._write(records)

    def seconds_per_gb(self) -> float | None:
        """Load seconds per GB over every remembered load (None before the first)."""
        with self._lock:
            records = list(self._loaded().values())
        timed = [(s, r["bytes"]) for r in records if (s := r.get("seconds")) is not None]
        seconds = sum(s for s, _ in timed)
        gigabytes = sum(b for _, b in timed) / 1024**3
        return seconds / gigabytes if gigabytes > 0 and seconds > 0 else None

    # ------------------------------------------------------------------ file handling

    def _loaded(self) -> dict[str, _Measurement]:
        if self._records is None:
            self._records = self._read()
        return self._records

    def _read(self) -> dict[str, _Measurement]:
        path = self.path
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError:
            return {}
        try:
            data = json.loads(text)
            models = data["models"]
            return {str(k): v for k, v in models.items() if _valid(v)}
        except (ValueError, KeyError, TypeError, AttributeError):
            self._set_aside(path)
            return {}

    def _set_aside(self, path: Path) -> None:
        with contextlib.suppress(OSError):
            path.replace(path.with_name(f"{path.name}.corrupt-{int(time.time())}"))

    def _write(self, records: dict[str, _Measurement]) -> None:
        path = self.path
        payload = json.dumps({"version": FORMAT_VERSION, "models": records}, indent=1)
        with contextlib.suppress(OSError):  # a size not remembered is measured again next time
            atomic_write_text(path, payload)


def plausible(measured: int, info: ModelInfo) -> bool:
    """False when a remembered size is far below what the weight files' headers say the
    weights take: a corrupt or stale record must not let a load past the budget. (Estimates
    from names or defaults are too rough to judge by.)"""
    if info.size_method not in TRUSTED_ESTIMATES or info.estimated_bytes <= 0:
        return True
    return measured >= info.estimated_bytes * MIN_MEASURED_FRACTION


def _valid(record: object) -> TypeGuard[_Measurement]:
    if not isinstance(record, dict):
        return False
    size, seconds = record.get("bytes"), record.get("seconds")
    return (
        isinstance(size, int)
        and size > 0
        and isinstance(record.get("fingerprint"), str)
        and (seconds is None or isinstance(seconds, int | float))
    )
