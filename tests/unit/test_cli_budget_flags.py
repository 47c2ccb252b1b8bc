"""Budget flags work before or after the subcommand (no subparser default overwrites them)."""

from __future__ import annotations

import pytest

from workbench.cli import build_parser
from workbench.commands.common import budget_from_args
from workbench.core.config import Config
from workbench.core.errors import WorkbenchError

GB = 1024**3


@pytest.mark.parametrize(
    "argv",
    [
        ["--max-models", "1", "--memory-limit", "2GB", "pool", "plan", "smollm2"],
        ["pool", "plan", "smollm2", "--max-models", "1", "--memory-limit", "2GB"],
        ["--max-models", "1", "chat", "smollm2", "hi", "--memory-limit", "2GB"],
    ],
)
def test_budget_flags_count_in_either_position(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    budget = budget_from_args(args, Config(memory_limit="8GB", max_models=4))
    assert (budget.memory_limit_bytes, budget.max_models) == (2 * GB, 1)


def test_without_flags_the_config_decides() -> None:
    args = build_parser().parse_args(["pool", "plan", "smollm2"])
    budget = budget_from_args(args, Config(memory_limit="3GB", max_models=2))
    assert (budget.memory_limit_bytes, budget.max_models) == (3 * GB, 2)


def test_a_zero_model_count_before_the_subcommand_is_refused() -> None:
    args = build_parser().parse_args(["--max-models", "0", "pool", "plan", "smollm2"])
    with pytest.raises(WorkbenchError):
        budget_from_args(args, Config())
