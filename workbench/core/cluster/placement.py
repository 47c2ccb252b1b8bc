"""Where a sharded model's weights go: each rank's host and share, as plain frozen data.

A ``ClusterPlacement`` rides on the cluster entry's ``ModelInfo`` and on its pool view, so
the pool charges this machine only the shares of the ranks that run here, and the pool
pane shows every host with its share, without importing anything heavy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class RankShare:
    """One rank: its host, whether that is this machine, the bytes of its shard and the
    room its host has for it (None when unknown)."""

    rank: int
    host: str
    local: bool
    share_bytes: int
    room_bytes: int | None = None


@dataclass(frozen=True)
class ClusterPlacement:
    """A model split over a cluster's ranks (``parallel``: "tensor" or "pipeline")."""

    cluster: str
    backend: str
    parallel: str
    ranks: tuple[RankShare, ...]
    model_bytes: int = 0  # the whole model, as one process would load it
    config: Any = field(default=None, compare=False, repr=False)  # the ClusterConfig

    @property
    def local_bytes(self) -> int:
        """What this machine holds: the shares of every rank that runs here."""
        return sum(r.share_bytes for r in self.ranks if r.local)

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(r.host for r in self.ranks)


def cluster_model_id(model_id: str, cluster: str) -> str:
    """The pool id of ``model_id`` sharded over ``cluster`` (distinct from the local one)."""
    return f"{model_id}@cluster:{cluster}"
