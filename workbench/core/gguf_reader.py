"""A careful, pure-Python reader of GGUF headers.

MLX can load GGUF tensors, but it trusts the file: a truncated download or a file that is not
GGUF at all can crash the whole process instead of raising. So before MLX ever sees a file,
this module parses the header itself (magic, version, metadata, tensor table), checks every
length against the file size and checks that each tensor's data lies inside the file. Any
problem becomes a one-line ``GGUFError``. It needs no MLX, so it is cheap and safe to call.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.errors import GGUFError

MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# ggml tensor types: id -> (name, elements per block, bytes per block)
GGML_TYPES: dict[int, tuple[str, int, int]] = {
    0: ("F32", 1, 4),
    1: ("F16", 1, 2),
    2: ("Q4_0", 32, 18),
    3: ("Q4_1", 32, 20),
    6: ("Q5_0", 32, 22),
    7: ("Q5_1", 32, 24),
    8: ("Q8_0", 32, 34),
    9: ("Q8_1", 32, 36),
    10: ("Q2_K", 256, 84),
    11: ("Q3_K", 256, 110),
    12: ("Q4_K", 256, 144),
    13: ("Q5_K", 256, 176),
    14: ("Q6_K", 256, 210),
    15: ("Q8_K", 256, 292),
    16: ("IQ2_XXS", 256, 66),
    17: ("IQ2_XS", 256, 74),
    18: ("IQ3_XXS", 256, 98),
    19: ("IQ1_S", 256, 50),
    20: ("IQ4_NL", 32, 18),
    21: ("IQ3_S", 256, 110),
    22: ("IQ2_S", 256, 82),
    23: ("IQ4_XS", 256, 136),
    24: ("I8", 1, 1),
    25: ("I16", 1, 2),
    26: ("I32", 1, 4),
    27: ("I64", 1, 8),
    28: ("F64", 1, 8),
    29: ("IQ1_M", 256, 56),
    30: ("BF16", 1, 2),
}

# metadata value types: id -> struct format (scalars only; 8 = string, 9 = array)
_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?"}
_SCALARS.update({10: "<Q", 11: "<q", 12: "<d"})
_STRING, _ARRAY = 8, 9


@dataclass(frozen=True)
class TensorInfo:
    """One entry of the tensor table. ``dims`` are in GGUF order (fastest-varying first)."""

    name: str
    dims: tuple[int, ...]
    type_id: int
    offset: int  # relative to the start of the data section
    nbytes: int

    @property
    def type_name(self) -> str:
        return GGML_TYPES.get(self.type_id, (f"type {self.type_id}", 0, 0))[0]


@dataclass
class GGUFHeader:
    """Everything in a GGUF file except the tensor data itself."""

    path: Path
    version: int
    metadata: dict[str, Any]
    tensors: list[TensorInfo] = field(default_factory=list)
    data_offset: int = 0

    def get(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(key, default)


class _Cursor:
    """Bounds-checked little-endian reads over a memory-mapped file."""

    def __init__(self, buf: mmap.mmap | bytes, name: str) -> None:
        self.buf, self.pos, self.name = buf, 0, name

    def _need(self, size: int) -> None:
        if size < 0 or self.pos + size > len(self.buf):
            raise GGUFError(f"{self.name}: truncated GGUF file (the header ends early)")

    def unpack(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        self._need(size)
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return value

    def raw(self, size: int) -> bytes:
        self._need(size)
        data = self.buf[self.pos : self.pos + size]
        self.pos += size
        return bytes(data)

    def string(self) -> str:
        return self.raw(self.unpack("<Q")).decode("utf-8", errors="replace")

    def value(self, type_id: int) -> Any:
        if type_id in _SCALARS:
            return self.unpack(_SCALARS[type_id])
        if type_id == _STRING:
            return self.string()
        if type_id == _ARRAY:
            return self.array()
        raise GGUFError(f"{self.name}: corrupt GGUF metadata (unknown value type {type_id})")

    def array(self) -> list[Any]:
        item_type, count = self.unpack("<I"), self.unpack("<Q")
        if item_type in _SCALARS:
            fmt = _SCALARS[item_type]
            size = struct.calcsize(fmt)
            self._need(count * size)
            values = struct.unpack_from(f"<{count}{fmt[1]}", self.buf, self.pos)
            self.pos += count * size
            return list(values)
        self._need(count)  # every element takes at least one byte: rejects absurd counts early
        return [self.value(item_type) for _ in range(count)]


def _tensor_nbytes(name: str, dims: tuple[int, ...], type_id: int, where: str) -> int:
    if type_id not in GGML_TYPES:
        raise GGUFError(f"{where}: tensor '{name}' has unknown type id {type_id}")
    _, block_elems, block_bytes = GGML_TYPES[type_id]
    count = 1
    for dim in dims:
        count *= dim
    if dims and dims[0] % block_elems:
        raise GGUFError(f"{where}: tensor '{name}' has a row size not divisible by its block")
    return count // block_elems * block_bytes


def _read_tensor_info(cur: _Cursor) -> TensorInfo:
    name = cur.string()
    ndims = cur.unpack("<I")
    if ndims > 8:
        raise GGUFError(f"{cur.name}: corrupt GGUF tensor table ('{name}' has {ndims} dims)")
    dims = tuple(cur.unpack("<Q") for _ in range(ndims))
    type_id, offset = cur.unpack("<I"), cur.unpack("<Q")
    return TensorInfo(name, dims, type_id, offset, _tensor_nbytes(name, dims, type_id, cur.name))


def _parse(buf: mmap.mmap | bytes, path: Path) -> GGUFHeader:
    name = path.name
    if len(buf) < 4 or buf[:4] != MAGIC:
        raise GGUFError(f"{name}: not a GGUF file (bad magic bytes)")
    cur = _Cursor(buf, name)
    cur.pos = 4
    version = cur.unpack("<I")
    if version not in (2, 3):
        raise GGUFError(f"{name}: GGUF version {version} is not supported (only 2 and 3)")
    n_tensors, n_kv = cur.unpack("<Q"), cur.unpack("<Q")
    cur._need(min(n_tensors, 1 << 40) * 24 + min(n_kv, 1 << 40) * 12)  # minimal entry sizes
    metadata = {}
    for _ in range(n_kv):
        key = cur.string()
        metadata[key] = cur.value(cur.unpack("<I"))
    tensors = [_read_tensor_info(cur) for _ in range(n_tensors)]
    alignment = int(metadata.get("general.alignment", DEFAULT_ALIGNMENT)) or DEFAULT_ALIGNMENT
    data_offset = -(-cur.pos // alignment) * alignment
    header = GGUFHeader(path, version, metadata, tensors, data_offset)
    _check_data_fits(header, len(buf))
    return header


def _check_data_fits(header: GGUFHeader, file_size: int) -> None:
    for tensor in header.tensors:
        end = header.data_offset + tensor.offset + tensor.nbytes
        if end > file_size:
            raise GGUFError(
                f"{header.path.name}: truncated GGUF file (tensor '{tensor.name}' needs "
                f"{end:,} bytes, the file has {file_size:,})"
            )


def read_header(path: Path) -> GGUFHeader:
    """Parse and validate a GGUF file's header; raise ``GGUFError`` if it is unusable."""
    path = Path(path)
    if not path.exists():
        raise GGUFError(f"{path}: no such file")
    if path.is_dir():
        raise GGUFError(f"{path}: is a directory, not a GGUF file")
    try:
        with path.open("rb") as handle:
            if path.stat().st_size < 4:
                return _parse(handle.read(), path)
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return _parse(buf, path)
    except OSError as exc:
        raise GGUFError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
