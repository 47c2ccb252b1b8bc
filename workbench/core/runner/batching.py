"""Continuous batching on the owner thread: chat requests for one text model served together.

When several clients chat with the same model, decoding their replies one after the other
leaves the accelerator mostly waiting on memory; stepping them together (``engines.
text_batch``) gives more tokens per second in all. This is the runner's side of it:

- **When**: a text ``ChatRequest`` (not a raw completion, no images) is about to be served
  and the runner's queue head is another such request for the same model (waited for up to
  ``window_s``). Otherwise the request takes the engine's single-request stream, so one
  client loses nothing — and if a joinable request arrives mid-reply, the reply moves into
  a batch with it between two tokens (``solo.py``). Models that cannot batch (vision,
  sharded, caches that cannot merge) are always served one request at a time.
- **Admission**: between steps, joinable requests are popped from the queue *head* only; a
  request of another kind at the head ends admissions until the batch has drained, so the
  order of everything else is kept (a queued load or embed waits at most for the replies
  running). Each admission is checked alone (kind, sampling, prompt length, room in the
  budget for the padded batch cache); a refusal fails that request only — except a lack
  of room beside running replies: that request goes back to the queue's head, admissions
  end, and it is served once the batch has drained, as it would have been unbatched.
- **Each request** gets its own events, as on the single path: ``PromptProgress``,
  ``TokenEvent``s, then ``ChatDone`` with its own stats — or ``RequestFailed``. Its
  ``cancel`` removes it alone within a step; a stopping runner cancels them all.
- **Pool**: one lease for the batch; after each reply the engine's prompt-cache size goes
  to the pool. Before each admission the pool makes room for the padded batch cache (rows
  × the longest prompt plus reply), or the newcomer is refused.
"""

from __future__ import annotations

import logging
import queue
import time
from collections.abc import Callable
from typing import Any

from workbench.core.engines.base import ChatEngine
from workbench.core.engines.text_batch import TextBatch, Update, batchable
from workbench.core.errors import InsufficientMemoryError, WorkbenchError
from workbench.core.limits import check_sampling
from workbench.core.models.kinds import check_chat
from workbench.core.pool.fit import cache_growth
from workbench.core.pool.model_pool import ModelPool
from workbench.core.protocol import (
    ChatDone,
    ChatRequest,
    Event,
    PromptProgress,
    Request,
    TokenEvent,
)
from workbench.core.runner.handlers import Handlers, cancelled_chat
from workbench.core.runner.solo import Moved, serve_alone

log = logging.getLogger(__name__)

Fail = Callable[[Request, BaseException], None]


def joinable(request: Request, model_id: str) -> bool:
    """A text chat turn for ``model_id``: the kind of request a batch can take."""
    return (
        isinstance(request, ChatRequest)
        and request.model_id == model_id
        and not request.raw
        and not any(message.images for message in request.messages)
    )


class Batcher:
    """Serves ``ChatRequest``s, batching them when others for the same model are waiting."""

    def __init__(
        self,
        pool: ModelPool,
        emit: Callable[[Event], None],
        work: Handlers,
        requests: queue.Queue[Request | None],
        *,
        fail: Fail,
        stopping: Callable[[], bool],
        window_s: float = 0.0,
    ) -> None:
        self.pool, self.emit, self.work, self._queue = pool, emit, work, requests
        self.fail, self.stopping, self._window_s = fail, stopping, window_s
        self._unbatchable: set[str] = set()  # models found unable to batch

    def chat(self, request: ChatRequest) -> None:
        """The runner's chat handler: a batch when another joinable request waits; else
        the single-request path, which moves into a batch if one arrives mid-reply."""
        model_id = request.model_id
        if not joinable(request, model_id) or model_id in self._unbatchable:
            self.work.chat(request)
            return
        company = self._company(model_id, self._window_s)
        check_chat(self.pool.info(model_id), request.messages)
        check_sampling(request.sampling)  # before the model loads
        with self.pool.acquire(model_id) as engine:
            can_batch = batchable(engine)
            if can_batch and company:
                _Batch(self, engine, model_id).run(request)
                return
            outcome = serve_alone(self, request, engine) if can_batch else None
            if isinstance(outcome, Moved):
                _Batch(self, engine, model_id).run(outcome)
                return
        if isinstance(outcome, ChatDone):  # sent once the lease is back, as on the usual path
            self.emit(outcome)
        elif not can_batch:
            self._unbatchable.add(model_id)  # vision, sharded, unmergeable caches: as ever
            self.work.chat(request)

    def joinable_waiting(self, model_id: str) -> bool:
        """Whether the queue's head could join a batch for ``model_id`` now."""
        return self._company(model_id, 0.0)

    # ------------------------------------------------------------------ the queue

    def _company(self, model_id: str, window_s: float) -> bool:
        """Whether the queue's head is (or, within the window, becomes) joinable."""
        requests = self._queue
        deadline = time.monotonic() + window_s
        with requests.not_empty:
            while not requests.queue:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                requests.not_empty.wait(left)
            head = requests.queue[0]
            return head is not None and joinable(head, model_id)

    def take_joinable(self, model_id: str) -> ChatRequest | None:
        """Pop the queue's head if it can join a batch for ``model_id`` (never blocks)."""
        requests = self._queue
        with requests.mutex:
            if not requests.queue:
                return None
            head = requests.queue[0]
            if head is None or not joinable(head, model_id):
                return None
            requests.queue.popleft()
            requests.not_full.notify()
        assert isinstance(head, ChatRequest)
        return head

    def put_back(self, request: ChatRequest) -> None:
        """Return a popped request to the queue's head (it is served after the batch)."""
        requests = self._queue
        with requests.mutex:
            requests.queue.appendleft(request)
            requests.not_empty.notify()


class _Batch:
    """One batch, from its first request until its last reply has ended."""

    def __init__(self, batcher: Batcher, engine: Any, model_id: str) -> None:
        self._owner = batcher
        self._engine: ChatEngine = engine
        self._model_id = model_id
        self._batch = TextBatch(engine)
        self._requests: dict[int, ChatRequest] = {}  # row id -> request
        self._pieces: dict[int, list[str]] = {}
        self._extents: dict[int, int] = {}  # row id -> prompt + max tokens
        self._draining = False  # no more admissions: a newcomer waits for the batch's end

    def run(self, first: ChatRequest | Moved) -> None:
        owner = self._owner
        try:
            if isinstance(first, Moved):
                self._resume(first)
            else:
                self._admit(first)
            while self._requests:
                while not self._draining and (joiner := owner.take_joinable(self._model_id)):
                    self._admit(joiner)
                self._cancel()
                if self._requests:
                    self._step()
        finally:
            self._batch.close()
            owner.work.report_cache(self._model_id, self._engine)

    def _admit(self, request: ChatRequest) -> None:
        """Check one request and add it to the batch; a refusal fails it alone."""
        owner = self._owner
        if request.cancel.is_set() or owner.stopping():
            owner.emit(cancelled_chat(request))
            return
        try:
            check_chat(owner.pool.info(request.model_id), request.messages)
            prompt = self._batch.prompt(request.messages, request.sampling)
            extent = len(prompt) + request.sampling.max_tokens
            self._make_room(extent)
            uid = self._batch.add(prompt, request.sampling, request.session_id)
        except InsufficientMemoryError as exc:
            if self._requests:  # no room beside the running replies: next once they end
                owner.put_back(request)
                self._draining = True
            else:
                owner.fail(request, exc)
            return
        except Exception as exc:
            if not isinstance(exc, WorkbenchError):  # a bug: its traceback goes to the log
                log.exception("admitting request %s failed", request.request_id)
            owner.fail(request, exc)
            return
        self._requests[uid], self._pieces[uid], self._extents[uid] = request, [], extent

    def _resume(self, moved: Moved) -> None:
        """Carry on a reply begun alone; if that fails, it fails alone."""
        request = moved.request
        session_id = request.session_id
        assert session_id is not None  # only turns that name a session move
        try:
            uid, held = self._batch.resume(
                session_id, moved.prompt_tokens, request.sampling, moved.carried
            )
        except Exception as exc:
            log.exception("request %s could not join a batch", request.request_id)
            self._owner.fail(request, exc)
            return
        self._requests[uid], self._pieces[uid] = request, [moved.carried.shown]
        self._extents[uid] = moved.prompt_tokens + request.sampling.max_tokens
        if held:
            self._deliver(Update(uid, held, self._batch.rows[uid].generated))

    def _make_room(self, extent: int) -> None:
        """Room in the budget for the padded batch cache with one row more."""
        per_token = self._engine.kv_bytes_per_token()
        if not per_token:
            return
        rows = len(self._extents) + 1
        longest = max([extent, *self._extents.values()])
        padded = rows * cache_growth(longest, 0, per_token, 0)
        self._owner.pool.make_cache_room(self._model_id, padded)

    def _cancel(self) -> None:
        stopping = self._owner.stopping()
        for uid, request in list(self._requests.items()):
            if stopping or request.cancel.is_set():
                self._deliver(self._batch.drop(uid))

    def _step(self) -> None:
        try:
            updates = self._batch.step()
        except Exception as exc:  # the whole batch is lost: every reply in it fails
            log.exception("a batch step failed")
            for uid, request in list(self._requests.items()):
                self._forget(uid)
                self._owner.fail(request, exc)
            return
        for update in updates:
            self._deliver(update)

    def _deliver(self, update: Update) -> None:
        request = self._requests.get(update.uid)
        if request is None:
            return
        emit, request_id = self._owner.emit, request.request_id
        if update.progress is not None:
            done, total = update.progress
            emit(PromptProgress(request_id, done, total, self._engine.context_length))
        if update.text:
            self._pieces[update.uid].append(update.text)
            emit(TokenEvent(request_id, update.text, update.generated))
        if update.stats is not None:
            text = "".join(self._pieces[update.uid])
            self._forget(update.uid)
            self._owner.work.report_cache(self._model_id, self._engine)
            emit(ChatDone(request_id, text, update.stats))

    def _forget(self, uid: int) -> None:
        self._requests.pop(uid, None)
        self._pieces.pop(uid, None)
        self._extents.pop(uid, None)
