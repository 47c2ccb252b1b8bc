"""Two models, one prompt: the plan that decides how they share memory, and the two turns.

The runner serves one request at a time on one thread, so a comparison is two turns in a
row: model A answers, then model B. Whether both stay in memory is the pool's call, and the
user should know it before waiting: ``describe_plan`` turns the pool's plan for loading A
then B into one of three outcomes — both fit, one is evicted between them, or it cannot be
done (nothing is loaded then) — with a line that says so. ``lane_request`` makes each
turn's request: a chat for instruct models, a raw completion for base models (``auto``), or
the mode the user asked for. ``run_compare`` drives both turns through a blocking client
(the CLI); the app drives the same requests through its bridge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from workbench.core.errors import InputError, InsufficientMemoryError
from workbench.core.protocol import ChatDone, ChatRequest, LoadPlan
from workbench.core.sessions.data import SessionMessage
from workbench.core.types import ChatMessage, ModelInfo, SamplingSettings, TurnStats
from workbench.core.units import format_bytes

BOTH_FIT, EVICT_BETWEEN, CANNOT_FIT = "both fit", "evict between", "cannot fit"
MODES = ("auto", "chat", "complete")
LANES = ("a", "b")


@dataclass(frozen=True)
class ComparePlan:
    """What comparing A and B will do to the pool, and the line that tells the user."""

    model_ids: tuple[str, str]
    outcome: str  # BOTH_FIT | EVICT_BETWEEN | CANNOT_FIT
    line: str
    plans: tuple[LoadPlan, ...] = ()

    @property
    def possible(self) -> bool:
        return self.outcome != CANNOT_FIT


@dataclass(frozen=True)
class LaneResult:
    """One model's side of a comparison."""

    model_id: str
    mode: str  # "chat" | "complete"
    text: str
    stats: TurnStats
    size_bytes: int | None  # the model's weights as the pool counts them (measured once loaded)


def check_pair(a: ModelInfo, b: ModelInfo) -> None:
    """Refuse a comparison that cannot mean anything, before any model loads."""
    if a.id == b.id:
        raise InputError(f"choose two different models (both are {a.name})")


def _size(plan: LoadPlan) -> str:
    return format_bytes(plan.need_bytes)


def _others(plans: Sequence[LoadPlan], pair: tuple[str, str], names: Callable[[str], str]) -> str:
    """ "; to make room it evicts C, D" for models outside the pair the plan evicts."""
    gone = [m for plan in plans for m in plan.evict if m not in pair]
    return f"; to make room it evicts {', '.join(names(m) for m in gone)}" if gone else ""


def describe_plan(plans: Sequence[LoadPlan], names: Callable[[str], str]) -> ComparePlan:
    """The outcome of the pool's plan for loading A then B (``pool.plan([a, b])``)."""
    first, second = plans[0], plans[1]
    a, b = first.model_id, second.model_id
    pair = (a, b)
    if not first.fits:
        line = f"cannot compare: {names(a)} does not fit ({first.reason})"
        return ComparePlan(pair, CANNOT_FIT, line, tuple(plans))
    if not second.fits:
        line = f"cannot compare: {names(b)} does not fit after {names(a)} ({second.reason})"
        return ComparePlan(pair, CANNOT_FIT, line, tuple(plans))
    others = _others(plans, pair, names)
    if a in second.evict:
        line = (
            f"one at a time: {names(a)} ({_size(first)}) is evicted before {names(b)} "
            f"({_size(second)}) loads — the budget holds only one of them{others}"
        )
        return ComparePlan(pair, EVICT_BETWEEN, line, tuple(plans))
    total = first.need_bytes + second.need_bytes
    line = (
        f"both fit: {names(a)} ({_size(first)}) + {names(b)} ({_size(second)}) = "
        f"{format_bytes(total)}, both stay loaded{others}"
    )
    return ComparePlan(pair, BOTH_FIT, line, tuple(plans))


def lane_mode(info: ModelInfo, mode: str) -> str:
    """``chat`` or ``complete`` for this model: ``auto`` completes for base models only."""
    if mode not in MODES:
        raise InputError(f"mode must be one of {', '.join(MODES)} (got {mode!r})")
    if mode == "auto":
        return "complete" if info.is_base else "chat"
    return mode


def lane_request(
    info: ModelInfo,
    prompt: str,
    sampling: SamplingSettings,
    mode: str,
    *,
    system: str = "",
) -> ChatRequest:
    """The request for one side: the prompt as a chat turn (after the system message, if
    any), or as text to continue (a raw completion sees the prompt only)."""
    if lane_mode(info, mode) == "complete":
        return ChatRequest(
            model_id=info.id, messages=(ChatMessage("user", prompt),), sampling=sampling, raw=True
        )
    head = (ChatMessage("system", system),) if system else ()
    messages = (*head, ChatMessage("user", prompt))
    return ChatRequest(model_id=info.id, messages=messages, sampling=sampling)


class CompareClient(Protocol):
    """The slice of ``RunnerClient`` a comparison needs."""

    def plan(self, model_ids: Sequence[str]) -> tuple[LoadPlan, ...]: ...

    def submit_chat(self, request: ChatRequest) -> Any: ...

    def snapshot(self) -> Any: ...


def loaded_size(snapshot: Any, model_id: str) -> int | None:
    """The model's weights in a pool snapshot (None when it is not loaded)."""
    entry = next((e for e in snapshot.entries if e.model_id == model_id), None)
    return entry.bytes if entry is not None else None


def run_compare(
    client: CompareClient,
    infos: tuple[ModelInfo, ModelInfo],
    prompt: str,
    sampling: SamplingSettings,
    mode: str = "auto",
    *,
    on_plan: Callable[[ComparePlan], None] | None = None,
    on_start: Callable[[int, ChatRequest], None] | None = None,
    on_text: Callable[[int, str], None] | None = None,
) -> tuple[ComparePlan, tuple[LaneResult, ...]]:
    """Plan, then run A's turn and B's turn; the callbacks see the plan (also one that
    cannot be done), each turn's request as it starts and the streamed text.

    Raises ``InsufficientMemoryError`` with the plan's line, before anything loads, when
    the two cannot be compared under the budget.
    """
    check_pair(*infos)
    names = {e.model_id: e.name for e in client.snapshot().entries}  # models it may evict
    names.update((i.id, i.name) for i in infos)
    plan = describe_plan(client.plan([i.id for i in infos]), lambda m: names.get(m, m))
    if on_plan is not None:
        on_plan(plan)
    if not plan.possible:
        raise InsufficientMemoryError(plan.line)
    results = []
    for lane, info in enumerate(infos):
        request = lane_request(info, prompt, sampling, mode)
        if on_start is not None:
            on_start(lane, request)
        stream = client.submit_chat(request)
        for piece in stream:
            if on_text is not None:
                on_text(lane, piece)
        done: ChatDone = stream.done
        size = loaded_size(client.snapshot(), info.id)
        kind = "complete" if request.raw else "chat"
        results.append(LaneResult(info.id, kind, done.text, done.stats, size))
    return plan, tuple(results)


def compare_messages(
    prompt: str, results: Sequence[LaneResult | None], created: str
) -> tuple[SessionMessage, ...]:
    """A compare turn as a session stores it: the question, then side A's and side B's
    replies, each with its model and stats (``lane`` "a" and "b"); a side that gave
    nothing (None: it failed, or was cancelled before any text) is left out."""
    question = SessionMessage("user", prompt, created=created)
    replies = tuple(
        SessionMessage(
            "assistant", r.text, model_id=r.model_id, stats=r.stats, created=created, lane=lane
        )
        for lane, r in zip(LANES, results, strict=False)
        if r is not None
    )
    return (question, *replies)
