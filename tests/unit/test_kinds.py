"""The kind rule, in its one home: who chats, who sees images, who embeds, in what words."""

from __future__ import annotations

import pytest
from pool_fakes import MB, fake_info

from workbench.core.errors import InputError, WrongModelKindError
from workbench.core.models.kinds import (
    can_chat,
    can_embed,
    can_see_images,
    check_chat,
    check_completion,
    check_embed,
    require_kind,
)
from workbench.core.types import ChatMessage, ModelKind

TEXT = fake_info("text", MB)
VISION = fake_info("vision", MB, ModelKind.VISION)
EMBED = fake_info("emb", MB, ModelKind.EMBEDDINGS)
PICTURE = (ChatMessage("user", "what is this?", images=("cat.png",)),)


def test_who_can_do_what() -> None:
    assert [can_chat(k) for k in ModelKind] == [k is not ModelKind.EMBEDDINGS for k in ModelKind]
    assert [can_see_images(k) for k in ModelKind] == [k is ModelKind.VISION for k in ModelKind]
    assert [can_embed(k) for k in ModelKind] == [k is ModelKind.EMBEDDINGS for k in ModelKind]


def test_chat_refusals_name_the_model_and_the_way_out() -> None:
    with pytest.raises(WrongModelKindError, match="EMB is an embedding model and cannot chat"):
        check_chat(EMBED, (ChatMessage("user", "hi"),))
    with pytest.raises(WrongModelKindError) as refused:
        check_chat(TEXT, PICTURE)
    assert str(refused.value) == "TEXT is a text model and cannot see images; choose a vision model"
    check_chat(VISION, PICTURE)
    with pytest.raises(InputError, match="no messages"):
        check_chat(VISION, ())


def test_a_raw_completion_takes_text_only() -> None:
    with pytest.raises(InputError, match="text only"):
        check_completion(VISION, PICTURE)
    with pytest.raises(WrongModelKindError, match="raw completion needs a text model"):
        check_completion(VISION, (ChatMessage("user", "Once upon a time"),))
    with pytest.raises(InputError, match="prompt is empty"):
        check_completion(TEXT, (ChatMessage("user", ""),))


def test_embed_refusals() -> None:
    with pytest.raises(WrongModelKindError, match="TEXT is a text model, not an embedding model"):
        check_embed(TEXT, ("x",))
    with pytest.raises(InputError, match="text 2 is empty"):
        check_embed(EMBED, ("x", " "))


def test_require_kind_says_the_kind_and_the_hint() -> None:
    require_kind(VISION, "chat", "unused")
    with pytest.raises(WrongModelKindError) as refused:
        require_kind(VISION, "embed", "choose an embedding model")
    assert str(refused.value) == "VISION is a vision model; choose an embedding model"
