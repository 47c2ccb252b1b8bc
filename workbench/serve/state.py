"""What every route needs: the backend, the settings, where images go, the clusters, model
lookup."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request

from workbench.core.models.resolve import resolve_model
from workbench.core.types import ModelInfo
from workbench.serve.backend import Backend
from workbench.serve.settings import ServeSettings


@dataclass
class ServerState:
    """Shared by the routes of one app (kept on ``app.state.serve``)."""

    backend: Backend
    settings: ServeSettings
    image_dir: Path
    clusters: dict[str, Any] = field(default_factory=dict)  # the config's ClusterConfigs
    cluster_plans: asyncio.Lock = field(default_factory=asyncio.Lock)

    def resolve(self, query: str) -> ModelInfo:
        """The model a request names, as the CLI would resolve it (404 when none)."""
        info = resolve_model(query, self.backend.catalog)
        self.backend.register(info)  # a model given by path joins the pool's catalog
        return info


def get_state(request: Request) -> ServerState:
    return request.app.state.serve


State = Annotated[ServerState, Depends(get_state)]
