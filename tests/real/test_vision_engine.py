"""The vision engine on the tiny random-weight LLaVA, through the real mlx-vlm stack.

The model says nothing sensible, but every step a real vision model takes is real here:
mlx-vlm's loader and processor, the chat template with image markers, image tokens expanded
into the prompt (16 per picture for this model), pixel values through the CLIP tower,
streaming detokenization, the conversation cache.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from vlm_fixture import IMAGE_TOKENS_PER_IMAGE, build_tiny_llava

from workbench.core.engines import ChatEngine, load_engine
from workbench.core.engines.vision import VisionModel, accept_tokenizer_kwargs, load_vision
from workbench.core.errors import ImageError, InputError, UnusableModelError
from workbench.core.images.prepare import prepare_image, save_prepared
from workbench.core.types import (
    ChatMessage,
    Family,
    GenerationChunk,
    ModelInfo,
    ModelKind,
    SamplingSettings,
    TurnStats,
)

pytestmark = pytest.mark.real

GREEDY = SamplingSettings(temperature=0.0, max_tokens=8)
QUESTION = "What is in this picture?"


def tiny_info(folder: Path) -> ModelInfo:
    return ModelInfo(
        id="path:tiny-llava",
        name="tiny-llava",
        path=folder,
        kind=ModelKind.VISION,
        family=Family.OTHER,
        source="path",
    )


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))


@pytest.fixture(scope="module")
def engine(tiny_vlm_dir: Path) -> Iterator[VisionModel]:
    loaded = load_engine(tiny_info(tiny_vlm_dir))
    assert isinstance(loaded, VisionModel)
    yield loaded
    loaded.close()


@pytest.fixture(scope="module")
def pictures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Prepared, stored pictures (as the chat stores attachments): red, blue, a photo."""
    folder = tmp_path_factory.mktemp("pictures")
    store = folder / "store"
    paths = {}
    for name, colour, size in [
        ("red", (230, 20, 20), (64, 48)),
        ("blue", (20, 20, 230), (48, 64)),
        ("wide", (20, 200, 20), (300, 100)),
    ]:
        source = folder / f"{name}.png"
        Image.new("RGB", size, colour).save(source)
        paths[name] = str(save_prepared(prepare_image(str(source)), store))
    return paths


def ask(*images: str, text: str = QUESTION) -> list[ChatMessage]:
    return [ChatMessage("user", text, images=tuple(images))]


def run(
    engine: ChatEngine,
    messages: list[ChatMessage],
    session_id: str | None = None,
    sampling: SamplingSettings = GREEDY,
) -> tuple[list[GenerationChunk], TurnStats]:
    chunks = list(engine.stream_chat(messages, sampling, threading.Event(), session_id))
    stats = chunks[-1].stats
    assert stats is not None, "the last chunk carries the stats"
    assert all(chunk.stats is None for chunk in chunks[:-1])
    return chunks, stats


def text_of(chunks: list[GenerationChunk]) -> str:
    return "".join(chunk.text for chunk in chunks)


def assert_consistent(stats: TurnStats, max_tokens: int) -> None:
    assert stats.finish_reason in ("stop", "length")
    assert 1 <= stats.generation_tokens <= max_tokens
    if stats.finish_reason == "length":
        assert stats.generation_tokens == max_tokens
    assert stats.time_to_first_token_s > 0
    assert stats.prompt_tps > 0 and stats.generation_tps > 0
    assert stats.peak_memory_bytes > 0
    assert stats.cached_prompt_tokens == 0


def test_load_vision_reports_progress_and_is_a_chat_engine(tiny_vlm_dir: Path) -> None:
    said: list[str] = []
    loaded = load_vision(tiny_info(tiny_vlm_dir), said.append)
    try:
        assert isinstance(loaded, ChatEngine)
        assert said, "progress lines reach the caller"
    finally:
        loaded.close()
    with pytest.raises(UnusableModelError, match="unloaded"):
        loaded.stream_chat(ask(), GREEDY, threading.Event())


def test_one_image_streams_tokens(engine: VisionModel, pictures: dict[str, str]) -> None:
    chunks, stats = run(engine, ask(pictures["red"]))
    assert len(chunks) >= 2, "text chunks, then the stats chunk"
    assert text_of(chunks).strip()
    assert_consistent(stats, GREEDY.max_tokens)
    assert stats.prompt_tokens > IMAGE_TOKENS_PER_IMAGE


def test_two_images_add_one_image_worth_of_prompt_tokens(
    engine: VisionModel, pictures: dict[str, str]
) -> None:
    _, one = run(engine, ask(pictures["red"]))
    chunks, two = run(engine, ask(pictures["red"], pictures["blue"]))
    assert text_of(chunks).strip()
    assert_consistent(two, GREEDY.max_tokens)
    assert two.prompt_tokens - one.prompt_tokens == IMAGE_TOKENS_PER_IMAGE


def test_pixels_reach_the_model(engine: VisionModel, pictures: dict[str, str]) -> None:
    # Same prompt, same greedy sampling: only the pixels differ, so must the reply.
    red, _ = run(engine, ask(pictures["red"]))
    red_again, _ = run(engine, ask(pictures["red"]))
    blue, _ = run(engine, ask(pictures["blue"]))
    assert text_of(red) == text_of(red_again)
    assert text_of(red) != text_of(blue)


def test_images_from_earlier_turns_stay_in_the_prompt(
    engine: VisionModel, pictures: dict[str, str]
) -> None:
    first = ask(pictures["red"])
    chunks, one = run(engine, first)
    follow_up = [
        *first,
        ChatMessage("assistant", text_of(chunks)),
        ChatMessage("user", "And this one?", images=(pictures["wide"],)),
    ]
    _, both = run(engine, follow_up)
    assert_consistent(both, GREEDY.max_tokens)
    assert both.prompt_tokens > one.prompt_tokens + IMAGE_TOKENS_PER_IMAGE


def prompt_length(folder: Path, prompt: str) -> int:
    """Tokens in ``prompt`` by an independently loaded tokenizer, each image marker expanded."""
    from transformers import AutoTokenizer

    ids = AutoTokenizer.from_pretrained(str(folder)).encode(prompt, add_special_tokens=False)
    return len(ids) + prompt.count("<image>") * (IMAGE_TOKENS_PER_IMAGE - 1)


def test_prompt_tokens_are_counted_exactly(
    engine: VisionModel, tiny_vlm_dir: Path, pictures: dict[str, str]
) -> None:
    for images in [(), (pictures["red"],), (pictures["red"], pictures["wide"])]:
        _, stats = run(engine, ask(*images))
        assert_consistent(stats, GREEDY.max_tokens)
        parts = [{"type": "image"} for _ in images] + [{"type": "text", "text": QUESTION}]
        prompt = engine.render([{"role": "user", "content": parts}], len(images))
        assert prompt.count("<image>") == len(images)
        if images:
            assert prompt.rindex("<image>") < prompt.index(QUESTION), "pictures, then text"
        assert stats.prompt_tokens == prompt_length(tiny_vlm_dir, prompt)


def test_session_reuses_the_previous_turn(engine: VisionModel, pictures: dict[str, str]) -> None:
    first = ask(pictures["red"])
    chunks, one = run(engine, first, session_id="chat-1")
    second = [*first, ChatMessage("assistant", text_of(chunks)), ChatMessage("user", "More?")]
    _, two = run(engine, second, session_id="chat-1")
    assert two.prompt_tokens > one.prompt_tokens
    assert one.prompt_tokens <= two.cached_prompt_tokens < two.prompt_tokens
    _, cold = run(engine, second)
    assert cold.cached_prompt_tokens == 0 and cold.prompt_tokens == two.prompt_tokens


def test_cancel_between_tokens(engine: VisionModel, pictures: dict[str, str]) -> None:
    cancel = threading.Event()
    sampling = SamplingSettings(temperature=0.0, max_tokens=64)
    chunks: list[GenerationChunk] = []
    for chunk in engine.stream_chat(ask(pictures["red"]), sampling, cancel):
        chunks.append(chunk)
        cancel.set()
    stats = chunks[-1].stats
    assert stats is not None
    assert stats.finish_reason == "cancelled"
    assert stats.generation_tokens < sampling.max_tokens


def test_a_cancelled_turn_does_not_poison_the_conversation_cache(
    engine: VisionModel, pictures: dict[str, str]
) -> None:
    first = ask(pictures["red"])
    reply, _ = run(engine, first, session_id="chat-cancel")
    # A different second turn is cut short after reusing part of the first turn's cache...
    cancel = threading.Event()
    for _chunk in engine.stream_chat(ask(pictures["red"], text="Describe it"), GREEDY, cancel,
                                     "chat-cancel"):  # fmt: skip
        cancel.set()
    # ...then the conversation goes on from the first turn: the reply must be the one a
    # fresh, cache-less generation gives.
    follow = [*first, ChatMessage("assistant", text_of(reply)), ChatMessage("user", "More?")]
    warm, warm_stats = run(engine, follow, session_id="chat-cancel")
    cold, _ = run(engine, follow)
    assert text_of(warm) == text_of(cold)
    assert warm_stats.cached_prompt_tokens == 0


def test_cancel_before_start_does_no_work(engine: VisionModel, pictures: dict[str, str]) -> None:
    cancel = threading.Event()
    cancel.set()
    chunks = list(engine.stream_chat(ask(pictures["red"]), GREEDY, cancel))
    assert len(chunks) == 1 and chunks[0].stats is not None
    assert chunks[0].stats.finish_reason == "cancelled"
    assert chunks[0].stats.generation_tokens == 0


def test_missing_image_fails_before_any_work(engine: VisionModel, tmp_path: Path) -> None:
    gone = str(tmp_path / "gone.png")
    with pytest.raises(ImageError, match="no such file"):
        engine.stream_chat(ask(gone), GREEDY, threading.Event())


def test_images_on_an_assistant_turn_are_refused(
    engine: VisionModel, pictures: dict[str, str]
) -> None:
    messages = [
        ChatMessage("user", "hi"),
        ChatMessage("assistant", "look", images=(pictures["red"],)),
        ChatMessage("user", "well?"),
    ]
    with pytest.raises(InputError, match="only be attached to user messages"):
        engine.stream_chat(messages, GREEDY, threading.Event())


def test_bad_sampling_is_refused(engine: VisionModel, pictures: dict[str, str]) -> None:
    with pytest.raises(InputError, match="max_tokens"):
        engine.stream_chat(ask(pictures["red"]), SamplingSettings(max_tokens=0), threading.Event())


def test_the_padding_bug_exists_and_is_handled(
    tiny_vlm_dir: Path, pictures: dict[str, str]
) -> None:
    """mlx-vlm + transformers 5 cannot process a LLaVA image without our fix.

    If this starts failing because plain mlx-vlm works, the workaround can go.
    """
    from mlx_vlm import apply_chat_template, load, stream_generate

    model, processor = load(str(tiny_vlm_dir))
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "hi"}]}]
    prompt = apply_chat_template(processor, model.config, messages, num_images=1)
    image = Image.open(pictures["red"])
    with pytest.raises(ValueError, match="padding"):
        next(iter(stream_generate(model, processor, prompt, image=[image], max_tokens=2)))
    assert accept_tokenizer_kwargs(processor)
    first = next(iter(stream_generate(model, processor, prompt, image=[image], max_tokens=2)))
    assert first.prompt_tokens == prompt_length(tiny_vlm_dir, prompt)
    assert not accept_tokenizer_kwargs(processor.tokenizer), "no image processor: untouched"


def test_the_tiny_model_builds_the_same_from_the_gguf_alone(
    tiny_vlm_dir: Path, tmp_path: Path
) -> None:
    rebuilt = build_tiny_llava(tmp_path / "again")  # tokenizer straight from the GGUF header
    for name in ("tokenizer.json", "model.safetensors", "config.json"):
        assert (rebuilt / name).read_bytes() == (tiny_vlm_dir / name).read_bytes(), name
