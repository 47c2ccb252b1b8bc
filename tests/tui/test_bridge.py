"""The bridge's bookkeeping: every request kind has a final event; a dead bridge answers."""

from __future__ import annotations

from workbench.core import protocol
from workbench.core.protocol import (
    BudgetRequest,
    ChatRequest,
    Event,
    PlanRequest,
    PoolChanged,
    PoolSnapshot,
    Request,
    RequestFailed,
    ShutdownRequest,
)
from workbench.tui.bridge import RunnerBridge
from workbench.tui.messages import RequestFailure, RunnerMessage


def all_subclasses(cls: type) -> set[type]:
    found = set()
    for sub in cls.__subclasses__():
        found |= {sub} | all_subclasses(sub)
    return found


class PostOnlyApp:
    """Just enough of an App for the bridge: it records the failures posted to it."""

    def __init__(self) -> None:
        self.posted: list[Event] = []
        self.requests: list[Request | None] = []

    def post_message(self, message: RunnerMessage) -> bool:
        if isinstance(message, RequestFailure):
            self.posted.append(message.failure)
            self.requests.append(message.request)
        return True


def test_every_request_kind_has_a_final_event_or_is_declared_unanswered() -> None:
    kinds = {k for k in all_subclasses(Request) if k.__module__ == protocol.__name__}
    assert kinds  # the protocol defines request kinds
    missing = {k for k in kinds if k.final_event is None} - {ShutdownRequest}
    assert not missing, f"no final event for {sorted(k.__name__ for k in missing)}"


def test_a_budget_request_ends_with_the_pool_change_it_causes() -> None:
    request = BudgetRequest(memory_limit_bytes=1 << 30, max_models=2)
    snapshot = PoolSnapshot((), 1 << 30, 2, 0, 0)
    assert request.is_final(PoolChanged(request.request_id, snapshot))


def test_a_dead_bridge_fails_waiting_requests_and_answers_new_ones_at_once() -> None:
    app = PostOnlyApp()
    bridge = RunnerBridge(app, lambda callback: None)  # type: ignore[arg-type]
    early = bridge.submit(ChatRequest(model_id="demo/m", messages=()))  # runner not built yet
    assert app.posted == []
    bridge.fail_all("the engine failed: no MLX")
    failed = app.posted[0]
    assert isinstance(failed, RequestFailed) and failed.request_id == early.request_id
    assert (failed.message, failed.error_type, failed.model_id) == (
        "the engine failed: no MLX", "WorkbenchError", "demo/m",
    )  # fmt: skip
    assert app.requests[0] is early and bridge.in_flight(early.request_id) is None
    later = bridge.submit(PlanRequest(model_ids=("demo/m",)))
    assert [e.request_id for e in app.posted] == [early.request_id, later.request_id]
    assert isinstance(app.posted[1], RequestFailed)
    bridge.fail_all("again")  # a second failure does not answer anything twice
    assert len(app.posted) == 2
