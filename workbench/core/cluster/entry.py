"""A model sharded over a named cluster, made ready for the pool, and its plan in words.

The commands call ``cluster_entry`` before any rank starts: it finds the cluster (the config
file's, else the built-in ``local2``), plans every rank's share, refuses with the reason when
the model cannot be split or a host lacks room, and returns the pool's ``ModelInfo`` for the
sharded model — its own id, charged only the shares this machine holds. The app's runner
does the same on its owner thread for ``LoadRequest(cluster=NAME)`` (``load_on_cluster``).
"""

from __future__ import annotations

from collections.abc import Callable

from workbench.core import paths
from workbench.core.cluster.config import ClusterConfig, find_cluster
from workbench.core.cluster.placement import ClusterPlacement
from workbench.core.cluster.plan import cluster_info, model_folder, plan_cluster
from workbench.core.pool.model_pool import ModelPool
from workbench.core.protocol import Event, LoadRequest, ModelLoaded
from workbench.core.types import ModelInfo
from workbench.core.units import format_bytes


def named_cluster(clusters: dict[str, ClusterConfig], name: str) -> ClusterConfig:
    return find_cluster(clusters, name, paths.config_file())


def cluster_entry(
    info: ModelInfo, clusters: dict[str, ClusterConfig], name: str, local_room: int
) -> ModelInfo:
    """``info`` sharded over cluster ``name`` (``ClusterPlanError`` when it cannot be)."""
    cluster = named_cluster(clusters, name)
    placement = plan_cluster(info, cluster, local_room)
    return cluster_info(info, placement, model_folder(info))


def load_on_cluster(
    pool: ModelPool,
    clusters: dict[str, ClusterConfig],
    request: LoadRequest,
    emit: Callable[[Event], None],
) -> None:
    """The runner's answer to ``LoadRequest(cluster=NAME)``, on its owner thread: plan,
    register the sharded entry, load it (``ModelLoaded`` names the entry)."""
    assert request.cluster is not None
    info = pool.info(request.model_id)
    entry = cluster_entry(info, clusters, request.cluster, pool.budget.memory_limit_bytes)
    pool.register([entry])
    already = entry.id in pool.loaded_ids()
    view = pool.ensure_loaded(entry.id, pin=request.pin)
    if already:  # a real load's ModelLoaded comes from the pool's on_loaded callback
        emit(ModelLoaded(request.request_id, view.model_id, view.bytes, 0.0))


def placement_lines(placement: ClusterPlacement) -> list[str]:
    """The plan per host, one line per rank, for people."""
    mode = "tensor parallel" if placement.parallel == "tensor" else "pipeline parallel"
    here = sum(r.local for r in placement.ranks)
    lines = [
        f"cluster {placement.cluster}: {len(placement.ranks)} ranks, {placement.backend} "
        f"backend, {mode}; whole model {format_bytes(placement.model_bytes)}; this machine "
        f"holds {format_bytes(placement.local_bytes)} ({here} rank{'s' if here != 1 else ''})"
    ]
    for rank in placement.ranks:
        where = " (this machine)" if rank.local else ""
        room = f" of {format_bytes(rank.room_bytes)}" if rank.room_bytes is not None else ""
        unknown = "" if rank.room_bytes is not None else " (host memory not configured)"
        lines.append(
            f"rank {rank.rank}  {rank.host}{where}: {format_bytes(rank.share_bytes)}{room}{unknown}"
        )
    return lines


def placement_record(placement: ClusterPlacement) -> dict:
    """The plan per host as JSON-ready data."""
    return {
        "cluster": placement.cluster,
        "backend": placement.backend,
        "parallel": placement.parallel,
        "model_bytes": placement.model_bytes,
        "local_bytes": placement.local_bytes,
        "ranks": [
            {
                "rank": r.rank,
                "host": r.host,
                "this_machine": r.local,
                "share_bytes": r.share_bytes,
                "room_bytes": r.room_bytes,
            }
            for r in placement.ranks
        ],
    }
