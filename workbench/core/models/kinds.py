"""Which kind of model can do what: the one rule the runner, the engines, the CLI and the UI apply.

Text and vision models chat; only vision models see images; only embedding models embed.
Every layer refuses a mismatch *before* anything loads or is stored, with the same words,
so the rule lives here once: the runner's handlers check each request with ``check_chat`` /
``check_completion`` / ``check_embed``, the engines refuse pictures with ``images_refused``,
the commands name the right command with ``require_kind``, and the UI calls ``check_chat``
on a draft before sending it (so the draft and its images simply stay).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from workbench.core.errors import InputError, WrongModelKindError
from workbench.core.types import ChatMessage, ModelInfo, ModelKind

Task = Literal["chat", "embed"]

KIND_WORDS = {
    ModelKind.TEXT: "a text model",
    ModelKind.VISION: "a vision model",
    ModelKind.EMBEDDINGS: "an embedding model",
}
CHAT_KINDS = (ModelKind.TEXT, ModelKind.VISION)
EMBED_KINDS = (ModelKind.EMBEDDINGS,)


def can_chat(kind: ModelKind) -> bool:
    """Text and vision models chat; embedding models do not."""
    return kind in CHAT_KINDS


def can_see_images(kind: ModelKind) -> bool:
    """Only vision models take images."""
    return kind is ModelKind.VISION


def can_embed(kind: ModelKind) -> bool:
    """Only embedding models embed."""
    return kind in EMBED_KINDS


def images_refused(info: ModelInfo) -> WrongModelKindError:
    """The error for images given to a model that cannot see them."""
    return WrongModelKindError(
        f"{info.name} is {KIND_WORDS[info.kind]} and cannot see images; choose a vision model"
    )


def check_chat(info: ModelInfo, messages: Sequence[ChatMessage]) -> None:
    """Refuse a chat the model cannot take, before it is loaded."""
    if not can_chat(info.kind):
        raise WrongModelKindError(
            f"{info.name} is an embedding model and cannot chat; choose a text or vision model"
        )
    if not messages:
        raise InputError("nothing to send: the conversation has no messages")
    if not can_see_images(info.kind) and any(m.images for m in messages):
        raise images_refused(info)


def check_completion(info: ModelInfo, messages: Sequence[ChatMessage]) -> None:
    """Refuse a raw completion (the last message's text, no template) before any load:
    only text models continue text as is."""
    check_chat(info, messages[-1:])
    if messages[-1].images:
        raise InputError("a raw completion takes text only: remove the images")
    if info.kind is not ModelKind.TEXT:
        raise WrongModelKindError(
            f"{info.name} is {KIND_WORDS[info.kind]}; a raw completion needs a text model"
        )
    if not messages[-1].content:
        raise InputError("nothing to complete: the prompt is empty")


def check_embed(info: ModelInfo, texts: Sequence[str]) -> None:
    """Refuse an embedding request the model cannot take, before it is loaded."""
    if not can_embed(info.kind):
        raise WrongModelKindError(
            f"{info.name} is a {info.kind.value} model, not an embedding model; "
            "choose an embedding model"
        )
    if not texts:
        raise InputError("nothing to embed: no texts given")
    for number, text in enumerate(texts, start=1):
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"nothing to embed: text {number} is empty")


def require_kind(info: ModelInfo, task: Task, hint: str) -> None:
    """``WrongModelKindError`` naming the model's kind and ``hint`` (where to go instead)
    unless ``info`` can do ``task``."""
    if can_chat(info.kind) if task == "chat" else can_embed(info.kind):
        return
    raise WrongModelKindError(f"{info.name} is {KIND_WORDS[info.kind]}; {hint}")
