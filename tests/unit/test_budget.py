"""Budget parsing: what users type for a memory limit becomes exact bytes, or a clear error."""

from __future__ import annotations

import pytest

from workbench.core.errors import InputError
from workbench.core.pool.budget import Budget, make_budget, parse_memory_limit
from workbench.core.units import format_bytes

GB = 1024**3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("8GB", 8 * GB),
        ("8gb", 8 * GB),
        ("8 GB", 8 * GB),
        ("8GiB", 8 * GB),
        ("512MB", 512 * 1024**2),
        ("1.5", int(1.5 * GB)),
        ("2", 2 * GB),
        (3, 3 * GB),
        ("100M", 100 * 1024**2),
        ("1TB", 1024 * GB),
    ],
)
def test_sizes_parse_to_bytes(text: str, expected: int) -> None:
    assert parse_memory_limit(text) == expected


def test_percentage_is_of_total_ram() -> None:
    assert parse_memory_limit("60%", total_bytes=10 * GB) == 6 * GB
    assert parse_memory_limit("100%", total_bytes=10 * GB) == 10 * GB


def test_percentage_defaults_to_this_machine() -> None:
    import psutil

    assert parse_memory_limit("50%") == psutil.virtual_memory().total // 2


@pytest.mark.parametrize("bad", ["", "GB", "-1GB", "0", "0%", "150%", "8XB", "eight", "8GB8", True])
def test_bad_limits_are_input_errors_naming_the_value(bad: object) -> None:
    with pytest.raises(InputError) as info:
        parse_memory_limit(bad)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
    assert repr(bad) in str(info.value) or str(bad) in str(info.value)


def test_make_budget_checks_max_models() -> None:
    assert make_budget("1GB", 2) == Budget(GB, 2)
    with pytest.raises(InputError, match="max models"):
        make_budget("1GB", 0)
    with pytest.raises(InputError, match="max models"):
        make_budget("1GB", "3")  # type: ignore[arg-type]


def test_format_bytes_is_readable() -> None:
    assert format_bytes(512) == "512 B"
    assert format_bytes(87 * 1024**2) == "87.0 MB"
    assert format_bytes(int(1.25 * GB)) == "1.25 GB"
    assert format_bytes(None) == "?"
