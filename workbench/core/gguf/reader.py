"""A careful, pure-Python reader of GGUF headers.

MLX can load GGUF tensors, but it trusts the file: a truncated download or a file that is not
GGUF at all can crash the whole process instead of raising. So before MLX ever sees a file,
this module parses the header itself (magic, version, metadata, tensor table), checks every
length against the file size and checks that each tensor's data lies inside the file. Any
problem becomes a one-line ``GGUFError``. It needs no MLX, so it is cheap and safe to call.

Metadata is untrusted too: nesting depth, array lengths and string sizes are bounded while
parsing, and values are read through typed accessors (``integer``, ``number``, ``string``,
``strings``, ``numbers``) that refuse a value of the wrong type or range in one line instead
of failing deep inside the importer. Only regular files are read (``/dev/zero`` or a FIFO
would never end).
"""

from __future__ import annotations

import mmap
import os
import stat
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, overload

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
MAX_DEPTH = 3  # arrays of arrays of arrays at most (real files nest at most once)
MAX_STRING = 64 << 20  # one metadata string (chat templates are ~10 KB)
MAX_ITEMS = 1 << 24  # one metadata array (vocabularies are ~262 K tokens)
MAX_ENTRIES = 1 << 20  # metadata keys or tensors in one file
_MISSING = object()  # "no default": the typed accessors raise when the key is absent
_D = TypeVar("_D")


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

    def _bad(self, key: str, what: str) -> GGUFError:
        return GGUFError(f"{self.path.name}: GGUF metadata '{key}' {what}")

    def _value(self, key: str, default: Any) -> Any:
        value = self.metadata.get(key, default)
        if value is _MISSING:
            raise self._bad(key, "is missing")
        return value

    @overload
    def integer(self, key: str, *, low: int = ..., high: int = ...) -> int: ...
    @overload
    def integer(self, key: str, default: _D, low: int = ..., high: int = ...) -> int | _D: ...
    def integer(
        self, key: str, default: Any = _MISSING, low: int = -(1 << 63), high: int = 1 << 64
    ) -> Any:
        """An integer value within [low, high]; ``default`` (may be None) when absent."""
        value = self._value(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(key, f"should be an integer, not {type(value).__name__}")
        if not low <= value <= high:
            raise self._bad(key, f"is out of range ({value})")
        return value

    @overload
    def number(self, key: str) -> float: ...
    @overload
    def number(self, key: str, default: _D) -> float | _D: ...
    def number(self, key: str, default: Any = _MISSING) -> Any:
        """A finite int or float value; ``default`` when absent."""
        value = self._value(key, default)
        if value is default:
            return value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self._bad(key, f"should be a number, not {type(value).__name__}")
        if value != value or value in (float("inf"), float("-inf")):
            raise self._bad(key, f"is not a finite number ({value})")
        return value

    @overload
    def string(self, key: str) -> str: ...
    @overload
    def string(self, key: str, default: _D) -> str | _D: ...
    def string(self, key: str, default: Any = _MISSING) -> Any:
        """A string value; ``default`` when absent."""
        value = self._value(key, default)
        if value is not default and not isinstance(value, str):
            raise self._bad(key, f"should be a string, not {type(value).__name__}")
        return value

    def _items(self, key: str, kinds: tuple[type, ...], what: str) -> list[Any] | None:
        value = self.metadata.get(key)
        if value is None:
            return None
        if not isinstance(value, list) or not all(
            isinstance(item, kinds) and not isinstance(item, bool) for item in value
        ):
            raise self._bad(key, f"should be a list of {what}")
        return value

    def strings(self, key: str) -> list[str] | None:
        """A list of strings, or None when absent."""
        return self._items(key, (str,), "strings")

    def numbers(self, key: str) -> list[int | float] | None:
        """A list of numbers, or None when absent."""
        return self._items(key, (int, float), "numbers")


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
        size = self.unpack("<Q")
        if size > MAX_STRING:
            raise GGUFError(f"{self.name}: corrupt GGUF metadata (a {size:,}-byte string)")
        return self.raw(size).decode("utf-8", errors="replace")

    def value(self, type_id: int, depth: int = 0) -> Any:
        if type_id in _SCALARS:
            return self.unpack(_SCALARS[type_id])
        if type_id == _STRING:
            return self.string()
        if type_id == _ARRAY:
            if depth >= MAX_DEPTH:
                raise GGUFError(f"{self.name}: corrupt GGUF metadata (arrays nested too deeply)")
            return self.array(depth + 1)
        raise GGUFError(f"{self.name}: corrupt GGUF metadata (unknown value type {type_id})")

    def array(self, depth: int = 1) -> list[Any]:
        item_type, count = self.unpack("<I"), self.unpack("<Q")
        if count > MAX_ITEMS:
            raise GGUFError(f"{self.name}: corrupt GGUF metadata (an array of {count:,} items)")
        if item_type in _SCALARS:
            fmt = _SCALARS[item_type]
            size = struct.calcsize(fmt)
            self._need(count * size)
            values = struct.unpack_from(f"<{count}{fmt[1]}", self.buf, self.pos)
            self.pos += count * size
            return list(values)
        self._need(count)  # every element takes at least one byte: rejects absurd counts early
        return [self.value(item_type, depth) for _ in range(count)]


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
    if any(dim == 0 or dim > 1 << 40 for dim in dims):
        raise GGUFError(f"{cur.name}: corrupt GGUF tensor table ('{name}' has shape {dims})")
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
    if n_tensors > MAX_ENTRIES or n_kv > MAX_ENTRIES:
        raise GGUFError(f"{name}: corrupt GGUF header ({n_tensors:,} tensors, {n_kv:,} keys)")
    cur._need(n_tensors * 24 + n_kv * 12)  # minimal entry sizes
    metadata: dict[str, Any] = {}
    for _ in range(n_kv):
        key = cur.string()
        if key in metadata:
            raise GGUFError(f"{name}: corrupt GGUF metadata (key '{key[:60]}' appears twice)")
        metadata[key] = cur.value(cur.unpack("<I"))
    tensors = [_read_tensor_info(cur) for _ in range(n_tensors)]
    if len({t.name for t in tensors}) != len(tensors):
        raise GGUFError(f"{name}: corrupt GGUF tensor table (a tensor name appears twice)")
    alignment = _alignment(metadata, name)
    data_offset = -(-cur.pos // alignment) * alignment
    header = GGUFHeader(path, version, metadata, tensors, data_offset)
    _check_data_fits(header, len(buf))
    return header


def _alignment(metadata: dict[str, Any], name: str) -> int:
    value = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0 or value & (value - 1):
        raise GGUFError(f"{name}: corrupt GGUF metadata ('general.alignment' is {value!r})")
    return value


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
        if not stat.S_ISREG(os.stat(path).st_mode):
            raise GGUFError(f"{path}: not a regular file (a device, FIFO or socket)")
        with path.open("rb") as handle:
            if path.stat().st_size < 4:
                return _parse(handle.read(), path)
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return _parse(buf, path)
    except OSError as exc:
        raise GGUFError(f"{path}: cannot read file ({exc.strerror or exc})") from exc
