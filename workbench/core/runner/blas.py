"""Use a system OpenBLAS under MLX's CPU backend on Linux (a ~10× faster fp32 matmul).

The ``mlx-cpu`` wheel links a bundled reference BLAS (netlib). ``libmlx.so`` leaves
``cblas_sgemm`` and the LAPACK routines undefined and lets the dynamic linker resolve them,
and the linker searches the process's global scope before the library's own dependencies.
So loading OpenBLAS with ``RTLD_GLOBAL`` *before* ``import mlx.core`` makes every MLX matmul
run on OpenBLAS (checked with ``LD_DEBUG=bindings``: ``libmlx.so`` binds ``cblas_sgemm`` to
``libopenblas.so.0``). Measured here on 2 cores: a 1024×1024 fp32 matmul went from 270 ms
to 16–22 ms. It does not speed up 4-bit quantized matmuls, which have their own kernel.

``prepare`` must run on the thread that will import MLX, before it does; after the import
the symbols are already bound and it only reports that it came too late. The choice is
off with ``openblas = "off"`` in the config or ``MLXBENCH_OPENBLAS=0``;
``MLXBENCH_OPENBLAS=/path/to/libopenblas.so`` names a library explicitly.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

ENV_VAR = "MLXBENCH_OPENBLAS"
REFERENCE = "reference BLAS (mlx-cpu wheel)"

# Debian/Ubuntu (multiarch, alternatives), Fedora, Arch: most specific first.
_DEBIAN_VARIANTS = ("openblas-pthread", "openblas-openmp", "openblas-serial")
_OTHER_PATHS = (
    "/usr/lib64/libopenblas.so.0",
    "/usr/lib64/libopenblasp.so.0",
    "/usr/lib/libopenblas.so.0",
    "/usr/lib/libopenblas.so",
    "/usr/local/lib/libopenblas.so.0",
    "/usr/local/lib/libopenblas.so",
)


@dataclass(frozen=True)
class BlasInfo:
    """Which BLAS MLX's CPU backend uses in this process, and why.

    ``active`` is True when a system OpenBLAS was loaded in time and now provides
    ``cblas_sgemm`` to the process; ``reason`` says why not otherwise.
    """

    name: str
    path: str | None
    active: bool
    reason: str

    def describe(self) -> str:
        """One short line for display: ``OpenBLAS 0.3.21 (/usr/lib/…)`` or the reference BLAS."""
        if self.active and self.path:
            return f"{self.name} ({self.path})"
        return REFERENCE


_lock = threading.Lock()
_info: BlasInfo | None = None
_handles: list[ctypes.CDLL] = []  # keep loaded libraries alive for the process


def multiarch() -> str:
    """Debian's multiarch triplet for this machine, e.g. ``x86_64-linux-gnu``."""
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    return f"{machine}-linux-gnu"


def candidates() -> list[str]:
    """Libraries to try, in order; duplicates removed, non-existing absolute paths kept out."""
    found: list[str] = []
    name = ctypes.util.find_library("openblas")
    if name:
        found.append(name)
    base = Path("/usr/lib") / multiarch()
    found += [str(base / variant / "libopenblas.so.0") for variant in _DEBIAN_VARIANTS]
    found.append(str(base / "libopenblas.so.0"))
    found += list(_OTHER_PATHS)
    # libblas.so.3 is OpenBLAS only when the alternatives system points there: checked on load.
    found.append(str(base / "libblas.so.3"))
    unique: list[str] = []
    for item in found:
        if item not in unique and (not item.startswith("/") or Path(item).exists()):
            unique.append(item)
    return unique


def _address(lib: ctypes.CDLL, symbol: str) -> int | None:
    try:
        return ctypes.cast(getattr(lib, symbol), ctypes.c_void_p).value
    except AttributeError:
        return None


def _version(lib: ctypes.CDLL) -> str:
    """``OpenBLAS 0.3.21`` from ``openblas_get_config``, or plain ``OpenBLAS``."""
    func = lib.openblas_get_config
    func.restype = ctypes.c_char_p
    words = (func() or b"").decode(errors="replace").split()
    return " ".join(words[:2]) if words[:1] == ["OpenBLAS"] else "OpenBLAS"


class _DlInfo(ctypes.Structure):
    _fields_ = (
        ("dli_fname", ctypes.c_char_p),
        ("dli_fbase", ctypes.c_void_p),
        ("dli_sname", ctypes.c_char_p),
        ("dli_saddr", ctypes.c_void_p),
    )


def file_of(address: int, fallback: str) -> str:
    """The file a loaded symbol lives in (``dladdr``), e.g. the real path behind a soname."""
    try:
        dladdr = ctypes.CDLL(None).dladdr
    except AttributeError:
        return fallback
    info = _DlInfo()
    if not dladdr(ctypes.c_void_p(address), ctypes.byref(info)) or not info.dli_fname:
        return fallback
    return str(os.path.realpath(info.dli_fname.decode(errors="replace")))


def try_load(name: str) -> tuple[BlasInfo | None, str]:
    """Load ``name`` globally if it is an OpenBLAS that now provides ``cblas_sgemm``.

    Returns ``(info, "")`` on success, else ``(None, why)``.
    """
    try:  # look first without exporting anything: a non-OpenBLAS must not go global
        probe = ctypes.CDLL(name, mode=ctypes.RTLD_LOCAL)
    except OSError as exc:
        return None, f"{name}: {exc}"
    if _address(probe, "openblas_get_config") is None:
        return None, f"{name} is not OpenBLAS"
    if _address(probe, "cblas_sgemm") is None:
        return None, f"{name} has no cblas_sgemm"
    lib = ctypes.CDLL(name, mode=ctypes.RTLD_GLOBAL)  # promotes the same loaded library
    own = _address(lib, "cblas_sgemm")
    if own is None or _address(ctypes.CDLL(None), "cblas_sgemm") != own:
        return None, f"{name}: another cblas_sgemm is already global"
    _handles.append(lib)
    info = BlasInfo(_version(lib), file_of(own, name), True, "loaded before mlx.core")
    return info, ""


def _skip_reason(setting: str) -> str | None:
    if not sys.platform.startswith("linux"):
        return f"not Linux ({sys.platform}): MLX uses the platform's own BLAS"
    if setting == "off":
        return 'turned off in the config (openblas = "off")'
    if os.environ.get(ENV_VAR, "").strip() == "0":
        return f"turned off by {ENV_VAR}=0"
    if "mlx.core" in sys.modules:
        return "too late: mlx.core was imported before the BLAS choice"
    return None


def _choose(setting: str) -> BlasInfo:
    reason = _skip_reason(setting)
    if reason is not None:
        return BlasInfo(REFERENCE, None, False, reason)
    explicit = os.environ.get(ENV_VAR, "").strip()
    names = [explicit] if explicit not in ("", "1", "auto") else candidates()
    problems = []
    for name in names:
        info, problem = try_load(name)
        if info is not None:
            return info
        problems.append(problem)
    if not names:
        problems.append("no system OpenBLAS found (Debian: apt install libopenblas0-pthread)")
    return BlasInfo(REFERENCE, None, False, "; ".join(problems))


def prepare(setting: str = "auto") -> BlasInfo:
    """Choose the BLAS for this process; call before ``import mlx.core``, on that thread.

    ``setting`` is the config's ``openblas`` value (``"auto"`` or ``"off"``). Safe to call
    more than once: the first answer is kept, since a loaded library cannot be undone.
    """
    global _info
    with _lock:
        if _info is None:
            _info = _choose(setting)
        return _info


def current() -> BlasInfo | None:
    """What ``prepare`` decided in this process, or None when it has not run."""
    return _info


def describe() -> str:
    """The BLAS in use, for display (the reference BLAS when ``prepare`` never ran)."""
    return _info.describe() if _info is not None else REFERENCE
