"""Every module of the package stays small enough to read in one sitting (at most 400 lines).

A module that grows past the limit is split by responsibility, not trimmed to fit.
"""

from __future__ import annotations

from pathlib import Path

import workbench

MAX_LINES = 400
PACKAGE = Path(workbench.__file__).parent


def _line_count(path: Path) -> int:
    with path.open(encoding="utf-8") as handle:
        return sum(1 for _ in handle)


def test_the_package_has_modules_to_check() -> None:
    modules = list(PACKAGE.rglob("*.py"))
    assert len(modules) > 50 and PACKAGE / "cli.py" in modules


def test_no_module_is_over_the_limit() -> None:
    sizes = {path.relative_to(PACKAGE.parent): _line_count(path) for path in PACKAGE.rglob("*.py")}
    over = {str(path): lines for path, lines in sorted(sizes.items()) if lines > MAX_LINES}
    assert not over, f"modules over {MAX_LINES} lines (split them by responsibility): {over}"


def test_the_count_is_lines_of_the_file(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("a = 1\n\nb = 2\n# end", encoding="utf-8")
    assert _line_count(module) == 4
