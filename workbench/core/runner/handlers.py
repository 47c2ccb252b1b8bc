"""What the runner does for each kind of model request, on the owner thread.

Apart from the loop (threads, dispatch table, wiring) so each handler reads on its own:
check the request against the model *before* anything loads (kind, images, empty input:
``core.models.kinds``), then work under a pool lease so the model cannot be evicted
mid-use, and emit the events the protocol promises. Engines are driven through their typed
protocols (``ChatEngine``, ``Embedder``), never probed for what they can do.

Before a chat turn, under the lease, the pool makes room for the most the turn's prompt
cache can grow to (or the turn is refused before generating: MLX crashes rather than
raising on out-of-memory); after it, the engine's prompt-cache size goes to the pool, which
counts it against the budget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from workbench.core.engines.base import ChatEngine, Embedder
from workbench.core.errors import WrongModelKindError
from workbench.core.limits import check_prompt_length, check_sampling
from workbench.core.models.kinds import check_chat, check_completion, check_embed
from workbench.core.pool.fit import cache_growth
from workbench.core.pool.model_pool import ModelPool
from workbench.core.protocol import (
    ChatDone,
    ChatRequest,
    EmbeddingsReady,
    EmbedRequest,
    Event,
    LoadRequest,
    ModelLoaded,
    PromptProgress,
    TokenEvent,
    UnloadRequest,
)
from workbench.core.types import TurnStats


def cancelled_chat(request: ChatRequest, text: str = "") -> ChatDone:
    """The ``ChatDone`` of a chat that was cancelled before the engine reported stats."""
    stats = TurnStats(0, 0, 0.0, 0.0, 0.0, 0, "cancelled")
    return ChatDone(request.request_id, text, stats)


def chat_engine(engine: object, name: str) -> ChatEngine:
    """The leased engine as a ``ChatEngine`` (the kind check ran before the load)."""
    if not isinstance(engine, ChatEngine):
        raise WrongModelKindError(f"{name} cannot chat")
    return engine


def embedder(engine: object, name: str) -> Embedder:
    """The leased engine as an ``Embedder``."""
    if not isinstance(engine, Embedder):
        raise WrongModelKindError(f"{name} cannot embed")
    return engine


class Handlers:
    """Load, unload, chat and embed, through the pool, reporting through ``emit``."""

    def __init__(
        self,
        pool: ModelPool,
        emit: Callable[[Event], None],
        request_id: Callable[[], int | None],
    ) -> None:
        self._pool, self._emit, self._request_id = pool, emit, request_id

    def load(self, request: LoadRequest) -> None:
        """Load (and pin, for a preload); ``ModelLoaded`` also when it was loaded already.

        A real load's ``ModelLoaded`` comes from the pool's ``on_loaded`` callback, which
        also reports loads that a chat or embed request triggered.
        """
        already = request.model_id in self._pool.loaded_ids()
        view = self._pool.ensure_loaded(request.model_id, pin=request.pin)
        if already:
            self._emit(ModelLoaded(request.request_id, view.model_id, view.bytes, 0.0))

    def unload(self, request: UnloadRequest) -> None:
        """Evict now; the pool's eviction callback sends the final ``ModelEvicted``."""
        self._pool.evict(request.model_id, "unload")

    def chat(self, request: ChatRequest) -> None:
        """Stream the reply as ``TokenEvent``s, then ``ChatDone`` (also when cancelled)."""
        info = self._pool.info(request.model_id)
        check = check_completion if request.raw else check_chat
        check(info, request.messages)
        check_sampling(request.sampling)  # before the model loads, whoever sent it
        with self._pool.acquire(request.model_id) as leased:
            engine = chat_engine(leased, info.name)
            if request.cancel.is_set():  # cancelled while the model was loading
                self._emit(cancelled_chat(request))
                return
            self.make_cache_room(request, engine)
            try:
                text, stats = self._stream(engine, request)
            finally:  # still leased: the cache cannot be dropped while it is measured
                self.report_cache(request.model_id, engine)
        if stats is None:
            finish = "cancelled" if request.cancel.is_set() else "stop"
            stats = TurnStats(0, 0, 0.0, 0.0, 0.0, 0, finish)
        self._emit(ChatDone(request.request_id, text, stats))

    def make_cache_room(self, request: ChatRequest, engine: ChatEngine) -> None:
        """Before generating: make room in the budget for the most this turn's cache can
        grow to, or refuse the turn (``InsufficientMemoryError``) with nothing changed.

        Engines that cannot say their cache's bytes per token (vision models, or text
        models whose cache is not a plain key/value cache) skip the check; their caches
        are counted after the turn only.
        """
        per_token = engine.kv_bytes_per_token()
        if not per_token:
            return
        if request.raw:
            prompt = len(engine.completion_tokens(request.messages[-1].content))
        else:
            prompt = len(engine.prompt_tokens(request.messages))
        name = self._pool.info(request.model_id).name  # too long: say so, not "no memory"
        check_prompt_length(prompt, engine.context_length, name)
        held = engine.session_cache_bytes(request.session_id)
        growth = cache_growth(prompt, request.sampling.max_tokens, per_token, held)
        self._pool.make_cache_room(request.model_id, growth)

    def report_cache(self, model_id: str, engine: ChatEngine) -> None:
        """Tell the pool how much memory the engine's prompt caches hold now."""
        self._pool.set_cache_bytes(model_id, int(engine.prompt_cache_bytes()))

    def _stream(self, engine: ChatEngine, request: ChatRequest) -> tuple[str, TurnStats | None]:
        if request.raw:
            text = request.messages[-1].content
            chunks = engine.stream_completion(text, request.sampling, request.cancel)
        else:
            chunks = engine.stream_chat(
                request.messages, request.sampling, request.cancel, request.session_id
            )
        pieces: list[str] = []
        stats = None
        with self._prompt_progress(engine, request.request_id):
            for chunk in chunks:
                if chunk.text:
                    pieces.append(chunk.text)
                    self._emit(TokenEvent(request.request_id, chunk.text, chunk.generated))
                if chunk.stats is not None:
                    stats = chunk.stats
        return "".join(pieces), stats

    @contextmanager
    def _prompt_progress(self, engine: ChatEngine, request_id: int) -> Iterator[None]:
        """Report prompt reading as ``PromptProgress`` (engines that cannot tell ignore it)."""
        context = engine.context_length

        def report(done: int, total: int) -> None:
            self._emit(PromptProgress(request_id, done, total, context))

        engine.prompt_progress = report
        try:
            yield
        finally:
            engine.prompt_progress = None

    def embed(self, request: EmbedRequest) -> None:
        """Embed the texts under a lease; ``EmbeddingsReady`` with one unit vector per text."""
        info = self._pool.info(request.model_id)
        check_embed(info, request.texts)
        with self._pool.acquire(request.model_id) as leased:
            result = embedder(leased, info.name).embed(list(request.texts))
        self._emit(EmbeddingsReady(request.request_id, result))
