"""``mlxbench pool plan MODEL...``: would these models fit together, and at what cost?

The plan is the pool's own fit check run as a simulation — the same arithmetic that
guards real loads — over an empty pool (or one holding the ``--pin`` models, pinned, so
"cannot fit because X is pinned" can be shown too), loading MODELs in order: each fits as is, evicts
earlier ones (least recently used first), or cannot fit, with the reason. Sizes are the
measured ones when a model was loaded before (remembered on disk), else the estimates;
times come from past loads. Nothing is loaded, so MLX is not even imported.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any

from workbench.commands.common import add_budget_arguments, describe_budget, resolve, setup
from workbench.core.errors import InputError, WorkbenchError
from workbench.core.pool.entry import SizeMemory
from workbench.core.pool.fit import PINNED, Slot, simulate
from workbench.core.pool.model_pool import ModelPool, ModelSize
from workbench.core.pool.plan_words import plan_figures, plan_verdict
from workbench.core.pool.sizes import SizesStore
from workbench.core.protocol import LoadPlan
from workbench.core.types import ModelInfo
from workbench.core.units import format_bytes


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "pool",
        help="plan model loads against the memory budget",
        description="Model pool tools. `pool plan MODEL...` shows what loading the models in "
        "order would do under the budget: fits, evicts, or cannot fit (and why). "
        "Exit status 1 when some model cannot fit.",
    )
    actions = parser.add_subparsers(dest="pool_action", metavar="ACTION", required=True)
    plan = actions.add_parser(
        "plan",
        help="what loading MODELs in order would do",
        description="Simulate loading each MODEL in order into an empty pool: fits, evicts "
        "which models, or cannot fit and why; with sizes and load-time estimates.",
    )
    plan.add_argument("models", nargs="+", metavar="MODEL")
    plan.add_argument(
        "--pin",
        action="append",
        default=[],
        metavar="MODEL",
        help="start from a pool holding MODEL, pinned (never evicted); repeatable",
    )
    plan.add_argument("--json", action="store_true", help="print JSON instead of text")
    plan.add_argument(
        "--cluster", metavar="NAME", help="plan MODELs sharded over cluster NAME: each host's share"
    )
    add_budget_arguments(plan)
    plan.set_defaults(handler=run_plan)


def _never_load(info: ModelInfo) -> None:
    raise WorkbenchError(f"{info.name}: planning never loads a model")


def size_note(size: ModelSize) -> str:
    """ "measured" or "estimated", with the other figure when both are known."""
    if size.measured_bytes is None:
        return "estimated"
    return f"measured; estimated {format_bytes(size.estimated_bytes)}"


def plan_line(number: int, plan: LoadPlan, names: dict[str, str], note: str = "") -> str:
    """ "1. Name: verdict" and, indented, the figures in the pool pane's wording."""
    name = names[plan.model_id]
    eta = f" · load ~{plan.estimated_seconds:.1f} s" if plan.estimated_seconds is not None else ""
    note = f" · size {note}" if note else ""
    return (
        f"{number}. {name}: {plan_verdict(plan, names)}\n   {plan_figures(plan, names)}{note}{eta}"
    )


def pinned_slots(pool: ModelPool, infos: list[ModelInfo]) -> list[Slot]:
    """The ``--pin`` models as the fit check sees pinned ones; refused if they alone overflow."""
    slots = [Slot(i.id, i.name, pool.size_of(i.id).bytes, PINNED) for i in infos]
    total, limit = sum(s.bytes for s in slots), pool.budget.memory_limit_bytes
    if total > limit or len(slots) > pool.budget.max_models:
        raise InputError(
            f"the pinned models need {format_bytes(total)} and {len(slots)} slot(s); the budget "
            f"is {format_bytes(limit)} and {pool.budget.max_models} model(s)"
        )
    return slots


def run_plan(args: argparse.Namespace) -> int:
    found = setup(args)
    infos = [resolve(query, found.catalog) for query in args.models]
    if args.cluster:
        from workbench.core.cluster.entry import cluster_entry

        room = found.budget.memory_limit_bytes
        infos = [cluster_entry(i, found.config.clusters, args.cluster, room) for i in infos]
    pins = [resolve(query, found.catalog) for query in args.pin]
    store = SizesStore()
    pool = ModelPool([*pins, *infos], found.budget, loader=_never_load, sizes=store)
    slots = pinned_slots(pool, list({i.id: i for i in pins}.values()))
    sizes = SizeMemory(store)
    plans = simulate(slots, [sizes.wanted(info) for info in infos], found.budget)
    names = {info.id: info.name for info in [*pins, *infos]}
    if args.json:
        records = [
            {
                **dataclasses.asdict(p),
                "name": names[p.model_id],
                **dataclasses.asdict(pool.size_of(p.model_id)),
                **_cluster_record(pool.info(p.model_id)),
            }
            for p in plans
        ]
        pinned = [{"model_id": s.model_id, "name": s.name, "bytes": s.bytes} for s in slots]
        budget = dataclasses.asdict(found.budget)
        print(json.dumps({"budget": budget, "pinned": pinned, "plans": records}))
    else:
        print(f"budget: {describe_budget(found.budget)}")
        for slot in slots:
            print(f"pinned: {slot.name} ({format_bytes(slot.bytes)})")
        for number, plan in enumerate(plans, start=1):
            note = size_note(pool.size_of(plan.model_id))
            print(plan_line(number, plan, names, note))
            _print_cluster(pool.info(plan.model_id))
    return 0 if all(p.fits for p in plans) else 1


def _cluster_record(info: ModelInfo) -> dict[str, Any]:
    from workbench.core.cluster.entry import placement_record

    return {"cluster": placement_record(info.cluster)} if info.cluster is not None else {}


def _print_cluster(info: ModelInfo) -> None:
    if info.cluster is not None:
        from workbench.core.cluster.entry import placement_lines

        print("\n".join("   " + line for line in placement_lines(info.cluster)))
