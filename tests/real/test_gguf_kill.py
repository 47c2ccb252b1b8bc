"""An import killed with SIGKILL leaves nothing that the next import uses or keeps."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from workbench.core.gguf.importer import import_gguf, read_record

pytestmark = pytest.mark.real

SCRIPT = "import sys; from workbench.cli import main; sys.exit(main(sys.argv[1:]))"


def test_killed_force_import_leaves_no_work_folder_behind(smollm2_gguf: Path, tmp_path) -> None:
    env = {**os.environ, "MLXBENCH_HOME": str(tmp_path / "home")}
    args = [sys.executable, "-c", SCRIPT, "import-gguf", str(smollm2_gguf), "--force"]
    proc = subprocess.Popen([*args, "--name", "smol"], stderr=subprocess.PIPE, text=True, env=env)
    assert proc.stderr is not None
    for line in proc.stderr:
        if "loading tensors" in line:  # the work folder exists from here on
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    root = tmp_path / "home" / "data" / "models"
    assert [p.name for p in root.glob(".smol.tmp-*")], "the kill came before the work folder"
    assert not (root / "smol").exists()  # nothing half-made under the real name

    folder = import_gguf(smollm2_gguf, dest_root=root, name="other")
    assert sorted(p.name for p in root.iterdir()) == [".locks", "other"]
    assert read_record(folder) is not None
