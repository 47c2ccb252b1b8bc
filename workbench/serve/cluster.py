"""Models sharded over a cluster, as the server offers them: load, plan, and their JSON.

``POST /v1/admin/models/load/{model}?cluster=NAME`` asks the runner to shard the model over
the named cluster (``LoadRequest(cluster=…)``: the plan and the launch happen on its owner
thread, as in the app). The sharded entry has its own id (``MODEL@cluster:NAME``) and name
(``NAME-OF-MODEL @ NAME``), which ``/v1/chat/completions`` and ``/v1/completions`` take like
any model's — rank 0 streams the reply — and which ``GET /v1/models`` and the admin status
list with every host and its share. Unloading it stops every rank.

Status codes: an unknown cluster is 404; a model that cannot be split that way is 400 with
the reason; a host without room for its share (or this machine's pool, as for any model) is
503; ranks that fail to start are 503 (``serve/errors.py`` maps the cluster's error classes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from workbench.core.cluster.config import ClusterConfig
from workbench.core.cluster.entry import cluster_entry, named_cluster, placement_record
from workbench.core.errors import InputError, WorkbenchError
from workbench.core.protocol import LoadRequest, ModelLoaded, RequestFailed
from workbench.core.types import ModelInfo
from workbench.serve.errors import ApiError, from_workbench
from workbench.serve.state import ServerState


def check_cluster(state: ServerState, name: str) -> ClusterConfig:
    """The cluster called ``name`` (the config's, else built in); 404 when there is none."""
    try:
        return named_cluster(state.clusters, name)
    except InputError as exc:
        raise ApiError(404, str(exc), "cluster_not_found") from None


async def load_on_cluster(state: ServerState, info: ModelInfo, name: str, pin: bool) -> dict:
    """Shard ``info`` over cluster ``name`` and start its ranks; the load route's answer."""
    check_cluster(state, name)
    ticket = await state.backend.open(LoadRequest(model_id=info.id, pin=pin, cluster=name))
    try:
        while True:
            event = await ticket.next()
            if isinstance(event, RequestFailed):
                raise from_workbench(event.user_error)
            if ticket.finished:
                break
    finally:
        ticket.close()
    assert isinstance(event, ModelLoaded)
    entry = state.backend.client.runner.pool.info(event.model_id)
    remember(state, entry)
    pinned = any(e.pinned for e in state.backend.snapshot().entries if e.model_id == entry.id)
    return {
        "model": entry.id,
        "name": entry.name,
        "loaded": True,
        "pinned": pinned,
        "measured_bytes": event.measured_bytes,
        "seconds": event.seconds,
        **cluster_json(entry),
    }


def remember(state: ServerState, entry: ModelInfo) -> None:
    """List the sharded entry with the server's models (replacing an older plan of it)."""
    catalog = state.backend.catalog
    catalog[:] = [m for m in catalog if m.id != entry.id] + [entry]


async def plan_entries(state: ServerState, infos: Sequence[ModelInfo], name: str) -> list:
    """The sharded entries of ``infos`` over cluster ``name``, known to the pool so that a
    ``PlanRequest`` can name them (400 / 503 with the reason when one cannot be split)."""
    check_cluster(state, name)
    room = state.backend.snapshot().budget_bytes
    entries = []
    async with state.cluster_plans:  # one lazily built model at a time
        for info in infos:
            try:
                entry = await asyncio.to_thread(cluster_entry, info, state.clusters, name, room)
            except WorkbenchError as exc:
                raise from_workbench(exc) from None
            entries.append(entry)
    state.backend.client.register(entries)
    return entries


def cluster_json(info: ModelInfo) -> dict[str, Any]:
    """``{"cluster": {hosts, shares…}}`` for a sharded model, ``{}`` for any other."""
    return {"cluster": placement_record(info.cluster)} if info.cluster is not None else {}
