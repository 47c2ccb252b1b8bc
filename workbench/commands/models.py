"""``mlxbench models [QUERY] [--json] [--all]``: what models this machine has, and why not.

Without a query it lists the catalog (usable models; ``--all`` adds the broken ones with the
reason). With a query it shows the one model the query resolves to, exactly as ``chat`` or
``embed`` would pick it — handy to check a short name before using it.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from workbench.core.config import load_config
from workbench.core.models.catalog import scan_catalog
from workbench.core.models.resolve import resolve_model
from workbench.core.pool.sizes import SizesStore
from workbench.core.types import ModelInfo
from workbench.core.units import format_bytes

COLUMNS = ("NAME", "KIND", "FAMILY", "TUNING", "QUANT", "SIZE", "SOURCE", "ID")


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "models",
        help="list the models found on this machine",
        description="List the models found offline (Hugging Face cache, LM Studio, model_dirs "
        "from config.toml, imported GGUFs, demo models), or show the one QUERY names.",
    )
    parser.add_argument("query", nargs="?", help="a model id, name, unique part of one, or path")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument("--all", action="store_true", help="also list unusable models and why")
    parser.set_defaults(handler=run)


def model_record(info: ModelInfo, measured_bytes: int | None = None) -> dict[str, Any]:
    """The JSON shape of one model. ``measured_bytes`` comes from the sizes store once known."""
    return {
        "id": info.id,
        "name": info.name,
        "path": str(info.path),
        "kind": info.kind.value,
        "family": info.family.value,
        "tuning": info.tuning or None,
        "quantization": info.quantization,
        "estimated_bytes": info.estimated_bytes,
        "size_method": info.size_method or None,
        "measured_bytes": measured_bytes,
        "source": info.source,
        "usable": info.usable,
        "problem": info.problem,
        "gguf_source": str(info.gguf_source) if info.gguf_source else None,
    }


def _row(info: ModelInfo) -> tuple[str, ...]:
    size = f"~{format_bytes(info.estimated_bytes)}" if info.usable else "-"
    return (
        info.name,
        info.kind.value,
        info.family.value,
        info.tuning or "-",
        info.quantization or "-",
        size,
        info.source,
        info.id,
    )


def format_table(models: list[ModelInfo], show_problems: bool) -> str:
    """A plain aligned table; unusable rows get a trailing "unusable: <reason>" column."""
    rows = [_row(m) for m in models]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
    header = list(COLUMNS) + (["PROBLEM"] if show_problems else [])
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, [*widths, 0], strict=False))]
    for info, row in zip(models, rows, strict=True):
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=True)]
        if show_problems:
            cells.append("" if info.usable else f"unusable: {info.problem}")
        lines.append("  ".join(cells))
    return "\n".join(line.rstrip() for line in lines)


def _measured(sizes: SizesStore, info: ModelInfo) -> int | None:
    """The size measured at the model's last load, if its weights have not changed since."""
    record = sizes.lookup(info) if info.usable else None
    return record.measured_bytes if record else None


def _describe(info: ModelInfo) -> str:
    record = model_record(info)
    record["estimated_bytes"] = format_bytes(info.estimated_bytes)
    return "\n".join(f"{key:16} {'-' if value is None else value}" for key, value in record.items())


def run(args: argparse.Namespace) -> int:
    catalog = scan_catalog(load_config())
    if args.query:
        info = resolve_model(args.query, catalog)
        print(json.dumps(model_record(info), indent=2) if args.json else _describe(info))
        return 0
    shown = catalog if args.all else [m for m in catalog if m.usable]
    if args.json:
        sizes = SizesStore()
        records = [model_record(m, _measured(sizes, m)) for m in shown]
        print(json.dumps(records, indent=2))
    elif not shown:
        hidden = len(catalog) - len(shown)
        note = f" ({hidden} unusable; see --all)" if hidden else ""
        print(f"no models found{note}; `mlxbench demo install` installs two small demo models")
    else:
        print(format_table(shown, show_problems=args.all))
    return 0
