"""The vision engine's glue without MLX: turns with pictures, system folding, the kwargs fix."""

from __future__ import annotations

import subprocess
import sys
from typing import Any, TypedDict

import pytest

from workbench.core.engines.vision import accept_tokenizer_kwargs, fold_system, vlm_messages
from workbench.core.errors import InputError
from workbench.core.types import ChatMessage


def test_pictures_stay_in_their_turn_before_its_text() -> None:
    messages = [
        ChatMessage("system", "Be brief."),
        ChatMessage("user", "What is this?", images=("a.png", "b.png")),
        ChatMessage("assistant", "Two cats."),
        ChatMessage("user", "And now?", images=("c.png",)),
        ChatMessage("user", "Thanks"),
    ]
    converted, paths = vlm_messages(messages)
    assert paths == ["a.png", "b.png", "c.png"]
    assert converted == [
        {"role": "system", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "image"},
                {"type": "image"},
                {"type": "text", "text": "What is this?"},
            ],
        },
        {"role": "assistant", "content": "Two cats."},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "And now?"}]},
        {"role": "user", "content": "Thanks"},
    ]


def test_a_picture_without_words() -> None:
    converted, paths = vlm_messages([ChatMessage("user", "", images=("a.png",))])
    assert converted == [{"role": "user", "content": [{"type": "image"}]}]
    assert paths == ["a.png"]


@pytest.mark.parametrize("role", ["system", "assistant"])
def test_pictures_only_on_user_turns(role: str) -> None:
    messages = [ChatMessage(role, "x", images=("a.png",)), ChatMessage("user", "hi")]
    with pytest.raises(InputError, match=f"not {role}"):
        vlm_messages(messages)


def test_conversation_is_validated() -> None:
    with pytest.raises(InputError):
        vlm_messages([])
    with pytest.raises(InputError):
        vlm_messages([ChatMessage("robot", "hi")])


def test_fold_system_into_list_content() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What?"}]},
    ]
    assert fold_system(messages) == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Be brief.\n\n"},
                {"type": "image"},
                {"type": "text", "text": "What?"},
            ],
        }
    ]
    assert messages[1]["content"][0] == {"type": "image"}, "the input is not modified"


def test_fold_system_into_text_and_without_user_first() -> None:
    assert fold_system([{"role": "system", "content": "S"}, {"role": "user", "content": "U"}]) == [
        {"role": "user", "content": "S\n\nU"}
    ]
    assert fold_system([{"role": "system", "content": "S"}]) == [{"role": "user", "content": "S"}]


# --------------------------------------------------------------------------- kwargs fix


class StrictKwargs(TypedDict, total=False):
    do_resize: bool
    return_tensors: str


class StrictImageProcessor:
    """Behaves like a transformers 5 image processor: unknown keywords are an error."""

    valid_kwargs = StrictKwargs

    def __call__(self, images: Any, *args: Any, **kwargs: Any) -> Any:
        return self.preprocess(images, *args, **kwargs)

    def preprocess(self, images: Any, **kwargs: Any) -> dict[str, Any]:
        unknown = set(kwargs) - set(self.valid_kwargs.__annotations__)
        if unknown:
            raise TypeError(f"unexpected keyword argument {sorted(unknown)[0]!r}")
        return {"images": images, **kwargs}


class Processor:
    def __init__(self, image_processor: Any) -> None:
        self.image_processor = image_processor


def test_tokenizer_options_no_longer_reach_the_image_processor() -> None:
    image_processor = StrictImageProcessor()
    with pytest.raises(TypeError, match="padding"):
        image_processor(["img"], padding=True)
    assert accept_tokenizer_kwargs(Processor(image_processor))
    assert image_processor(["img"], padding=True, do_resize=False) == {
        "images": ["img"],
        "do_resize": False,
    }


def test_only_that_instance_is_changed() -> None:
    patched, other = StrictImageProcessor(), StrictImageProcessor()
    accept_tokenizer_kwargs(Processor(patched))
    with pytest.raises(TypeError, match="padding"):
        other(["img"], padding=True)


def test_processors_that_accept_padding_are_left_alone() -> None:
    class Lenient(TypedDict, total=False):
        padding: bool
        padding_side: str
        truncation: bool
        max_length: int
        add_special_tokens: bool

    image_processor = StrictImageProcessor()
    image_processor.valid_kwargs = Lenient  # type: ignore[assignment]
    original = image_processor.preprocess
    assert not accept_tokenizer_kwargs(Processor(image_processor))
    assert image_processor.preprocess == original


def test_processors_without_typed_kwargs_are_left_alone() -> None:
    class Custom:
        def preprocess(self, images: Any, **kwargs: Any) -> Any:
            return images

    assert not accept_tokenizer_kwargs(Processor(Custom()))
    assert not accept_tokenizer_kwargs(object())


def test_importing_the_engine_and_images_costs_no_mlx() -> None:
    code = (
        "import sys, workbench.core.engines.vision, workbench.core.images.prepare;"
        "heavy = {'mlx', 'mlx_vlm', 'mlx_lm', 'transformers', 'httpx'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
