"""The single owner thread of every MLX call: requests in, events out.

MLX streams are thread-local, and two threads driving one model have crashed here, so one
thread does all model work — loading, generating, embedding, unloading — one request at a
time, in order. Callers (the CLI, the TUI, the server, the benchmark) hand ``Request`` objects
in with ``submit`` from any thread; it returns the request's ``RequestHandle`` (see
``handle.py``). Frozen ``Event`` objects come back two ways, both called on the owner thread
(or, for the bookkeeping-only requests, on the caller's):

- an event that names a request in flight goes to that request's handle (queued on it, or
  pushed to the sink given to ``submit``), until the request's final event;
- *every* event also goes to the runner's one callback: the place for what no request owns
  (``RunnerReady``, pool snapshots, loads and evictions a pool view or a server's
  subscribers show). The callback runs first, so when a handle's final event arrives the
  callback has seen everything before it.

Each request kind is served by the handler its type maps to in one table (``handlers``,
built with ``route``); the model work itself is in ``handlers.py``.

Guarantees a caller can build on:

- ``RunnerReady`` first (MLX imported on the owner thread, BLAS chosen before that).
- Every request ends with exactly one final event, the one its class declares in the
  protocol (``ChatDone`` also when a chat is cancelled) — or ``RequestFailed`` instead,
  carrying the ``WorkbenchError`` or the unexpected exception itself. The loop keeps
  running either way; when it stops, every request still waiting gets ``RequestFailed``.
- ``PlanRequest`` and ``PinRequest`` are answered at once on the caller's thread: they are
  bookkeeping and must not wait behind a long generation. Unpinning never unloads there;
  the owner thread rebalances the pool after it.
- Requests run in order, so a load that needs memory a generation holds waits for that
  generation to finish (queued behind it) and then evicts normally. Inside the pool itself
  nothing waits: a load that cannot fit *now* fails with the reason (see ``core.pool``).
- Prompt caches count against the budget: after each chat turn the model's cache size goes
  to the pool, and the rebalance that ends every owner-thread request drops other models'
  caches, then evicts least-recently-used models, keeping the model just chatted with (its
  own cache goes only if nothing else can).
- One exception to one-at-a-time: text chat turns for the same model that wait together
  are decoded together, each with its own events (``batching.py``; ``batching=False``
  turns it off). Every other request keeps its place in the line.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from workbench.core.config import Config
from workbench.core.errors import CancelledError, WorkbenchError, one_line
from workbench.core.logs import details_hint
from workbench.core.pool.budget import Budget
from workbench.core.pool.model_pool import ModelPool
from workbench.core.pool.sizes import SizesStore
from workbench.core.protocol import (
    BudgetRequest,
    ChatRequest,
    EmbedRequest,
    Event,
    LoadProgress,
    LoadRequest,
    LoadStarted,
    ModelEvicted,
    ModelLoaded,
    PinRequest,
    PlanReady,
    PlanRequest,
    PoolChanged,
    PoolEntryView,
    Request,
    RequestFailed,
    RunnerReady,
    ShutdownRequest,
    UnloadRequest,
)
from workbench.core.runner.batching import Batcher
from workbench.core.runner.collector import deferring_full_collections
from workbench.core.runner.handle import RequestHandle, Sink
from workbench.core.runner.handlers import Handlers, cancelled_chat
from workbench.core.runner.mlx_backend import explain as explain_mlx_failure
from workbench.core.runner.mlx_hooks import MlxHooks, real_hooks
from workbench.core.types import ModelInfo

log = logging.getLogger(__name__)

Callback = Callable[[Event], None]
Loader = Callable[[ModelInfo, Callable[[str], None]], Any]
Handler = Callable[[Request], None]
IMMEDIATE = (PlanRequest, PinRequest)
STOPPED = "the model runner has stopped"
R = TypeVar("R", bound=Request)


class _Rebalance(Request):
    """Internal: evict on the owner thread if bookkeeping left the pool over budget."""


def default_loader(info: ModelInfo, progress: Callable[[str], None]) -> Any:
    """The real engines (imported on first use: they pull in the MLX libraries lazily)."""
    from workbench.core.engines import load_engine

    return load_engine(info, progress)


def _close(engine: Any) -> None:
    if engine is not None:
        engine.close()


def route(kind: type[R], handler: Callable[[R], None]) -> tuple[type[Request], Handler]:
    """One row of a dispatch table: requests of type ``kind`` go to ``handler``."""

    def serve(request: Request) -> None:
        assert isinstance(request, kind)
        handler(request)

    return kind, serve


class Runner:
    """The owner-thread loop. Build it anywhere; call ``run`` on the thread that will own MLX."""

    def __init__(
        self,
        callback: Callback,
        *,
        catalog: Sequence[ModelInfo],
        budget: Budget,
        loader: Loader | None = None,
        mlx_hooks: MlxHooks | None = None,
        config: Config | None = None,
        sizes: SizesStore | None = None,
        batching: bool = True,
        batch_window_s: float = 0.0,
    ) -> None:
        self._callback = callback
        self._loader = loader or default_loader
        self._hooks = mlx_hooks or real_hooks(config)
        self._queue: queue.Queue[Request | None] = queue.Queue()
        self._local = threading.local()  # the request being served on this thread
        self._stopping = threading.Event()
        self._current: Request | None = None
        self._handles: dict[int, RequestHandle] = {}  # requests in flight, by id
        self._handles_lock = threading.Lock()
        self.pool = ModelPool(
            catalog,
            budget,
            loader=self._load_model,
            unloader=_close,
            release=self._hooks.release,
            measure=self._hooks.active_memory,
            isolate=self._hooks.isolate,
            sizes=sizes if sizes is not None else SizesStore(),
            on_evicted=self._evicted,
            on_changed=self._changed,
            on_loaded=self._loaded,
        )
        self._work = Handlers(self.pool, self.emit, self._request_id)
        self._clusters = config.clusters if config is not None else {}
        # text chats for one model are served together when several wait (batching.py);
        # while one streams, no full garbage collection stalls it (collector.py)
        batcher = Batcher(
            self.pool,
            self.emit,
            self._work,
            self._queue,
            fail=self._fail,
            stopping=self._stopping.is_set,
            window_s=batch_window_s,
        )
        self.handlers: dict[type[Request], Handler] = dict(
            [
                route(PlanRequest, self._plan),
                route(PinRequest, self._pin),
                route(LoadRequest, self._load),
                route(UnloadRequest, self._work.unload),
                route(
                    ChatRequest,
                    deferring_full_collections(batcher.chat if batching else self._work.chat),
                ),
                route(EmbedRequest, self._work.embed),
                route(BudgetRequest, self._set_budget),
                route(_Rebalance, lambda _request: None),  # ``_serve``'s ``finally`` does it
            ]
        )

    # ------------------------------------------------------------------ public

    def run(self) -> None:
        """Serve requests until ``stop`` or a ``ShutdownRequest`` (blocks)."""
        if self._stopping.is_set():  # stopped before it ever ran: do not import MLX
            self._drain()
            return
        try:
            blas, device = self._hooks.start()
        except Exception as exc:
            log.exception("MLX failed to start")
            self.emit(RequestFailed.of(None, WorkbenchError(explain_mlx_failure(exc))))
            self._stopping.set()
            self._drain()
            return
        try:
            self.emit(RunnerReady(None, blas=blas, device=device))
            self.emit(PoolChanged(None, self.pool.snapshot()))
            self._loop()
        finally:
            self._stopping.set()
            self._drain()
            self.pool.close()
            self._hooks.finish()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            request = self._queue.get()
            if request is None or isinstance(request, ShutdownRequest):
                return
            self._serve(request)

    def submit(self, request: Request, sink: Sink | None = None) -> RequestHandle:
        """Hand a request to the runner (thread-safe, never blocks on model work).

        Returns the request's handle: its events are queued there, or pushed to ``sink``
        when one is given. Plan and pin requests are answered before this returns.
        """
        handle = RequestHandle(request, sink)
        if request.final_event is not None:  # nothing answers the others
            with self._handles_lock:
                self._handles[request.request_id] = handle
        if self._stopping.is_set():
            self._fail(request, CancelledError(STOPPED))
        elif isinstance(request, IMMEDIATE):
            self._serve(request)
            if isinstance(request, PinRequest) and not request.pinned:
                self._queue.put(_Rebalance())
        else:
            self._queue.put(request)
        return handle

    def stop(self) -> None:
        """Cancel the current request and end ``run`` soon (thread-safe)."""
        self._stopping.set()
        current = self._current
        if current is not None:
            current.cancel.set()
        self._queue.put(None)

    def update_catalog(self, infos: Sequence[ModelInfo]) -> None:
        """Let the pool load these models too (e.g. after a rescan, or a model given by path)."""
        self.pool.register(infos)

    def emit(self, event: Event) -> None:
        """Send an event to the callback, then to its request's handle; a failing callback
        or sink is logged, never fatal."""
        try:
            self._callback(event)
        except Exception:
            log.exception("runner callback failed on %s", type(event).__name__)
        if event.request_id is None:
            return
        with self._handles_lock:
            handle = self._handles.get(event.request_id)
        if handle is None:
            return
        try:
            handle.deliver(event)
        except Exception:
            log.exception("request sink failed on %s", type(event).__name__)
        if handle.finished:
            with self._handles_lock:
                self._handles.pop(event.request_id, None)

    # ------------------------------------------------------------------ serving

    def _serve(self, request: Request) -> None:
        owner = not isinstance(request, IMMEDIATE)
        previous = getattr(self._local, "request_id", None)
        self._local.request_id = request.request_id
        if owner:
            self._current = request
        try:
            self._dispatch(request)
        except WorkbenchError as exc:
            self._fail(request, exc)
        except Exception as exc:  # a bug: its traceback goes to the log file, always
            log.exception("request %s failed unexpectedly", request.request_id)
            self._fail(request, exc)
        finally:
            self._local.request_id = previous
            if owner:
                self._current = None
                # a chat may have grown its model's cache: others' caches and models go first
                self._rebalance(request.model_id if isinstance(request, ChatRequest) else None)

    def _dispatch(self, request: Request) -> None:
        kind = next((k for k in type(request).__mro__ if k in self.handlers), None)
        if kind is None:
            raise WorkbenchError(f"unknown request {type(request).__name__}")
        if request.cancel.is_set() and not isinstance(request, _Rebalance):
            if isinstance(request, ChatRequest):
                self.emit(cancelled_chat(request))
                return
            raise CancelledError("cancelled before it started")
        self.handlers[kind](request)

    def _plan(self, request: PlanRequest) -> None:
        self.emit(PlanReady(request.request_id, self.pool.plan(request.model_ids)))

    def _pin(self, request: PinRequest) -> None:
        self.pool.set_pinned(request.model_id, request.pinned)  # → PoolChanged

    def _load(self, request: LoadRequest) -> None:
        if not request.cluster:
            self._work.load(request)
            return
        from workbench.core.cluster.entry import load_on_cluster

        load_on_cluster(self.pool, self._clusters, request, self.emit)

    def _set_budget(self, request: BudgetRequest) -> None:
        self.pool.set_budget(Budget(request.memory_limit_bytes, request.max_models))

    def _fail(self, request: Request, exc: BaseException) -> None:
        message = (
            str(exc)
            if isinstance(exc, WorkbenchError)
            else f"{one_line(exc, with_type=True)}{details_hint()}"
        )
        model_id = getattr(request, "model_id", None)
        self.emit(RequestFailed.of(request.request_id, exc, message=message, model_id=model_id))

    def _drain(self) -> None:
        """After stopping: every request still queued or in flight gets its final event."""
        while True:
            try:
                request = self._queue.get_nowait()
            except queue.Empty:
                break
            if request is None or isinstance(request, ShutdownRequest | _Rebalance):
                continue
            self._fail(request, CancelledError(STOPPED))
        with self._handles_lock:
            waiting = list(self._handles.values())
        for handle in waiting:  # e.g. a request the loop left by an exception
            self._fail(handle.request, CancelledError(STOPPED))

    def _rebalance(self, protect: str | None = None) -> None:
        try:
            self.pool.rebalance(protect)
        except Exception:
            log.exception("rebalancing the pool failed")

    # ------------------------------------------------------------------ pool wiring

    def _request_id(self) -> int | None:
        return getattr(self._local, "request_id", None)

    def _load_model(self, info: ModelInfo) -> Any:
        request_id = self._request_id()
        eta = self.pool.estimated_seconds(info.id)
        self.emit(LoadStarted(request_id, info.id, estimated_seconds=eta))

        def progress(message: str) -> None:
            self.emit(LoadProgress(request_id, info.id, message))

        return self._loader(info, progress)

    def _evicted(self, model_id: str, reason: str) -> None:
        self.emit(ModelEvicted(self._request_id(), model_id, reason))

    def _loaded(self, view: PoolEntryView) -> None:
        seconds = view.load_seconds or 0.0
        self.emit(ModelLoaded(self._request_id(), view.model_id, view.bytes, seconds))

    def _changed(self) -> None:
        self.emit(PoolChanged(self._request_id(), self.pool.snapshot()))
