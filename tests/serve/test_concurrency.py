"""A client that goes away cancels its generation; concurrent clients all get answers."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

pytestmark = pytest.mark.real

LONG = [{"role": "user", "content": "Count from 1 to 500, separated by commas."}]
FRANCE = [{"role": "user", "content": "What is the capital of France?"}]


def smol_entry(url: str) -> dict:
    status = httpx.get(f"{url}/v1/admin/models/status").json()
    return next(e for e in status["entries"] if e["name"] == "SmolLM2-135M-Instruct")


def test_disconnect_cancels_the_generation_and_the_model_stays_usable(server) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    stream = client.chat.completions.create(
        model="smollm2", messages=LONG, max_tokens=4000, stream=True
    )
    received = [next(stream) for _ in range(3)]  # role chunk, then two pieces of text
    assert received[1].choices[0].delta.content
    stream.close()  # the client goes away mid-stream
    # 4,000 tokens would take many minutes here; cancelled, the lease is back at once
    deadline = time.monotonic() + 60
    while smol_entry(server.url)["leases"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert smol_entry(server.url)["leases"] == 0
    reply = client.chat.completions.create(model="smollm2", messages=FRANCE, max_tokens=12)
    assert "Paris" in reply.choices[0].message.content


def test_four_concurrent_streams_all_complete_alike(server) -> None:
    def one(_: int) -> tuple[str, str]:
        client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
        stream = client.chat.completions.create(
            model="smollm2", messages=FRANCE, max_tokens=8, stream=True, temperature=0
        )
        chunks = [c for c in stream if c.choices]
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
        return text, chunks[-1].choices[0].finish_reason

    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(one, range(4)))
    assert len(answers) == 4
    assert all(finish in ("stop", "length") for _, finish in answers)
    assert len({text for text, _ in answers}) == 1  # greedy: the same, none interleaved
    assert "Paris" in answers[0][0]
