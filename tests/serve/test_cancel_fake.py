"""Disconnect and queueing, exactly, over a fake model (no MLX): the token step is ours.

The fake model yields two tokens freely, then waits for the test's permission before each
next one — unless its request is cancelled. A client that reads two tokens and goes away
must therefore leave the model with exactly two tokens produced, its stream ended as
cancelled, its lease returned; and the next request must be served.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import openai
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from pool_fakes import MB, FakeEngine, FakeLoader, FakeMemory, fake_info

from workbench.core.pool.budget import Budget
from workbench.core.runner.mlx_hooks import MlxHooks
from workbench.serve.app import create_app
from workbench.serve.server import ServerThread
from workbench.serve.settings import ServeSettings

LONG_REPLY = " ".join(f"word{i}" for i in range(40))
HELLO = [{"role": "user", "content": "hello"}]


class CountingEngine(FakeEngine):
    """Records every token it yields and how its last stream ended."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.reply = LONG_REPLY
        self.free_tokens = 2
        self.step.clear()
        self.yielded = 0
        self.ended = threading.Event()
        self.finish = ""
        self.streams = 0

    def _stream(self, cancel, sampling):  # type: ignore[override]
        self.yielded, self.finish = 0, ""
        self.streams += 1
        self.ended.clear()
        for chunk in super()._stream(cancel, sampling):
            if chunk.stats is not None:
                self.finish = chunk.stats.finish_reason
                self.ended.set()
            elif chunk.text:
                self.yielded += 1
            yield chunk


class CountingLoader(FakeLoader):
    def __call__(self, info, progress=None) -> FakeEngine:
        engine = CountingEngine(info, self.sizes[info.id], self.memory)
        self.memory.add(engine.size)
        self.engines[info.id] = engine
        return engine


@pytest.fixture(scope="module")
def fake_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FakeLoader]]:
    home = tmp_path_factory.mktemp("fake-serve")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLXBENCH_HOME", str(home))
        memory = FakeMemory()
        loader = CountingLoader({"chat": 100 * MB}, memory)
        hooks = MlxHooks(start=lambda: ("test BLAS", "cpu"), active_memory=memory,
                         release=lambda: None)  # fmt: skip
        settings = ServeSettings(port=0, max_body_bytes=1024 * 1024)
        app = create_app(settings, catalog=[fake_info("chat", 100 * MB)],
                         budget=Budget(1000 * MB, 2), loader=loader, mlx_hooks=hooks)  # fmt: skip
        server = ServerThread(app, settings)
        server.start()
        try:
            yield server.url, loader
        finally:
            server.stop()


def leases(url: str) -> int:
    entries = httpx.get(f"{url}/v1/admin/models/status").json()["entries"]
    return sum(e["leases"] for e in entries)


def test_a_disconnect_cancels_within_the_token_step(fake_server) -> None:
    url, loader = fake_server
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    stream = client.chat.completions.create(model="chat", messages=HELLO, stream=True)
    chunks = [next(stream) for _ in range(3)]  # the role, then the two free tokens
    assert [c.choices[0].delta.content for c in chunks[1:]] == ["word0", " word1"]
    stream.close()
    engine = loader.engines["chat"]
    assert engine.ended.wait(5), "the generation did not end after the client left"
    assert (engine.yielded, engine.finish) == (2, "cancelled")
    for _ in range(50):
        if leases(url) == 0:
            break
        time.sleep(0.05)
    assert leases(url) == 0

    engine.step.set()  # now every token may come at once
    try:
        reply = client.chat.completions.create(model="chat", messages=HELLO, max_tokens=5)
    finally:
        engine.step.clear()
    assert reply.choices[0].message.content == "word0 word1 word2 word3 word4"
    assert reply.choices[0].finish_reason == "stop"


def test_queued_clients_are_all_answered_in_order(fake_server) -> None:
    url, loader = fake_server
    engine = loader.engines.get("chat")
    if engine is None:  # run alone: load it first
        httpx.post(f"{url}/v1/admin/models/load/chat", timeout=10)
        engine = loader.engines["chat"]
    engine.step.set()
    try:

        def one(n: int) -> str:
            client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
            reply = client.chat.completions.create(model="chat", messages=HELLO, max_tokens=n)
            return reply.choices[0].message.content

        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(one, range(1, 7)))
    finally:
        engine.step.clear()
    assert answers == [" ".join(f"word{i}" for i in range(n)) for n in range(1, 7)]


def test_the_remote_runner_cancels_a_reply_still_waiting_in_the_queue(fake_server) -> None:
    import queue

    from workbench.core.protocol import ChatDone, ChatRequest
    from workbench.core.types import ChatMessage
    from workbench.serve.remote import RemoteRunner

    url, loader = fake_server
    httpx.post(f"{url}/v1/admin/models/load/chat", timeout=10)
    engine = loader.engines["chat"]
    client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)
    streams = engine.streams
    blocker = client.chat.completions.create(model="chat", messages=HELLO, stream=True)
    next(blocker)  # the runner is now busy with it, waiting for permission per token
    events: queue.Queue = queue.Queue()
    remote = RemoteRunner(events.put, url)
    waiting = ChatRequest(model_id="chat", messages=(ChatMessage("user", "hi"),))
    remote.submit(waiting)
    time.sleep(0.5)  # queued behind the blocker: not a byte of it sent yet
    waiting.cancel.set()
    done = events.get(timeout=5)
    assert isinstance(done, ChatDone) and done.request_id == waiting.request_id
    assert (done.text, done.stats.finish_reason) == ("", "cancelled")
    blocker.close()
    assert engine.ended.wait(5)
    engine.step.set()
    try:
        reply = client.chat.completions.create(model="chat", messages=HELLO, max_tokens=2)
    finally:
        engine.step.clear()
        remote.stop()
    assert reply.choices[0].message.content == "word0 word1"
    # the server noticed the cancelled client while it was queued: it never generated
    assert engine.streams == streams + 2


def test_a_chunked_body_over_the_limit_is_refused_as_it_arrives(fake_server) -> None:
    url, _ = fake_server

    def body() -> Iterator[bytes]:  # no Content-Length: the server must count
        yield b'{"model": "chat", "messages": [{"role": "user", "content": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}]}'

    response = httpx.post(f"{url}/v1/chat/completions", content=body(),
                          headers={"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == 413
    assert response.json()["error"]["message"] == "request body is over the 1.0 MB limit"
