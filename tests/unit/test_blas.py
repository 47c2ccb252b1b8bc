"""The OpenBLAS choice: when it is made, when it is refused, and that it really goes global.

No MLX here: the in-process tests fake the conditions; the child-process test loads the
system OpenBLAS for real and asks the dynamic linker who now provides ``cblas_sgemm``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.core.runner import blas


@pytest.fixture(autouse=True)
def fresh_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test decides anew (the module keeps the first decision for the process)."""
    monkeypatch.setattr(blas, "_info", None)
    monkeypatch.delenv(blas.ENV_VAR, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.delitem(sys.modules, "mlx.core", raising=False)


def no_loading(name: str) -> tuple[None, str]:
    raise AssertionError(f"should not try to load {name}")


def test_off_in_the_config_loads_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blas, "try_load", no_loading)
    info = blas.prepare("off")
    assert not info.active
    assert "config" in info.reason
    assert info.describe() == blas.REFERENCE


def test_environment_zero_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blas, "try_load", no_loading)
    monkeypatch.setenv(blas.ENV_VAR, "0")
    info = blas.prepare("auto")
    assert not info.active
    assert blas.ENV_VAR in info.reason


def test_after_mlx_import_it_is_too_late(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blas, "try_load", no_loading)
    monkeypatch.setitem(sys.modules, "mlx.core", object())
    info = blas.prepare("auto")
    assert not info.active
    assert "too late" in info.reason


def test_not_linux_keeps_the_platform_blas(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blas, "try_load", no_loading)
    monkeypatch.setattr(sys, "platform", "darwin")
    assert "not Linux" in blas.prepare("auto").reason


def test_first_usable_candidate_wins_and_the_decision_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tried = []
    found = blas.BlasInfo("OpenBLAS 9.9", "/lib/b.so", True, "loaded before mlx.core")

    def fake_load(name: str) -> tuple[blas.BlasInfo | None, str]:
        tried.append(name)
        return (found, "") if name == "b" else (None, f"{name} is not OpenBLAS")

    monkeypatch.setattr(blas, "candidates", lambda: ["a", "b", "c"])
    monkeypatch.setattr(blas, "try_load", fake_load)
    assert blas.prepare("auto") is found
    assert tried == ["a", "b"]
    assert blas.prepare("off") is found  # a loaded library cannot be undone
    assert blas.current() is found
    assert blas.describe() == "OpenBLAS 9.9 (/lib/b.so)"


def test_every_failure_is_named_when_nothing_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blas, "candidates", lambda: ["x", "y"])
    monkeypatch.setattr(blas, "try_load", lambda name: (None, f"{name}: nope"))
    info = blas.prepare("auto")
    assert not info.active
    assert info.reason == "x: nope; y: nope"


def test_no_candidates_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blas, "candidates", list)
    assert "libopenblas0-pthread" in blas.prepare("auto").reason


def test_an_explicit_path_is_the_only_one_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(blas.ENV_VAR, "/nowhere/libopenblas.so.0")
    monkeypatch.setattr(blas, "candidates", lambda: pytest.fail("should not search"))
    info = blas.prepare("auto")
    assert not info.active
    assert "/nowhere/libopenblas.so.0" in info.reason


def test_a_library_that_is_not_openblas_is_refused() -> None:
    info, problem = blas.try_load("libm.so.6")
    assert info is None
    assert "not OpenBLAS" in problem


def test_candidates_start_with_the_linker_answer_and_skip_missing_paths(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(blas.ctypes.util, "find_library", lambda name: "libopenblas.so.0")
    found = blas.candidates()
    assert found[0] == "libopenblas.so.0"
    assert all(not c.startswith("/") or Path(c).exists() for c in found)
    assert len(found) == len(set(found))


def test_debian_multiarch_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(blas.platform, "machine", lambda: "AMD64")
    assert blas.multiarch() == "x86_64-linux-gnu"
    monkeypatch.setattr(blas.platform, "machine", lambda: "arm64")
    assert blas.multiarch() == "aarch64-linux-gnu"


CHILD = """
import ctypes, json, sys
from workbench.core.runner import blas
info = blas.prepare("auto")
provider = blas.file_of(ctypes.cast(ctypes.CDLL(None).cblas_sgemm, ctypes.c_void_p).value, "")
print(json.dumps({"active": info.active, "path": info.path, "reason": info.reason,
                  "name": info.name, "provider": provider,
                  "mlx": "mlx.core" in sys.modules}))
"""


def run_child(env_value: str | None) -> dict:
    env = dict(os.environ)
    env.pop(blas.ENV_VAR, None)
    if env_value is not None:
        env[blas.ENV_VAR] = env_value
    done = subprocess.run(
        [sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout)


def test_system_openblas_becomes_the_process_wide_cblas_sgemm() -> None:
    result = run_child(None)
    assert result["active"], result["reason"]
    assert result["name"].startswith("OpenBLAS")
    assert Path(result["path"]).is_file()
    assert result["provider"] == result["path"]  # the linker now resolves cblas_sgemm there
    assert not result["mlx"]  # and choosing it did not import MLX


def test_switched_off_child_exports_no_cblas() -> None:
    child = CHILD.replace(
        "provider = blas.file_of(ctypes.cast(ctypes.CDLL(None).cblas_sgemm, "
        'ctypes.c_void_p).value, "")',
        'provider = hasattr(ctypes.CDLL(None), "cblas_sgemm")',
    )
    env = {**os.environ, blas.ENV_VAR: "0"}
    done = subprocess.run(
        [sys.executable, "-c", child], env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(done.stdout)
    assert not result["active"]
    assert result["provider"] is False
