"""``/v1/embeddings`` gives exactly the vectors ``mlxbench embed`` prints."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import openai
import pytest

pytestmark = pytest.mark.real

TEXTS = ["The cat sat on the mat", "Stock prices fell sharply"]


def cli_vectors() -> dict:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [sys.executable, "-m", "workbench.cli", "embed", "minilm", *TEXTS, "--json"],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout)


def test_embeddings_equal_the_cli_and_count_tokens(server) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    reply = client.embeddings.create(model="minilm", input=TEXTS)  # base64 on the wire
    expected = cli_vectors()
    assert reply.model == expected["model"] == "demo/all-MiniLM-L6-v2"
    got = np.array([d.embedding for d in reply.data], dtype=np.float32)
    want = np.array([d["embedding"] for d in expected["data"]], dtype=np.float32)
    assert got.shape == (2, 384)
    # the same model and code; only float32 summation order may differ between processes
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
    assert reply.usage.prompt_tokens == expected["usage"]["prompt_tokens"] == 14


def test_float_and_base64_encodings_agree(server) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    raw = client.with_raw_response.embeddings.create
    as_float = raw(model="minilm", input="hello world", encoding_format="float").http_response
    as_b64 = raw(model="minilm", input="hello world", encoding_format="base64").http_response
    vector = as_float.json()["data"][0]["embedding"]
    decoded = np.frombuffer(base64.b64decode(as_b64.json()["data"][0]["embedding"]), "<f4")
    np.testing.assert_array_equal(np.array(vector, dtype=np.float32), decoded)
    assert np.linalg.norm(decoded) == pytest.approx(1.0, abs=1e-5)


def test_a_text_model_cannot_embed(server) -> None:
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.BadRequestError, match="not an embedding model"):
        client.embeddings.create(model="smollm2", input="hello")
