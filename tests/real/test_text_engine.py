"""The text engine on the real SmolLM2-135M-Instruct (imported from its GGUF).

Greedy replies are compared with a plain mlx-lm generation of the same prompt, loaded
separately, so stats and text are checked against an independent count.
"""

from __future__ import annotations

import gc
import json
import threading
from pathlib import Path

import pytest

from workbench.core.engines import ChatEngine, load_engine
from workbench.core.errors import InputError, UnusableModelError, WrongModelKindError
from workbench.core.types import ChatMessage, Family, ModelInfo, ModelKind, SamplingSettings

pytestmark = pytest.mark.real

QUESTION = [ChatMessage("user", "What is the capital of France?")]
GREEDY = SamplingSettings(temperature=0.0, max_tokens=64)


def smollm2_info(path: Path, gguf: Path | None = None) -> ModelInfo:
    return ModelInfo(
        id="demo:SmolLM2-135M-Instruct",
        name="SmolLM2-135M-Instruct",
        path=path,
        kind=ModelKind.TEXT,
        family=Family.LLAMA,
        source="demo",
        gguf_source=gguf,
    )


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def engine(smollm2_dir):
    loaded = load_engine(smollm2_info(smollm2_dir))
    yield loaded
    loaded.close()


@pytest.fixture(scope="module")
def raw(smollm2_dir):
    """SmolLM2 loaded by plain mlx-lm, for reference generations."""
    from mlx_lm import load

    return load(str(smollm2_dir))


def raw_greedy(raw, prompt: list[int], max_tokens: int) -> list[int]:
    """Greedy token ids from mlx-lm's own loop, up to and including the EOS token."""
    import mlx.core as mx
    from mlx_lm.generate import generate_step

    model, tokenizer = raw
    tokens = []
    for token, _ in generate_step(mx.array(prompt), model, max_tokens=max_tokens):
        tokens.append(int(token))
        if token == tokenizer.eos_token_id:
            break
    return tokens


def chat(engine, messages, sampling=GREEDY, session_id=None, cancel=None):
    chunks = list(engine.stream_chat(messages, sampling, cancel or threading.Event(), session_id))
    assert all(chunk.stats is None for chunk in chunks[:-1])
    return "".join(chunk.text for chunk in chunks), chunks[-1].stats


def test_greedy_answer_names_paris_and_matches_plain_mlx_lm(engine, raw):
    text, stats = chat(engine, QUESTION)
    assert "Paris" in text
    reference = raw_greedy(raw, engine.prompt_tokens(QUESTION), GREEDY.max_tokens)
    assert reference[-1] == raw[1].eos_token_id  # it did stop on its own
    assert text == raw[1].decode(reference[:-1])
    assert stats.finish_reason == "stop"
    assert stats.generation_tokens == len(reference)  # the stop token is counted
    assert stats.prompt_tokens == len(engine.prompt_tokens(QUESTION))
    assert stats.cached_prompt_tokens == 0
    assert stats.time_to_first_token_s > 0
    assert stats.generation_tps > 0
    assert stats.prompt_tps > 0
    assert stats.peak_memory_bytes > 50_000_000  # at least the 4-bit weights' working set


def test_engine_is_a_chat_engine_that_stops_on_im_end(engine):
    assert isinstance(engine, ChatEngine)
    im_end = engine.tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert im_end in engine.stop_token_ids


def test_max_tokens_ends_with_length(engine, raw):
    text, stats = chat(engine, QUESTION, SamplingSettings(max_tokens=3))
    reference = raw_greedy(raw, engine.prompt_tokens(QUESTION), 3)
    assert stats.finish_reason == "length"
    assert stats.generation_tokens == 3
    assert text == raw[1].decode(reference)


def test_cancel_after_the_first_chunk_stops_the_stream(engine):
    full, full_stats = chat(engine, QUESTION)
    cancel = threading.Event()
    chunks = []
    for chunk in engine.stream_chat(QUESTION, GREEDY, cancel):
        chunks.append(chunk)
        cancel.set()
    stats = chunks[-1].stats
    text = "".join(chunk.text for chunk in chunks)
    assert len(chunks) == 2  # the first piece of text, then the final chunk
    assert stats.finish_reason == "cancelled"
    assert 1 <= stats.generation_tokens < full_stats.generation_tokens
    assert text and full.startswith(text) and text != full


def test_cancel_before_start_does_no_work(engine):
    cancel = threading.Event()
    cancel.set()
    chunks = list(engine.stream_chat(QUESTION, GREEDY, cancel))
    assert len(chunks) == 1
    assert chunks[0].text == ""
    assert chunks[0].stats.finish_reason == "cancelled"
    assert chunks[0].stats.generation_tokens == 0


def test_second_turn_reuses_the_first_turns_cache_and_answers_the_same(engine):
    first, first_stats = chat(engine, QUESTION, session_id="cache-test")
    second_turn = [
        *QUESTION,
        ChatMessage("assistant", first),
        ChatMessage("user", "And what is the capital of Germany?"),
    ]
    cached, cached_stats = chat(engine, second_turn, session_id="cache-test")
    fresh, fresh_stats = chat(engine, second_turn, session_id="fresh-session")
    assert cached == fresh
    assert "Berlin" in cached
    assert fresh_stats.cached_prompt_tokens == 0
    # Everything of turn one (its prompt and the reply) was reused, only the new turn ran.
    assert cached_stats.cached_prompt_tokens >= first_stats.prompt_tokens + 1
    assert cached_stats.prompt_tokens == fresh_stats.prompt_tokens
    assert cached_stats.prompt_tokens - cached_stats.cached_prompt_tokens < 25
    held = engine.prompt_cache_bytes()
    assert held > 0
    engine.drop_prompt_caches()
    assert engine.prompt_cache_bytes() == 0
    assert chat(engine, second_turn, session_id="cache-test")[1].cached_prompt_tokens == 0


def test_cache_stays_correct_after_a_cancelled_turn(engine):
    cancel = threading.Event()
    partial = ""
    for chunk in engine.stream_chat(QUESTION, GREEDY, cancel, "cancelled-session"):
        partial += chunk.text
        cancel.set()
    follow_up = [
        *QUESTION,
        ChatMessage("assistant", partial),
        ChatMessage("user", "Please finish your sentence."),
    ]
    cached, cached_stats = chat(engine, follow_up, session_id="cancelled-session")
    fresh, _ = chat(engine, follow_up)
    assert cached_stats.cached_prompt_tokens > 0
    assert cached == fresh


def test_same_seed_same_sample_other_seed_other_sample(engine):
    def sample(seed):
        settings = SamplingSettings(temperature=1.0, top_p=0.95, max_tokens=12, seed=seed)
        return chat(engine, QUESTION, settings)[0]

    assert sample(7) == sample(7)
    assert len({sample(1), sample(2), sample(3)}) > 1


@pytest.mark.parametrize(
    ("sampling", "message"),
    [
        (SamplingSettings(max_tokens=0), "max_tokens"),
        (SamplingSettings(temperature=-1), "temperature"),
        (SamplingSettings(top_p=0), "top_p"),
    ],
)
def test_bad_sampling_is_an_input_error_before_any_work(engine, sampling, message):
    with pytest.raises(InputError, match=message):
        engine.stream_chat(QUESTION, sampling, threading.Event())


def test_images_for_a_text_model_are_refused(engine):
    with pytest.raises(WrongModelKindError, match="vision"):
        engine.stream_chat(
            [ChatMessage("user", "What is this?", images=("/tmp/x.png",))],
            GREEDY,
            threading.Event(),
        )


def test_loads_straight_from_the_gguf_and_reports_progress(smollm2_gguf, tmp_path):
    messages = []
    loaded = load_engine(smollm2_info(tmp_path / "unused", gguf=smollm2_gguf), messages.append)
    try:
        assert messages[0] == "importing GGUF…"
        assert "reading weights…" in messages
        assert "Paris" in chat(loaded, QUESTION)[0]
    finally:
        loaded.close()
    with pytest.raises(UnusableModelError, match="unloaded"):
        loaded.stream_chat(QUESTION, GREEDY, threading.Event())


def test_long_conversation_only_processes_the_new_turn(engine):
    questions = [
        "Name a fruit.",
        "Name a colour.",
        "Name an animal.",
        "Name a city.",
        "Name a river.",
        "Name a planet.",
        "Name a metal.",
        "Name a tree.",
        "Name a sport.",
        "Name a flower.",
    ]
    short = SamplingSettings(max_tokens=12)
    messages: list[ChatMessage] = []
    previous_prompt = 0
    for turn, question in enumerate(questions, start=1):
        messages.append(ChatMessage("user", question))
        reply, stats = chat(engine, messages, short, session_id="ten-turns")
        messages.append(ChatMessage("assistant", reply))
        if turn > 1:
            # The whole previous prompt came from the cache; only the new tail was computed.
            assert stats.cached_prompt_tokens >= previous_prompt
            assert stats.prompt_tokens - stats.cached_prompt_tokens <= (
                stats.prompt_tokens - previous_prompt
            )
        previous_prompt = stats.prompt_tokens
    assert stats.prompt_tokens > 150
    assert stats.prompt_tokens - stats.cached_prompt_tokens < 30


class CancelDuringPrompt(threading.Event):
    """Reads as unset at the start of the turn, then as set: a cancel during prompt processing."""

    def __init__(self) -> None:
        super().__init__()
        self.checks = 0

    def is_set(self) -> bool:
        self.checks += 1
        return self.checks > 1


def test_cancel_during_prompt_processing_ends_without_tokens_and_drops_the_cache(engine):
    first, _ = chat(engine, QUESTION, session_id="prefill-cancel")
    follow_up = [*QUESTION, ChatMessage("assistant", first), ChatMessage("user", "Why?")]
    cancel = CancelDuringPrompt()
    chunks = list(engine.stream_chat(follow_up, GREEDY, cancel, "prefill-cancel"))
    assert cancel.checks == 2  # stopped at the first progress check, before any token
    assert [chunk.text for chunk in chunks] == [""]
    assert chunks[0].stats.finish_reason == "cancelled"
    assert chunks[0].stats.generation_tokens == 0
    again, again_stats = chat(engine, follow_up, session_id="prefill-cancel")
    assert again_stats.cached_prompt_tokens == 0  # a half-filled cache is never reused
    assert again == chat(engine, follow_up)[0]


def settled_active() -> int:
    """MLX's active memory once a finished turn's garbage (reference cycles) is collected."""
    import mlx.core as mx

    gc.collect()
    return int(mx.get_active_memory())


def test_prompt_cache_bytes_is_the_memory_mlx_holds_and_dropping_gives_it_back(engine, smollm2_dir):
    config = json.loads((smollm2_dir / "config.json").read_text())
    # keys + values, per layer, per KV head, float32 (the GGUF's scales make activations fp32)
    layers, heads = config["num_hidden_layers"], config["num_key_value_heads"]
    per_token = 2 * layers * heads * config["head_dim"] * 4
    short = SamplingSettings(temperature=0.0, max_tokens=8)  # greedy: no random-key arrays
    engine.drop_prompt_caches()
    empty = settled_active()
    assert engine.prompt_cache_bytes() == 0
    _, stats = chat(engine, QUESTION, short, session_id="one")
    assert stats.prompt_tokens + stats.generation_tokens < 256
    one = engine.prompt_cache_bytes()
    assert one == 256 * per_token  # mlx-lm allocates the cache in 256-token steps
    assert settled_active() - empty == one  # exact: the count is the memory
    chat(engine, QUESTION, short, session_id="two")
    assert engine.prompt_cache_bytes() == 2 * one
    assert settled_active() - empty == 2 * one
    engine.drop_prompt_caches()
    assert engine.prompt_cache_bytes() == 0
    assert settled_active() == empty
    print(f"\nSmolLM2 KV cache: {per_token} bytes per token, {one} per conversation of <256")


class CountingAdapter:
    """The engine's chat adapter, counting the prompts it renders."""

    def __init__(self, adapter):
        self.adapter = adapter
        self.calls: list[int] = []

    def prompt_tokens(self, tokenizer, messages):
        self.calls.append(len(messages))
        return self.adapter.prompt_tokens(tokenizer, messages)

    def __getattr__(self, name):
        return getattr(self.adapter, name)


def test_the_chat_template_runs_once_per_turn_for_the_same_messages(engine, monkeypatch):
    """The runner asks for the prompt's tokens to check memory, then generates: one
    template pass serves both (long conversations make the template slow)."""
    counting = CountingAdapter(engine._adapter)
    monkeypatch.setattr(engine, "_adapter", counting)
    messages = (ChatMessage("user", "Name a colour."),)
    checked = engine.prompt_tokens(messages)
    checked.append(-1)  # a caller changing its list changes nothing kept
    greedy = SamplingSettings(temperature=0, max_tokens=3)
    chunks = list(engine.stream_chat(messages, greedy, threading.Event()))
    assert counting.calls == [1]
    assert engine.prompt_tokens(messages)[-1] != -1
    assert chunks[-1].stats is not None
    assert chunks[-1].stats.prompt_tokens == len(checked) - 1
    engine.prompt_tokens(tuple(list(messages)))  # equal, but another object: computed again
    engine.prompt_tokens(list(messages))  # a list may change between calls: never kept
    engine.prompt_tokens(list(messages))
    assert counting.calls == [1, 1, 1, 1]


def test_the_first_text_is_handed_on_before_mlx_lm_takes_another_step(engine, monkeypatch):
    """Once the caller holds a reply's first text, the engine lets go of the GIL (once)
    before mlx-lm's generator resumes: resumed, it empties MLX's cache while holding the
    GIL, and the thread reading the reply would get the text a step later."""
    import importlib

    from workbench.core.engines import chat as chat_module

    generate = importlib.import_module("mlx_lm.generate")
    original = generate.generate_step
    steps: list[int] = []  # tokens mlx-lm has made so far

    def counted(*args, **kwargs):
        for token, logprobs in original(*args, **kwargs):
            steps.append(token)
            yield token, logprobs

    chunks: list[str] = []
    pauses: list[tuple[int, int]] = []
    monkeypatch.setattr(generate, "generate_step", counted)
    monkeypatch.setattr(
        chat_module, "let_the_reader_take_it", lambda: pauses.append((len(chunks), len(steps)))
    )
    first_text_at: tuple[int, int] | None = None
    for chunk in engine.stream_chat(QUESTION, GREEDY, threading.Event()):
        chunks.append(chunk.text)
        if chunk.text and first_text_at is None:
            first_text_at = (len(chunks), len(steps))
    assert first_text_at is not None and len(steps) > first_text_at[1]  # more steps came
    assert pauses == [first_text_at]  # once, after the first text, before the next step
