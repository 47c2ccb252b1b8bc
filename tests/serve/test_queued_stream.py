"""A streaming client queued behind another reply: its SSE response begins at once with
keep-alive pings, a client that leaves while queued is cancelled before its request runs,
one that stays gets its whole reply when its turn comes, and a failure at its turn comes
in the stream in the OpenAI error shape (fake models, no MLX)."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import openai
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from pool_fakes import MB, FakeMemory, fake_info
from test_cancel_fake import HELLO, CountingLoader

from workbench.core.pool.budget import Budget
from workbench.core.runner.mlx_hooks import MlxHooks
from workbench.serve.app import create_app
from workbench.serve.server import ServerThread
from workbench.serve.settings import ServeSettings

PING_SECONDS = 0.2


@pytest.fixture
def pinging_server(tmp_path, monkeypatch) -> Iterator[tuple[str, CountingLoader]]:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path))
    memory = FakeMemory()
    loader = CountingLoader({"chat": 100 * MB, "big": 2000 * MB}, memory)
    hooks = MlxHooks(start=lambda: ("test BLAS", "cpu"), active_memory=memory,
                     release=lambda: None)  # fmt: skip
    settings = ServeSettings(port=0, ping_seconds=PING_SECONDS)
    catalog = [fake_info("chat", 100 * MB), fake_info("big", 2000 * MB)]  # big: never fits
    app = create_app(settings, catalog=catalog,
                     budget=Budget(1000 * MB, 2), loader=loader, mlx_hooks=hooks)  # fmt: skip
    with ServerThread(app, settings) as server:
        httpx.post(f"{server.url}/v1/admin/models/load/chat", timeout=10).raise_for_status()
        yield server.url, loader


def test_a_queued_stream_is_pinged_and_leaving_cancels_it_before_it_runs(pinging_server):
    url, loader = pinging_server
    engine = loader.engines["chat"]
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    blocker = client.chat.completions.create(model="chat", messages=HELLO, stream=True)
    next(blocker), next(blocker)  # the role, a token: the runner is busy with this reply
    body = {"model": "chat", "messages": HELLO, "stream": True}
    seen = []
    with httpx.Client(timeout=10) as raw, raw.stream("POST", f"{url}/v1/chat/completions",
                                                     json=body) as response:  # fmt: skip
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line:
                seen.append(line)
            if line.startswith(":"):
                break
    assert seen and seen[-1].startswith(": ping")
    assert not any(line.startswith("data:") for line in seen)  # no token before its turn
    time.sleep(10 * PING_SECONDS)  # the server notices the closed connection meanwhile
    blocker.close()
    assert engine.ended.wait(5) and engine.finish == "cancelled"
    engine.step.set()
    try:
        reply = client.chat.completions.create(model="chat", messages=HELLO, max_tokens=2)
    finally:
        engine.step.clear()
    assert reply.choices[0].message.content == "word0 word1"
    # the blocker and this reply: the client that left while queued never generated
    assert engine.streams == 2


def test_a_queued_stream_that_stays_gets_its_whole_reply(pinging_server):
    url, loader = pinging_server
    engine = loader.engines["chat"]
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    blocker = client.chat.completions.create(model="chat", messages=HELLO, stream=True)
    next(blocker), next(blocker)
    texts: list[str] = []

    def queued() -> None:
        stream = client.chat.completions.create(model="chat", messages=HELLO, max_tokens=3,
                                                stream=True)  # fmt: skip
        texts.append("".join(c.choices[0].delta.content or "" for c in stream if c.choices))

    waiter = threading.Thread(target=queued)
    waiter.start()
    time.sleep(5 * PING_SECONDS)  # it waits, pinged, behind the blocker
    assert waiter.is_alive() and not texts
    engine.step.set()
    try:
        rest = "".join(c.choices[0].delta.content or "" for c in blocker if c.choices)
        waiter.join(10)
    finally:
        engine.step.clear()
    assert rest.endswith("word39")
    assert texts == ["word0 word1 word2"]


def test_a_queued_stream_that_fails_at_its_turn_gets_the_error_in_the_stream(pinging_server):
    url, loader = pinging_server
    engine = loader.engines["chat"]
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    blocker = client.chat.completions.create(model="chat", messages=HELLO, stream=True)
    next(blocker), next(blocker)
    failures: list[openai.APIError] = []

    def queued() -> None:
        stream = client.chat.completions.create(model="big", messages=HELLO, stream=True)
        try:
            list(stream)
        except openai.APIError as failure:
            failures.append(failure)

    waiter = threading.Thread(target=queued)
    waiter.start()
    time.sleep(5 * PING_SECONDS)
    engine.step.set()
    try:
        list(blocker)
        waiter.join(10)
    finally:
        engine.step.clear()
    (failure,) = failures
    assert failure.body["code"] == "insufficient_memory"
    assert failure.message.startswith("cannot load BIG: needs")  # the pool's own words
    assert "big" not in loader.engines  # nothing was loaded
