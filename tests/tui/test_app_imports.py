"""The app's first frame never waits for MLX: nothing it imports before running pulls it in.

Checked in a fresh interpreter, because this process may have imported MLX for other tests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HEAVY = ("mlx", "mlx_lm", "mlx_vlm", "mlx_embeddings", "transformers")

PROGRAM = f"""
import sys
from workbench.cli import build_parser
from workbench.commands.app import build_app

app = build_app(build_parser().parse_args(["--memory-limit", "1GB"]))
assert app.catalog, "the catalog should list the demo models"
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY!r})
print("HEAVY:", heavy)
"""


def test_building_the_app_imports_no_mlx(tmp_path: Path) -> None:
    env = {"MLXBENCH_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert "HEAVY: []" in done.stdout, done.stdout
