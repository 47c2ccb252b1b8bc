"""The runner's protocol: requests that go in, events that come out, pool snapshots.

The runner owns every MLX call on one thread. Callers (the CLI, the TUI, the server) hand it
``Request`` objects and get ``Event`` objects back on the request's handle (see
``core.runner.handle``) and through the runner's one callback. Each request kind declares
here, once, the event that ends it (``final_event``); ``RequestFailed`` ends any request and
carries the exception object itself. Everything is a frozen dataclass: safe to pass between
threads, cheap to compare. This module imports nothing heavy, so the TUI can use it without
pulling in MLX.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

from workbench.core.errors import WorkbenchError
from workbench.core.types import (
    ChatMessage,
    EmbeddingResult,
    Family,
    ModelKind,
    SamplingSettings,
    TurnStats,
)

if TYPE_CHECKING:
    from workbench.core.cluster.placement import ClusterPlacement

_ids = itertools.count(1)


def next_request_id() -> int:
    """A process-unique id for a request (thread-safe: ``itertools.count`` is atomic)."""
    return next(_ids)


# --------------------------------------------------------------------------- pool views


@dataclass(frozen=True)
class PoolEntryView:
    """One loaded (or loading) model as the UI sees it."""

    model_id: str
    name: str
    kind: ModelKind
    family: Family
    state: str  # "loading" | "ready"
    pinned: bool
    leases: int
    estimated_bytes: int
    measured_bytes: int | None
    last_used: float
    load_seconds: float | None = None
    cache_bytes: int = 0  # prompt caches the engine keeps for recent conversations
    cluster: ClusterPlacement | None = None  # hosts and shares, for a model sharded over a cluster

    @property
    def bytes(self) -> int:
        """The weights' size: measured when known, else estimated."""
        return self.measured_bytes if self.measured_bytes is not None else self.estimated_bytes

    @property
    def total_bytes(self) -> int:
        """What the budget counts for this model: weights plus prompt caches."""
        return self.bytes + self.cache_bytes


@dataclass(frozen=True)
class PoolSnapshot:
    """An immutable picture of the pool; ``entries`` are in LRU order, least recent first."""

    entries: tuple[PoolEntryView, ...]
    budget_bytes: int
    max_models: int
    used_bytes: int  # weights and prompt caches of every entry
    pinned_bytes: int  # weights of pinned models (their caches may still be dropped)
    over_budget: str | None = None  # one line when pinned / in-use models exceed the budget
    cache_bytes: int = 0  # the prompt caches within ``used_bytes``


@dataclass(frozen=True)
class LoadPlan:
    """What loading ``model_id`` would do: fit as is, evict some models, or fail."""

    model_id: str
    already_loaded: bool
    fits: bool
    evict: tuple[str, ...]
    need_bytes: int
    available_bytes: int
    reason: str | None = None  # why it cannot fit (names pinned / in-use models)
    estimated_seconds: float | None = None
    drop_caches: tuple[str, ...] = ()  # models whose prompt caches go first (they stay loaded)
    free_now_bytes: int | None = None  # budget left before anything is dropped or evicted
    free_after_bytes: int | None = None  # budget left once ``drop_caches`` and ``evict`` are gone


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class Event:
    """Base of every event. ``request_id`` is None for events no request asked for."""

    request_id: int | None


@dataclass(frozen=True)
class RunnerReady(Event):
    """The owner thread is running and MLX is imported. ``blas`` names the active BLAS."""

    blas: str = ""
    device: str = ""


@dataclass(frozen=True)
class PoolChanged(Event):
    """The pool changed; here is the new snapshot."""

    snapshot: PoolSnapshot


@dataclass(frozen=True)
class LoadStarted(Event):
    model_id: str
    estimated_seconds: float | None = None


@dataclass(frozen=True)
class LoadProgress(Event):
    model_id: str
    message: str  # e.g. "importing GGUF", "reading weights"


@dataclass(frozen=True)
class ModelLoaded(Event):
    model_id: str
    measured_bytes: int
    seconds: float


@dataclass(frozen=True)
class ModelEvicted(Event):
    model_id: str
    reason: str  # "lru" | "unload" | "budget"


@dataclass(frozen=True)
class PlanReady(Event):
    plans: tuple[LoadPlan, ...]


@dataclass(frozen=True)
class TokenEvent(Event):
    """A piece of streamed text for a ``ChatRequest``."""

    text: str
    generated: int = 0  # tokens generated so far in this turn (0 when unknown)


@dataclass(frozen=True)
class PromptProgress(Event):
    """A ``ChatRequest``'s prompt is being read: ``processed`` of ``total`` tokens (cached
    ones count as processed). ``context_length`` is the model's, when its config says."""

    processed: int
    total: int
    context_length: int | None = None


@dataclass(frozen=True)
class ChatDone(Event):
    """A chat request ended (normally, at max tokens, or cancelled); ``text`` is the reply."""

    text: str
    stats: TurnStats


@dataclass(frozen=True)
class EmbeddingsReady(Event):
    result: EmbeddingResult


@dataclass(frozen=True)
class RequestFailed(Event):
    """A request failed; this ends any request.

    ``error`` is the exception object itself (a ``WorkbenchError`` subclass the user can act
    on, or the unexpected exception of a bug), so a caller raises the real class; the runner
    never sends a class *name* to be looked up again. ``message`` is its one line for the
    user, ``error_type`` the class name (a title for the screen).
    """

    message: str
    error_type: str = "WorkbenchError"
    model_id: str | None = None
    error: BaseException | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(
        cls,
        request_id: int | None,
        error: BaseException,
        *,
        message: str | None = None,
        model_id: str | None = None,
    ) -> RequestFailed:
        """The failure that carries ``error`` (its text is the message unless one is given)."""
        text = str(error) if message is None else message
        return cls(request_id, text, type(error).__name__, model_id, error)

    @property
    def exception(self) -> BaseException:
        """What to raise: the carried exception, or a ``WorkbenchError`` with the message
        (a failure built from a remote server's answer carries no object)."""
        return self.error if self.error is not None else WorkbenchError(self.message)

    @property
    def user_error(self) -> WorkbenchError:
        """The failure as a ``WorkbenchError``: the carried one, or the message wrapped
        (a bug's message already names its class and where the details are)."""
        error = self.error
        return error if isinstance(error, WorkbenchError) else WorkbenchError(self.message)


# --------------------------------------------------------------------------- requests


@dataclass(frozen=True)
class Request:
    """Base of every request. ``cancel`` is set by the caller to stop the work early.

    Each kind declares, once, the event that ends it (``final_event``); ``RequestFailed``
    ends any request. ``None``: nothing answers it (the runner just stops).
    """

    final_event: ClassVar[type[Event] | None] = None

    request_id: int = field(default_factory=next_request_id, kw_only=True)
    cancel: threading.Event = field(default_factory=threading.Event, kw_only=True, compare=False)

    def is_final(self, event: Event) -> bool:
        """Whether ``event`` is the last one this request gets."""
        final = self.final_event
        return isinstance(event, RequestFailed) or (final is not None and isinstance(event, final))


@dataclass(frozen=True)
class LoadRequest(Request):
    """Load a model into the pool (``pin=True`` loads and pins: a preload).

    ``cluster`` names a cluster to shard the model over instead (see ``core.cluster``): the
    pool then holds a separate entry for the sharded model, and ``ModelLoaded`` names it."""

    final_event: ClassVar[type[Event] | None] = ModelLoaded

    model_id: str
    pin: bool = False
    cluster: str | None = None


@dataclass(frozen=True)
class UnloadRequest(Request):
    """Evict a model now (refused while it is in use)."""

    final_event: ClassVar[type[Event] | None] = ModelEvicted

    model_id: str


@dataclass(frozen=True)
class PinRequest(Request):
    """Pin or unpin a loaded model."""

    final_event: ClassVar[type[Event] | None] = PoolChanged

    model_id: str
    pinned: bool


@dataclass(frozen=True)
class PlanRequest(Request):
    """Ask what loading these models, in order, would do. Answered by ``PlanReady``."""

    final_event: ClassVar[type[Event] | None] = PlanReady

    model_ids: tuple[str, ...]


@dataclass(frozen=True)
class ChatRequest(Request):
    """Generate the next assistant turn for ``messages`` (streamed as ``TokenEvent``s)."""

    final_event: ClassVar[type[Event] | None] = ChatDone

    model_id: str
    messages: tuple[ChatMessage, ...]
    sampling: SamplingSettings = field(default_factory=SamplingSettings)
    session_id: str | None = None  # lets the engine keep a prompt cache per conversation
    raw: bool = False  # continue the last message's text as is: no chat template (base models)


@dataclass(frozen=True)
class EmbedRequest(Request):
    """Embed texts. Answered by ``EmbeddingsReady``."""

    final_event: ClassVar[type[Event] | None] = EmbeddingsReady

    model_id: str
    texts: tuple[str, ...]


@dataclass(frozen=True)
class BudgetRequest(Request):
    """Change the budget; models may be evicted to honour it (never pinned or leased ones)."""

    final_event: ClassVar[type[Event] | None] = PoolChanged

    memory_limit_bytes: int
    max_models: int


@dataclass(frozen=True)
class ShutdownRequest(Request):
    """Stop the runner loop after unloading everything."""


def is_final(request: Request, event: Event) -> bool:
    """Whether ``event`` is the last one ``request`` gets (``request.is_final(event)``)."""
    return request.is_final(event)
