"""The Gemma bench group: opt-in (minutes on a CPU), and a failed import is reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.bench import core_groups, select
from workbench.bench.gemma import import_in_child
from workbench.bench.harness import NotAvailable


def test_gemma_runs_only_when_named() -> None:
    assert "gemma" not in [g.name for g in select(core_groups(), ())]
    assert [g.name for g in select(core_groups(), ("gemma",))] == ["gemma"]
    assert [g.name for g in select(core_groups(), ("decode", "gemma"))] == ["decode", "gemma"]


def test_a_failed_import_is_reported_with_its_reason(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"not a model")
    with pytest.raises(NotAvailable, match=r"the Gemma import failed: .*bad magic bytes"):
        import_in_child(bad)
