"""The runner of a pool on another machine, over its HTTP API: what ``--connect`` uses.

The TUI talks to a runner through three calls — ``run`` (blocks on the worker thread),
``submit`` (thread-safe), ``stop`` — and one callback that receives the protocol's events.
``RemoteRunner`` offers the same, so local and remote look alike to the UI: ``run`` holds
the server's events stream (``/v1/admin/events``) and turns its pool snapshots and load
events back into ``PoolChanged``, ``LoadStarted``… ; each submitted request becomes an HTTP
call on a small thread pool, answered with the same final event a local runner sends
(``ModelLoaded``, ``ChatDone`` with the turn's stats, ``EmbeddingsReady``…) or
``RequestFailed`` with the server's message. Images attached in the TUI are sent as data
URIs. Esc cancels a reply by shutting its connection — also while it still waits for its
first token — and the server then cancels the generation.

This module imports httpx and the protocol only (no MLX, no FastAPI): a laptop that only
attaches needs neither.
"""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from workbench.core.cluster.placement import cluster_model_id
from workbench.core.errors import WorkbenchError
from workbench.core.protocol import (
    BudgetRequest,
    ChatDone,
    ChatRequest,
    EmbeddingsReady,
    EmbedRequest,
    Event,
    LoadRequest,
    ModelEvicted,
    ModelLoaded,
    PinRequest,
    PlanReady,
    PlanRequest,
    PoolChanged,
    Request,
    RequestFailed,
    RunnerReady,
    ShutdownRequest,
    TokenEvent,
    UnloadRequest,
)
from workbench.core.types import (
    ChatMessage,
    EmbeddingResult,
    TurnStats,
)
from workbench.serve.remote_http import (
    TIMEOUT,
    RemoteError,
    SocketKeeper,
    fetch_catalog,
    http_client,
    iter_sse,
    raise_for,
)
from workbench.serve.wire import event_from, plan_from, snapshot_from

__all__ = ["RemoteRunner", "chat_body", "fetch_catalog", "iter_sse"]

ERROR_TYPES = {
    "insufficient_memory": "InsufficientMemoryError",
    "model_not_found": "ModelNotFoundError",
    "ambiguous_model": "AmbiguousModelError",
    "model_unusable": "UnusableModelError",
    "wrong_model_kind": "WrongModelKindError",
    "invalid_image": "ImageError",
    "invalid_value": "InputError",
    "invalid_request": "InputError",
    "request_too_large": "InputError",
    "invalid_api_key": "WorkbenchError",
}
WORKERS = 8


class RemoteRunner:
    """A runner-compatible client of ``mlxbench serve`` (see the module docstring)."""

    def __init__(
        self, callback: Callable[[Event], None], base_url: str, api_key: str | None = None
    ) -> None:
        self._callback = callback
        self.base_url = base_url.rstrip("/")
        self._client = http_client(self.base_url, api_key)
        self._workers = ThreadPoolExecutor(WORKERS, thread_name_prefix="remote-runner")
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._expected_loads: Counter[str] = Counter()  # answered by our own ModelLoaded
        self._events: httpx.Response | None = None

    # ------------------------------------------------------------------ runner interface

    def run(self) -> None:
        """Follow the server's events stream until ``stop`` (raises if the server is lost)."""
        try:
            with self._client.stream("GET", "/v1/admin/events") as response:
                self._events = response
                raise_for(response)
                for name, data in iter_sse(response.iter_lines()):
                    self._stream_event(name, json.loads(data))
        except Exception as exc:
            if not self._stopping.is_set():
                raise WorkbenchError(f"lost the server at {self.base_url}: {exc}") from None
        finally:
            self._workers.shutdown(wait=False, cancel_futures=True)
        if not self._stopping.is_set():
            raise WorkbenchError(f"the server at {self.base_url} closed the connection")

    def submit(self, request: Request) -> None:
        if isinstance(request, ShutdownRequest):
            self.stop()
            return
        try:
            self._workers.submit(self._serve, request)
        except RuntimeError:  # stopped
            self._emit(RequestFailed(request.request_id, "disconnected from the server"))

    def stop(self) -> None:
        """End ``run`` now: its socket is shut, which wakes a read blocked on it."""
        self._stopping.set()
        events = self._events
        if events is not None:
            stream = events.extensions.get("network_stream")
            sock = stream.get_extra_info("socket") if stream is not None else None
            with contextlib.suppress(OSError):
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
        self._workers.shutdown(wait=False, cancel_futures=True)

    # ------------------------------------------------------------------ events stream

    def _emit(self, event: Event) -> None:
        self._callback(event)

    def _stream_event(self, name: str, data: dict[str, Any]) -> None:
        if name == "ready":
            where = self.base_url.split("://", 1)[-1]
            device = f"{data.get('device') or 'remote'} at {where}"
            self._emit(RunnerReady(None, blas=data.get("blas", ""), device=device))
            return
        event = event_from(name, data)
        if isinstance(event, ModelLoaded):
            with self._lock:
                if self._expected_loads[event.model_id] > 0:
                    self._expected_loads[event.model_id] -= 1
                    return  # the load we asked for: its answer carries our request id
        if event is not None:
            self._emit(event)

    # ------------------------------------------------------------------ requests

    def _serve(self, request: Request) -> None:
        try:
            self._emit(self._answer(request))
        except (RemoteError, WorkbenchError, httpx.HTTPError, OSError) as exc:
            code = getattr(exc, "code", "")
            kind = ERROR_TYPES.get(code, "WorkbenchError")
            message = str(exc) if isinstance(exc, WorkbenchError) else f"server: {exc}"
            model_id = getattr(request, "model_id", None)
            self._emit(RequestFailed(request.request_id, message, kind, model_id=model_id))

    def _answer(self, request: Request) -> Event:
        rid = request.request_id
        if isinstance(request, ChatRequest):
            return self._chat(request)
        if isinstance(request, EmbedRequest):
            return self._embed(request)
        if isinstance(request, LoadRequest):
            return self._load(request)
        if isinstance(request, UnloadRequest):
            self._post(f"/v1/admin/models/unload/{_path(request.model_id)}")
            return ModelEvicted(rid, request.model_id, "unload")
        if isinstance(request, PinRequest):
            verb = "pin" if request.pinned else "unpin"
            body = self._post(f"/v1/admin/models/{verb}/{_path(request.model_id)}")
            return PoolChanged(rid, snapshot_from(body["status"]))
        if isinstance(request, PlanRequest):
            body = self._post("/v1/admin/models/plan", {"models": list(request.model_ids)})
            return PlanReady(rid, tuple(plan_from(p) for p in body["plans"]))
        if isinstance(request, BudgetRequest):
            wanted = {"memory_limit_bytes": request.memory_limit_bytes,
                      "max_models": request.max_models}  # fmt: skip
            return PoolChanged(rid, snapshot_from(self._post("/v1/admin/budget", wanted)))
        raise WorkbenchError(f"{type(request).__name__} is not supported over HTTP")

    def _post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self._client.post(path, json=body)
        raise_for(response)
        return response.json()

    def _load(self, request: LoadRequest) -> ModelLoaded:
        loaded_id = request.model_id  # a sharded model's entry has an id of its own
        query = f"pin={'true' if request.pin else 'false'}"
        if request.cluster:
            loaded_id = cluster_model_id(request.model_id, request.cluster)
            query += f"&cluster={quote(request.cluster, safe='')}"
        with self._lock:
            self._expected_loads[loaded_id] += 1
        try:
            body = self._post(f"/v1/admin/models/load/{_path(request.model_id)}?{query}")
        except BaseException:
            with self._lock:
                self._expected_loads[loaded_id] -= 1
            raise
        return ModelLoaded(request.request_id, loaded_id, body["measured_bytes"],
                           body["seconds"])  # fmt: skip

    def _embed(self, request: EmbedRequest) -> EmbeddingsReady:
        body = self._post(
            "/v1/embeddings",
            {"model": request.model_id, "input": list(request.texts), "encoding_format": "float"},
        )
        vectors = tuple(tuple(item["embedding"]) for item in body["data"])
        counts = tuple(body.get("mlxbench_token_counts") or [0] * len(vectors))
        result = EmbeddingResult(vectors, counts, body["model"], len(vectors[0]))
        return EmbeddingsReady(request.request_id, result)

    def _chat(self, request: ChatRequest) -> ChatDone:
        """Stream the reply; Esc (``cancel``) shuts the connection even before it begins."""
        pieces: list[str] = []
        stats: TurnStats | None = None
        sockets = SocketKeeper()
        client = httpx.Client(
            base_url=self.base_url,
            headers=dict(self._client.headers),
            timeout=TIMEOUT,
            transport=sockets.transport(),
        )
        watcher = threading.Thread(target=sockets.shut_on, args=(request.cancel,), daemon=True)
        watcher.start()
        try:
            with (
                client,
                client.stream("POST", "/v1/chat/completions", json=chat_body(request)) as response,
            ):
                raise_for(response)
                for _name, data in iter_sse(response.iter_lines()):
                    if request.cancel.is_set() or data == "[DONE]":
                        break
                    chunk = json.loads(data)
                    for choice in chunk.get("choices", []):
                        text = choice.get("delta", {}).get("content")
                        if text:
                            pieces.append(text)
                            self._emit(TokenEvent(request.request_id, text))
                    if chunk.get("mlxbench_stats"):
                        stats = TurnStats(**chunk["mlxbench_stats"])
        except (httpx.HTTPError, OSError):
            if not request.cancel.is_set():
                raise
        finally:
            sockets.done.set()
        if request.cancel.is_set() and stats is None:
            stats = TurnStats(0, len(pieces), 0.0, 0.0, 0.0, 0, "cancelled")
        return ChatDone(request.request_id, "".join(pieces), stats or _no_stats())


def chat_body(request: ChatRequest) -> dict[str, Any]:
    """The OpenAI request for a ``ChatRequest`` (images as data URIs, the session kept)."""
    sampling = request.sampling
    body: dict[str, Any] = {
        "model": request.model_id,
        "messages": [_message(m) for m in request.messages],
        "stream": True,
        "temperature": sampling.temperature,
        "top_p": sampling.top_p,
        "max_tokens": sampling.max_tokens,
    }
    if sampling.seed is not None:
        body["seed"] = sampling.seed
    if request.session_id:
        body["session_id"] = request.session_id
    return body


def _message(message: ChatMessage) -> dict[str, Any]:
    if not message.images:
        return {"role": message.role, "content": message.content}
    blocks: list[dict[str, Any]] = [{"type": "text", "text": message.content}]
    for path in message.images:
        data = base64.b64encode(Path(path).read_bytes()).decode()
        blocks.append({"type": "image_url", "image_url": {"url": f"data:image/png;base64,{data}"}})
    return {"role": message.role, "content": blocks}


def _path(model_id: str) -> str:
    return quote(model_id, safe="/")


def _no_stats() -> TurnStats:
    return TurnStats(0, 0, 0.0, 0.0, 0.0, 0, "stop")
