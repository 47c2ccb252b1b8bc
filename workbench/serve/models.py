"""``GET /v1/models`` and ``GET /v1/models/{id}``: every usable catalog model.

OpenAI's shape (``id``, ``object``, ``created``, ``owned_by``) plus what a workbench client
needs to show the pool: name, kind, family, quantization, estimated size, whether loaded —
and for a model sharded over a cluster, its hosts and each one's share (``cluster``).
"""

from __future__ import annotations

from fastapi import APIRouter

from workbench.core.types import ModelInfo
from workbench.serve.cluster import cluster_json
from workbench.serve.state import State

router = APIRouter()


def model_json(info: ModelInfo, loaded: bool) -> dict:
    return {
        "id": info.id,
        "object": "model",
        "created": 0,
        "owned_by": "mlxbench",
        "name": info.name,
        "kind": info.kind.value,
        "family": info.family.value,
        "quantization": info.quantization,
        "estimated_bytes": info.estimated_bytes,
        "size_method": info.size_method,
        "source": info.source,
        "loaded": loaded,
        **cluster_json(info),
    }


@router.get("/v1/models")
async def list_models(state: State) -> dict:
    loaded = {entry.model_id for entry in state.backend.snapshot().entries}
    data = [model_json(m, m.id in loaded) for m in state.backend.catalog if m.usable]
    return {"object": "list", "data": data}


@router.get("/v1/models/{model:path}")
async def get_model(model: str, state: State) -> dict:
    info = state.resolve(model)
    loaded = {entry.model_id for entry in state.backend.snapshot().entries}
    return model_json(info, info.id in loaded)
