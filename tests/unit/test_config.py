"""The config file: defaults when missing, one clear line for every mistake, overrides read."""

from __future__ import annotations

from pathlib import Path

import pytest

from workbench.core.config import Config, ModelOverride, load_config
from workbench.core.errors import InputError


@pytest.fixture
def config_path(tmp_path: Path) -> Path:
    return tmp_path / "config.toml"


def load(path: Path, text: str) -> Config:
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def error_for(path: Path, text: str) -> str:
    with pytest.raises(InputError) as caught:
        load(path, text)
    message = str(caught.value)
    assert "\n" not in message and str(path) in message
    return message


def test_a_missing_file_gives_the_defaults(config_path: Path) -> None:
    assert load_config(config_path) == Config()


def test_bad_toml_is_one_line_naming_the_file(config_path: Path) -> None:
    assert "cannot read config" in error_for(config_path, "max_models = = 3\n[oops\n")


def test_settings_and_model_overrides_are_read(config_path: Path) -> None:
    config = load(
        config_path,
        'memory_limit = "8GB"\nmax_models = 2\nimage_max_side = 512\nmodel_dirs = ["~/m"]\n'
        '[models."smollm2"]\nkind = "text"\nfamily = "llama"\n',
    )
    assert (config.memory_limit, config.max_models, config.image_max_side) == ("8GB", 2, 512)
    assert config.model_dirs == (Path("~/m").expanduser(),)
    assert config.models == {"smollm2": ModelOverride(kind="text", family="llama")}


@pytest.mark.parametrize("key", ["image_max_side", "max_models"])
@pytest.mark.parametrize("value", [0, -5])
def test_sizes_and_counts_must_be_at_least_one(config_path: Path, key: str, value: int) -> None:
    message = error_for(config_path, f"{key} = {value}\n")
    assert f"'{key}' must be at least 1" in message


def test_model_dirs_items_must_be_strings(config_path: Path) -> None:
    message = error_for(config_path, 'model_dirs = ["~/models", 3]\n')
    assert "'model_dirs' items must be strings" in message and "3" in message


def test_an_unknown_key_is_reported_with_the_known_ones(config_path: Path) -> None:
    message = error_for(config_path, 'memory-limit = "8GB"\n')
    assert "unknown setting 'memory-limit'" in message
    assert "memory_limit" in message and "image_max_side" in message
