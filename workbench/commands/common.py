"""What the model-loading commands share: budget flags, model lookup, a started runner.

``chat``, ``embed`` and ``pool plan`` take the same ``--memory-limit`` / ``--max-models``
flags (defaults from ``config.toml``), resolve MODEL the way ``mlxbench models QUERY``
shows, and — for the two that run a model — talk to the same runner the app uses, through
the blocking ``RunnerClient``. Load progress goes to stderr only on a terminal, so piped
output stays clean.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from workbench.core.config import Config, load_config
from workbench.core.models import kinds
from workbench.core.models.kinds import Task
from workbench.core.pool.budget import Budget, make_budget
from workbench.core.protocol import Event, LoadProgress, LoadStarted
from workbench.core.runner.client import RunnerClient
from workbench.core.types import ModelInfo
from workbench.core.units import format_bytes

HINTS = {
    "chat": "choose a text or vision model; embedding models go to `mlxbench embed`",
    "embed": "choose an embedding model (see `mlxbench models`)",
}


def add_budget_arguments(parser: argparse.ArgumentParser) -> None:
    """``--memory-limit`` and ``--max-models``, defaulting to the config file's values.

    Added to the main parser and to subcommands, so the flags work before or after the
    subcommand: ``SUPPRESS`` leaves a flag out of the namespace unless given, so a
    subcommand's copy never overwrites one given before it (read with ``getattr``).
    """
    group = parser.add_argument_group("model pool budget")
    group.add_argument(
        "--memory-limit",
        metavar="SIZE",
        default=argparse.SUPPRESS,
        help='memory for loaded models: "8GB", "512MB", "60%%" of the device (GPU memory on CUDA, '
        "the working set on a Mac, RAM on CPU), or a number of GB "
        "(default: memory_limit in config.toml, else 60%%)",
    )
    group.add_argument(
        "--max-models",
        type=int,
        default=argparse.SUPPRESS,
        metavar="N",
        help="most models loaded at once (default: max_models in config.toml, else 4)",
    )


def budget_from_args(args: argparse.Namespace, config: Config) -> Budget:
    """The budget the flags ask for, falling back to the config file."""
    memory = getattr(args, "memory_limit", None)
    count = getattr(args, "max_models", None)
    budget = make_budget(
        memory if memory is not None else config.memory_limit,
        count if count is not None else config.max_models,
    )
    if budget.warning:
        print(f"warning: {budget.warning}", file=sys.stderr)
    return budget


@dataclass(frozen=True)
class Setup:
    """The config, the catalog and the budget a command works with."""

    config: Config
    catalog: list[ModelInfo]
    budget: Budget


def setup(args: argparse.Namespace) -> Setup:
    """Read the config, check the budget flags, scan the catalog (no MLX imported)."""
    from workbench.core.models.catalog import scan_catalog

    config = load_config()
    budget = budget_from_args(args, config)  # bad flags fail before the scan
    return Setup(config, scan_catalog(config), budget)


def resolve(query: str, catalog: Sequence[ModelInfo]) -> ModelInfo:
    """The model MODEL names (id, name, unique part of one, or a path)."""
    from workbench.core.models.resolve import resolve_model

    return resolve_model(query, list(catalog))


def require_kind(info: ModelInfo, command: str) -> None:
    """``WrongModelKindError`` when ``info`` cannot serve ``command`` (the rule is
    ``core.models.kinds``'; the hint names where to go instead)."""
    task: Task = "embed" if command == "embed" else "chat"
    kinds.require_kind(info, task, HINTS[task])


def _progress(event: Event) -> None:
    if isinstance(event, LoadStarted):
        print("loading model…", file=sys.stderr, flush=True)
    elif isinstance(event, LoadProgress):
        print(f"  {event.message}", file=sys.stderr, flush=True)


def open_client(
    args: argparse.Namespace, found: Setup | None = None, models: Sequence[ModelInfo] = ()
) -> RunnerClient:
    """A started runner over the catalog (plus ``models``, e.g. ones given by path)."""
    found = found or setup(args)
    catalog = [*found.catalog, *(m for m in models if m not in found.catalog)]
    on_event = _progress if sys.stderr.isatty() else None
    client = RunnerClient(
        catalog=catalog, budget=found.budget, config=found.config, on_event=on_event
    )
    client.start()
    return client


def describe_budget(budget: Budget) -> str:
    plural = "s" if budget.max_models != 1 else ""
    where = f" of {budget.device}" if budget.device else ""
    return f"{format_bytes(budget.memory_limit_bytes)}{where}, {budget.max_models} model{plural}"


def add_sampling_arguments(parser: argparse.ArgumentParser) -> None:
    """``--temperature`` / ``--top-p`` / ``--max-tokens`` / ``--seed``, as ``chat`` has them
    (checked by ``chat.sampling_from``)."""
    parser.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (default)")
    parser.add_argument("--top-p", type=float, default=1.0, help="nucleus sampling (default 1)")
    parser.add_argument("--max-tokens", type=int, default=512, help="reply length cap")
    parser.add_argument("--seed", type=int, help="random seed, for repeatable sampling")
