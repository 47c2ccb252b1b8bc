"""The pool's numbers: a load whose measured size cannot fit is unloaded and refused (not
reported as loaded), and a remembered size far below the header estimate is not trusted."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from pool_fakes import MB, FakeLoader, FakeMemory, fake_info, unload

from workbench.core.errors import InsufficientMemoryError
from workbench.core.pool.budget import Budget
from workbench.core.pool.model_pool import ModelPool
from workbench.core.pool.sizes import SizesStore, fingerprint, model_key


def test_a_load_measured_over_the_budget_is_unloaded_and_refused(tmp_path: Path) -> None:
    memory = FakeMemory()
    loader = FakeLoader({"m": 100 * MB + 7}, memory)  # a few bytes over its estimate
    evicted: list[tuple[str, str]] = []
    sizes = SizesStore(tmp_path / "sizes.json")
    info = replace(fake_info("m", 100 * MB, path=tmp_path / "m"), size_method="safetensors-header")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.safetensors").write_bytes(b"x")
    pool = ModelPool(
        [info],
        Budget(100 * MB, 4),
        loader=loader,
        unloader=unload,
        measure=memory,
        sizes=sizes,
        on_evicted=lambda model_id, reason: evicted.append((model_id, reason)),
    )
    with pytest.raises(InsufficientMemoryError, match=r"M measured .* once loaded: .*unloaded"):
        pool.ensure_loaded("m")
    assert pool.snapshot().entries == () and memory() == 0
    assert loader.engines["m"].closed and evicted == [("m", "budget")]
    assert not pool.plan(["m"])[0].fits  # the measurement is remembered: no second try
    with pytest.raises(InsufficientMemoryError, match=r"cannot load M: needs"):
        pool.ensure_loaded("m")
    assert loader.loads["m"] == 1


def test_a_load_that_fits_after_measuring_stays(tmp_path: Path) -> None:
    memory = FakeMemory()
    loader = FakeLoader({"m": 90 * MB}, memory)
    pool = ModelPool([fake_info("m", 80 * MB)], Budget(100 * MB, 4), loader=loader, measure=memory)
    assert pool.ensure_loaded("m").measured_bytes == 90 * MB


def test_a_remembered_size_far_below_the_header_estimate_is_not_trusted(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "model.safetensors").write_bytes(b"weights")
    info = replace(fake_info("m", 400 * MB, path=folder), size_method="safetensors-header")
    store_file = tmp_path / "sizes.json"
    record = {"bytes": 1 * MB, "fingerprint": fingerprint(info)}
    store_file.write_text(json.dumps({"version": 1, "models": {model_key(info): record}}))
    assert SizesStore(store_file).lookup(info) is None  # a corrupt record: the estimate rules
    memory = FakeMemory()
    pool = ModelPool(
        [info],
        Budget(200 * MB, 4),
        loader=FakeLoader({"m": 400 * MB}, memory),
        measure=memory,
        sizes=SizesStore(store_file),
    )
    with pytest.raises(InsufficientMemoryError):
        pool.ensure_loaded("m")  # refused from the numbers: nothing was loaded
    assert memory() == 0
    near = {"bytes": 390 * MB, "fingerprint": fingerprint(info)}
    store_file.write_text(json.dumps({"version": 1, "models": {model_key(info): near}}))
    found = SizesStore(store_file).lookup(info)
    assert found is not None and found.measured_bytes == 390 * MB
