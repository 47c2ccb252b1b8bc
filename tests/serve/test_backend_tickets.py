"""The server's tickets are thin adapters over runner handles: a request's events reach the
asyncio loop in order and end with its final event, a failure raises its real class, and
pool events still reach every subscriber (fake models, no MLX)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from pool_fakes import MB, FakeLoader, FakeMemory, fake_info

from workbench.core.errors import WrongModelKindError
from workbench.core.pool.budget import Budget
from workbench.core.protocol import (
    ChatDone,
    ChatRequest,
    EmbedRequest,
    ModelLoaded,
    PlanReady,
    PlanRequest,
    PoolChanged,
    TokenEvent,
)
from workbench.core.runner.mlx_hooks import MlxHooks
from workbench.core.types import ChatMessage, ModelKind
from workbench.serve.backend import Backend

HELLO = (ChatMessage("user", "hello"),)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path))


def make_backend() -> Backend:
    memory = FakeMemory()
    sizes = {"chat": 100 * MB, "emb": 50 * MB}
    catalog = [fake_info("chat", sizes["chat"]), fake_info("emb", 50 * MB, ModelKind.EMBEDDINGS)]
    hooks = MlxHooks(start=lambda: ("b", "cpu"), active_memory=memory, release=lambda: None)
    return Backend(
        catalog=catalog, budget=Budget(500 * MB, 3), loader=FakeLoader(sizes, memory),
        mlx_hooks=hooks,
    )  # fmt: skip


def test_a_ticket_reads_its_events_in_order_until_the_final_one() -> None:
    async def scenario() -> list[object]:
        backend = make_backend()
        await backend.start()
        pool_events = backend.subscribe()
        try:
            ticket = await backend.open(ChatRequest(model_id="chat", messages=HELLO))
            events = []
            while not ticket.finished:
                events.append(await ticket.next())
            ticket.close()
            seen = [pool_events.get_nowait() for _ in range(pool_events.qsize())]
            return [events, seen]
        finally:
            await backend.close()

    events, seen = asyncio.run(scenario())
    assert isinstance(events[-1], ChatDone) and events[-1].text == "Hello from CHAT"
    assert "".join(e.text for e in events if isinstance(e, TokenEvent)) == "Hello from CHAT"
    assert any(isinstance(e, ModelLoaded) for e in seen)  # subscribers see the pool
    assert any(isinstance(e, PoolChanged) for e in seen)


def test_a_failure_raises_its_real_class_and_bookkeeping_is_answered() -> None:
    async def scenario() -> object:
        backend = make_backend()
        await backend.start()
        try:
            with pytest.raises(WrongModelKindError, match="not an embedding model"):
                await backend.call(EmbedRequest(model_id="chat", texts=("x",)))
            return await backend.call(PlanRequest(model_ids=("chat",)))
        finally:
            await backend.close()

    plan = asyncio.run(scenario())
    assert isinstance(plan, PlanReady) and plan.plans[0].fits
