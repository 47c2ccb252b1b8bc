"""The runner's protocol objects as JSON and back: pool snapshots, plans, pool events.

The admin routes and the events stream send these; the remote client (``remote.py``) turns
them back into the very dataclasses a local runner would give the TUI. Field names are the
dataclasses' own, so the JSON reads like the code.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from workbench.core.cluster.entry import placement_record
from workbench.core.cluster.placement import ClusterPlacement, RankShare
from workbench.core.protocol import (
    Event,
    LoadPlan,
    LoadProgress,
    LoadStarted,
    ModelEvicted,
    ModelLoaded,
    PoolChanged,
    PoolEntryView,
    PoolSnapshot,
)
from workbench.core.types import Family, ModelKind

EVENT_NAMES: dict[type[Event], str] = {
    PoolChanged: "pool",
    LoadStarted: "load_started",
    LoadProgress: "load_progress",
    ModelLoaded: "model_loaded",
    ModelEvicted: "model_evicted",
}
EVENT_TYPES = {name: kind for kind, name in EVENT_NAMES.items()}


def snapshot_json(snapshot: PoolSnapshot) -> dict[str, Any]:
    """The snapshot, entries in LRU order (least recent first), sizes in bytes."""
    body = dataclasses.asdict(snapshot)
    for entry, view in zip(body["entries"], snapshot.entries, strict=True):
        entry["bytes"], entry["total_bytes"] = view.bytes, view.total_bytes
        entry["cluster"] = placement_json(view.cluster) if view.cluster is not None else None
    return body


def placement_json(placement: ClusterPlacement) -> dict[str, Any]:
    """A sharded entry's hosts and shares (``this_machine``: the server's machine)."""
    return placement_record(placement)


def placement_from(data: dict[str, Any] | None) -> ClusterPlacement | None:
    if not data:
        return None
    ranks = tuple(
        RankShare(r["rank"], r["host"], r["this_machine"], r["share_bytes"], r["room_bytes"])
        for r in data["ranks"]
    )
    return ClusterPlacement(
        data["cluster"], data["backend"], data["parallel"], ranks, data["model_bytes"]
    )


def snapshot_from(data: dict[str, Any]) -> PoolSnapshot:
    fields = {f.name for f in dataclasses.fields(PoolEntryView)}
    entries = tuple(
        PoolEntryView(
            **{
                **{k: v for k, v in entry.items() if k in fields},
                "kind": ModelKind(entry["kind"]),
                "family": Family(entry["family"]),
                "cluster": placement_from(entry.get("cluster")),
            }
        )
        for entry in data["entries"]
    )
    return PoolSnapshot(**{**_known(PoolSnapshot, data), "entries": entries})


def plan_json(plan: LoadPlan) -> dict[str, Any]:
    return dataclasses.asdict(plan)


def plan_from(data: dict[str, Any]) -> LoadPlan:
    values = _known(LoadPlan, data)
    values["evict"] = tuple(values.get("evict", ()))
    values["drop_caches"] = tuple(values.get("drop_caches", ()))
    return LoadPlan(**values)


def event_json(event: Event) -> tuple[str, dict[str, Any]]:
    """``(name, data)`` of a pool event for the events stream (request ids stay local)."""
    if isinstance(event, PoolChanged):
        return "pool", snapshot_json(event.snapshot)
    data = dataclasses.asdict(event)
    data.pop("request_id", None)
    return EVENT_NAMES[type(event)], data


def event_from(name: str, data: dict[str, Any]) -> Event | None:
    """The event a stream message carries (``request_id`` None), or None if unknown."""
    kind = EVENT_TYPES.get(name)
    if kind is None:
        return None
    if kind is PoolChanged:
        return PoolChanged(None, snapshot_from(data))
    return kind(None, **{k: v for k, v in _known(kind, data).items() if k != "request_id"})


def _known(kind: type, data: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(kind)}
    return {k: v for k, v in data.items() if k in names}
