"""The plan per host: how mlx-lm's sharded load splits a model over a cluster's ranks.

Shares are not guessed from tensor names: the model is built lazily with mlx-lm's own
``load_model`` (no weights read), split with the model's own ``shard()`` (tensor parallel)
or ``model.pipeline()`` (pipeline parallel) — the calls ``sharded_load`` makes — once per
rank with a stand-in group that only answers ``rank()`` and ``size()``, and each rank's
parameter bytes are summed. Replicated tensors (embeddings, norms, the head) count on
every rank, as they are loaded there.

Refusals come before anything is launched, each with its reason: a model without
``shard()`` / ``pipeline()``; attention heads (or key/value heads) not divisible by the
rank count — mlx-lm would split the projections anyway and the model would fail at its
first token (SmolLM2: 9 heads, 3 key/value heads, over 2 ranks); a host whose configured
memory is smaller than its share. This machine's own room is the pool's fit check, which
is charged ``ClusterPlacement.local_bytes``.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from workbench.core.cluster.config import ClusterConfig
from workbench.core.cluster.placement import ClusterPlacement, RankShare, cluster_model_id
from workbench.core.errors import ClusterPlanError, UnusableModelError
from workbench.core.types import ModelInfo, ModelKind
from workbench.core.units import format_bytes


class _PlanGroup:
    """Stands in for ``mx.distributed.Group`` while splitting a lazily built model."""

    def __init__(self, rank: int, size: int) -> None:
        self._rank, self._size = rank, size

    def rank(self) -> int:
        return self._rank

    def size(self) -> int:
        return self._size


def model_folder(info: ModelInfo) -> Path:
    """The MLX folder the ranks load (a GGUF-only model is imported first, once)."""
    if info.gguf_source is None:
        return info.path
    from workbench.core.gguf.importer import ensure_imported

    return ensure_imported(info.gguf_source)


def _config(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UnusableModelError(f"cannot read {folder / 'config.json'}: {exc}") from exc
    return data.get("text_config", data) if isinstance(data, dict) else {}


def split_problem(config: dict[str, Any], parallel: str, ranks: int, folder: Path) -> str | None:
    """Why this model cannot be split ``parallel`` over ``ranks`` ranks, or None."""
    if parallel == "tensor":
        for key in ("num_attention_heads", "num_key_value_heads"):
            count = config.get(key)
            if isinstance(count, int) and count % ranks:
                words = key.removeprefix("num_").replace("_", " ")
                return (
                    f"tensor parallelism splits attention heads evenly; {count} {words} "
                    f"cannot be split over {ranks} ranks (use a rank count that divides {count})"
                )
    return None


def rank_shares(folder: Path, parallel: str, ranks: int) -> tuple[int, list[int]]:
    """The whole model's bytes and each rank's, split as ``sharded_load`` splits them."""
    from mlx.utils import tree_flatten
    from mlx_lm.utils import load_model

    def parameter_bytes(model: Any) -> int:
        return sum(v.nbytes for _, v in tree_flatten(model.parameters()))

    model, _ = load_model(folder, lazy=True, strict=False)
    whole = parameter_bytes(model)
    can_tensor = hasattr(model, "shard")
    can_pipeline = hasattr(getattr(model, "model", None), "pipeline")
    if parallel == "tensor" and not can_tensor:
        other = " (it does support pipeline)" if can_pipeline else ""
        raise ClusterPlanError(f"this model does not support tensor parallelism{other}")
    if parallel == "pipeline" and not can_pipeline:
        other = " (it does support tensor)" if can_tensor else ""
        raise ClusterPlanError(f"this model does not support pipeline parallelism{other}")
    if parallel == "pipeline" and not (folder / "model.safetensors.index.json").is_file():
        raise ClusterPlanError("pipeline parallelism needs model.safetensors.index.json")
    shares = []
    for rank in range(ranks):
        model, _ = load_model(folder, lazy=True, strict=False)
        try:
            if parallel == "tensor":
                model.shard(_PlanGroup(rank, ranks))
            else:
                model.model.pipeline(_PlanGroup(rank, ranks))
        except ValueError as exc:
            raise ClusterPlanError(f"mlx-lm cannot split it over {ranks} ranks: {exc}") from exc
        shares.append(parameter_bytes(model))
    return whole, shares


def plan_cluster(info: ModelInfo, cluster: ClusterConfig, local_room: int) -> ClusterPlacement:
    """Each rank's host and share; ``ClusterPlanError`` (with the reason) when it cannot go.

    ``local_room`` is what this machine's budget allows (the default for local hosts
    without a configured ``host_memory``); the pool's fit check decides the rest.
    """
    if info.kind is not ModelKind.TEXT:
        raise ClusterPlanError(f"{info.name}: only text models can be sharded over a cluster")
    folder = model_folder(info)
    where = f"{info.name} over cluster {cluster.name!r}"
    problem = split_problem(_config(folder), cluster.parallel, cluster.ranks, folder)
    if problem:
        raise ClusterPlanError(f"cannot shard {where}: {problem}")
    try:
        whole, shares = rank_shares(folder, cluster.parallel, cluster.ranks)
    except ClusterPlanError as exc:
        raise ClusterPlanError(f"cannot shard {where}: {exc}") from exc
    ranks = []
    for rank, (host, share) in enumerate(zip(cluster.hosts, shares, strict=True)):
        room = cluster.memory_of(rank)
        room = local_room if room is None and host.local else room
        ranks.append(RankShare(rank, host.ssh, host.local, share, room))
    lacking = [r for r in ranks if r.room_bytes is not None and r.share_bytes > r.room_bytes]
    if lacking:
        r = lacking[0]
        raise ClusterPlanError(
            f"cannot shard {where}: rank {r.rank} on {r.host} needs "
            f"{format_bytes(r.share_bytes)}, its host has {format_bytes(r.room_bytes)}"
        )
    return ClusterPlacement(
        cluster.name, cluster.backend, cluster.parallel, tuple(ranks), whole, cluster
    )


def cluster_info(info: ModelInfo, placement: ClusterPlacement, folder: Path) -> ModelInfo:
    """The pool's entry for ``info`` sharded as ``placement``: its own id, charged only what
    this machine holds."""
    return dataclasses.replace(
        info,
        id=cluster_model_id(info.id, placement.cluster),
        name=f"{info.name} @ {placement.cluster}",
        path=folder,
        gguf_source=None,
        estimated_bytes=placement.local_bytes,
        size_method="cluster plan",
        cluster=placement,
    )
