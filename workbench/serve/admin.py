"""Admin routes over the pool, and the events stream a remote workbench watches.

``GET /v1/admin/models/status`` — budget, used, pinned, prompt caches, entries in LRU order
with measured sizes and leases (a sharded entry with its hosts and shares);
``POST …/load/{model}`` (``?pin=true`` preloads and pins, so the model is never evicted;
``?cluster=NAME`` shards it over a cluster, see ``cluster``), ``…/unload/{model}`` (a
sharded entry's ranks all stop), ``…/pin/{model}``, ``…/unpin/{model}``;
``POST /v1/admin/models/plan`` — what loading models would do, as the pool pane shows it
(``"cluster": NAME`` in the body: sharded, with each host's share);
``POST /v1/admin/budget`` — a new budget. ``GET /v1/admin/events`` — server-sent events:
``ready`` first, then ``pool`` snapshots and load / eviction events as they happen.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from fastapi import APIRouter
from sse_starlette import EventSourceResponse, ServerSentEvent

from workbench.core.pool.budget import Budget, make_budget
from workbench.core.protocol import (
    BudgetRequest,
    LoadRequest,
    ModelLoaded,
    PinRequest,
    PlanReady,
    PlanRequest,
    PoolChanged,
    UnloadRequest,
)
from workbench.serve.cluster import cluster_json, load_on_cluster, plan_entries
from workbench.serve.errors import ApiError
from workbench.serve.schemas import BudgetBody, PlanBody
from workbench.serve.state import ServerState, State
from workbench.serve.wire import event_json, plan_json, snapshot_json

router = APIRouter(prefix="/v1/admin")
PING_S = 15


def status_json(state: ServerState) -> dict:
    ready = state.backend.ready
    body = snapshot_json(state.backend.snapshot())
    body["device"] = ready.device if ready else ""
    body["blas"] = ready.blas if ready else ""
    return body


@router.get("/models/status")
async def status(state: State) -> dict:
    return status_json(state)


@router.post("/models/load/{model:path}")
async def load(model: str, state: State, pin: bool = False, cluster: str | None = None) -> dict:
    info = state.resolve(model)
    if cluster:
        return await load_on_cluster(state, info, cluster, pin)
    event = await state.backend.call(LoadRequest(model_id=info.id, pin=pin))
    assert isinstance(event, ModelLoaded)
    return {
        "model": info.id,
        "loaded": True,
        "pinned": any(e.pinned for e in state.backend.snapshot().entries if e.model_id == info.id),
        "measured_bytes": event.measured_bytes,
        "seconds": event.seconds,
    }


@router.post("/models/unload/{model:path}")
async def unload(model: str, state: State) -> dict:
    info = state.resolve(model)
    await state.backend.call(UnloadRequest(model_id=info.id))
    return {"model": info.id, "loaded": False}


async def _pin(model: str, pinned: bool, state: ServerState) -> dict:
    info = state.resolve(model)
    event = await state.backend.call(PinRequest(model_id=info.id, pinned=pinned))
    assert isinstance(event, PoolChanged)
    return {"model": info.id, "pinned": pinned, "status": snapshot_json(event.snapshot)}


@router.post("/models/pin/{model:path}")
async def pin(model: str, state: State) -> dict:
    return await _pin(model, True, state)


@router.post("/models/unpin/{model:path}")
async def unpin(model: str, state: State) -> dict:
    return await _pin(model, False, state)


@router.post("/models/plan")
async def plan(body: PlanBody, state: State) -> dict:
    infos = [state.resolve(name) for name in body.models]
    if body.cluster:
        infos = await plan_entries(state, infos, body.cluster)
    event = await state.backend.call(PlanRequest(model_ids=tuple(i.id for i in infos)))
    assert isinstance(event, PlanReady)
    extra = {info.id: cluster_json(info) for info in infos}
    return {"plans": [{**plan_json(p), **extra.get(p.model_id, {})} for p in event.plans]}


@router.post("/budget")
async def budget(body: BudgetBody, state: State) -> dict:
    if body.memory_limit_bytes is not None:
        wanted = Budget(body.memory_limit_bytes, body.max_models)
    elif body.memory_limit is not None:
        wanted = make_budget(body.memory_limit, body.max_models)
    else:
        raise ApiError(400, "give memory_limit or memory_limit_bytes")
    request = BudgetRequest(
        memory_limit_bytes=wanted.memory_limit_bytes, max_models=wanted.max_models
    )
    event = await state.backend.call(request)
    assert isinstance(event, PoolChanged)
    return snapshot_json(event.snapshot)


@router.get("/events")
async def events(state: State) -> EventSourceResponse:
    return EventSourceResponse(_event_stream(state), ping=PING_S)


async def _event_stream(state: ServerState) -> AsyncIterator[ServerSentEvent]:
    queue = state.backend.subscribe()
    try:
        ready = state.backend.ready
        hello = {"device": ready.device if ready else "", "blas": ready.blas if ready else ""}
        yield ServerSentEvent(json.dumps(hello), event="ready")
        yield ServerSentEvent(json.dumps(snapshot_json(state.backend.snapshot())), event="pool")
        while True:
            name, data = event_json(await queue.get())
            yield ServerSentEvent(json.dumps(data), event=name)
    finally:
        state.backend.unsubscribe(queue)
