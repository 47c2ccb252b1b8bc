"""``mlxbench pool plan MODEL...``: would these models fit together, and at what cost?

The plan is the pool's own fit check run as a simulation — the same arithmetic that
guards real loads — over an empty pool, loading MODELs in order: each fits as is, evicts
earlier ones (least recently used first), or cannot fit, with the reason. Sizes are the
measured ones when a model was loaded before (remembered on disk), else the estimates;
times come from past loads. Nothing is loaded, so MLX is not even imported.
"""

from __future__ import annotations

import argparse
import dataclasses
import json

from workbench.commands.common import add_budget_arguments, describe_budget, resolve, setup
from workbench.core.budget import format_bytes
from workbench.core.errors import WorkbenchError
from workbench.core.pool import ModelPool, ModelSize
from workbench.core.protocol import LoadPlan
from workbench.core.sizes_store import SizesStore
from workbench.core.types import ModelInfo


def add_parser(subparsers: argparse._SubParsersAction) -> None:
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
    name = names[plan.model_id]
    if plan.already_loaded:
        verdict = "already loaded"
    elif not plan.fits:
        verdict = f"cannot fit: {plan.reason}"
    elif plan.evict:
        verdict = "fits after evicting " + ", ".join(names.get(m, m) for m in plan.evict)
    else:
        verdict = "fits"
    eta = f" · load ~{plan.estimated_seconds:.1f} s" if plan.estimated_seconds is not None else ""
    available = format_bytes(max(plan.available_bytes, 0))
    note = f" ({note})" if note else ""
    sizes = f"needs {format_bytes(plan.need_bytes)}{note} of {available} available"
    return f"{number}. {name}: {verdict}\n   {sizes}{eta}"


def run_plan(args: argparse.Namespace) -> int:
    found = setup(args)
    infos = [resolve(query, found.catalog) for query in args.models]
    if args.cluster:
        from workbench.core.cluster.entry import cluster_entry

        room = found.budget.memory_limit_bytes
        infos = [cluster_entry(i, found.config.clusters, args.cluster, room) for i in infos]
    pool = ModelPool(infos, found.budget, loader=_never_load, sizes=SizesStore())
    plans = pool.plan([info.id for info in infos])
    names = {info.id: info.name for info in infos}
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
        print(json.dumps({"budget": dataclasses.asdict(found.budget), "plans": records}))
    else:
        print(f"budget: {describe_budget(found.budget)}")
        for number, plan in enumerate(plans, start=1):
            note = size_note(pool.size_of(plan.model_id))
            print(plan_line(number, plan, names, note))
            _print_cluster(pool.info(plan.model_id))
    return 0 if all(p.fits for p in plans) else 1


def _cluster_record(info: ModelInfo) -> dict:
    from workbench.core.cluster.entry import placement_record

    return {"cluster": placement_record(info.cluster)} if info.cluster is not None else {}


def _print_cluster(info: ModelInfo) -> None:
    if info.cluster is not None:
        from workbench.core.cluster.entry import placement_lines

        print("\n".join("   " + line for line in placement_lines(info.cluster)))
