"""Chat and plain completions through the official ``openai`` client against a real server."""

from __future__ import annotations

import openai
import pytest

pytestmark = pytest.mark.real

FRANCE = "What is the capital of France?"


@pytest.fixture(scope="module")
def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server.url}/v1", api_key="unused", max_retries=0)


def test_models_lists_the_demo_models_with_their_kinds(client: openai.OpenAI) -> None:
    models = {m.id: m for m in client.models.list()}
    smol = models["demo/SmolLM2-135M-Instruct"]
    assert smol.owned_by == "mlxbench" and smol.model_extra["kind"] == "text"
    assert models["demo/all-MiniLM-L6-v2"].model_extra["kind"] == "embeddings"
    assert any(m.model_extra["kind"] == "vision" for m in models.values())


def test_streamed_chat_answers_paris_with_a_usage_chunk(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="smollm2",
        messages=[{"role": "user", "content": FRANCE}],
        temperature=0,
        max_tokens=12,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "Paris" in text
    assert chunks[0].choices[0].delta.role == "assistant"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finishes[-1] == "stop" and set(finishes[:-1]) == {None}
    usage = chunks[-1].usage
    assert chunks[-1].choices == [] and usage is not None
    assert usage.prompt_tokens > 10 and usage.completion_tokens >= 3
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens


def test_stop_string_cuts_the_reply_before_it(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="smollm2",
        messages=[{"role": "user", "content": FRANCE}],
        temperature=0,
        max_completion_tokens=12,
        stop=[" Paris"],
    )
    choice = reply.choices[0]
    assert choice.finish_reason == "stop"
    assert choice.message.content.startswith("The capital of France is")
    assert "Paris" not in choice.message.content


def test_max_tokens_ends_with_length(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="smollm2",
        messages=[{"role": "user", "content": "Count from one to fifty in words."}],
        max_tokens=3,
    )
    assert reply.choices[0].finish_reason == "length"
    assert reply.usage.completion_tokens == 3


def test_second_turn_reuses_the_prompt_cache(client: openai.OpenAI) -> None:
    history = [
        {"role": "system", "content": "You answer in one short sentence."},
        {"role": "user", "content": FRANCE},
    ]
    first = client.chat.completions.create(model="smollm2", messages=history, max_tokens=8)
    history += [
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": "And of Italy?"},
    ]
    second = client.chat.completions.create(model="smollm2", messages=history, max_tokens=4)
    assert first.usage.prompt_tokens_details.cached_tokens == 0
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached >= first.usage.prompt_tokens  # the whole first prompt, at least
    assert cached < second.usage.prompt_tokens


def test_seeded_sampling_repeats(client: openai.OpenAI) -> None:
    def ask() -> str:
        reply = client.chat.completions.create(
            model="smollm2",
            messages=[{"role": "user", "content": "Name a colour."}],
            temperature=1.0,
            top_p=0.9,
            seed=7,
            max_tokens=5,
        )
        return reply.choices[0].message.content

    assert ask() == ask()


def test_plain_completion_continues_the_text(client: openai.OpenAI) -> None:
    reply = client.completions.create(
        model="smollm2", prompt="1, 2, 3, 4,", max_tokens=6, temperature=0
    )
    assert reply.choices[0].text.replace(" ", "").startswith("5,6")
    assert reply.usage.completion_tokens == 6


def test_plain_completion_streams(client: openai.OpenAI) -> None:
    stream = client.completions.create(
        model="smollm2", prompt="1, 2, 3, 4,", max_tokens=6, stream=True
    )
    pieces = [c.choices[0].text for c in stream if c.choices]
    assert "".join(pieces).replace(" ", "").startswith("5,6")
