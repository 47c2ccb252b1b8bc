"""OpenAI chat messages → the runner's ``ChatMessage``s, images through the one pipeline.

Content is a string or a list of blocks; ``text`` blocks are joined, ``image_url`` blocks
(a ``data:`` URI or an http(s) URL — never a path on this machine) go through the same
bounded image pipeline as the app's attachments and are stored content-addressed, so the
engine gets the paths it expects. The model's kind is checked first: an image for a text
model is refused before anything is fetched or loaded. Limits: images per request, bytes
per image (413 over them).
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

from workbench.core.errors import ImageError, InputError, WrongModelKindError
from workbench.core.images.fetch import short, without_credentials
from workbench.core.images.prepare import prepare_image, save_prepared
from workbench.core.models.kinds import can_chat, can_see_images, images_refused
from workbench.core.types import ChatMessage, ModelInfo
from workbench.core.units import format_bytes
from workbench.serve.errors import ApiError, TooLarge
from workbench.serve.schemas import Message
from workbench.serve.settings import ServeSettings
from workbench.serve.urlguard import fetch_image

ROLES = {"developer": "system"}
FETCH_TIMEOUT_S = 10.0


def split_content(message: Message) -> tuple[str, list[str]]:
    """The text of a message and the image URLs it carries, in order."""
    content = message.content
    if content is None or isinstance(content, str):
        return content or "", []
    texts, images = [], []
    for part in content:
        if part.type == "text":
            texts.append(part.text or "")
        elif part.type == "image_url":
            url = part.image_url.url if hasattr(part.image_url, "url") else part.image_url
            if not url:
                raise ApiError(400, "an image_url block has no url")
            images.append(str(url))
        else:
            raise ApiError(400, f"content blocks of type '{part.type}' are not supported")
    return "\n".join(texts), images


def check_kind(info: ModelInfo, messages: list[Message]) -> list[tuple[str, str, list[str]]]:
    """Role, text and image URLs per message; refuses what the model cannot take."""
    if not can_chat(info.kind):
        raise WrongModelKindError(
            f"{info.name} is an embedding model and cannot chat; use /v1/embeddings"
        )
    parsed = [(ROLES.get(m.role, m.role), *split_content(m)) for m in messages]
    if not can_see_images(info.kind) and any(urls for _, _, urls in parsed):
        raise images_refused(info)
    return parsed


def to_chat_messages(
    parsed: list[tuple[str, str, list[str]]], settings: ServeSettings, folder: Path
) -> tuple[ChatMessage, ...]:
    """Prepare every image (blocking: run in a thread) and build the runner's messages."""
    count = sum(len(urls) for _, _, urls in parsed)
    if count > settings.max_images:
        raise TooLarge(f"{count} images is over the limit of {settings.max_images} per request")
    cache: dict[str, str] = {}
    out = []
    for role, text, urls in parsed:
        paths = tuple(_prepared(url, settings, folder, cache) for url in urls)
        if not text.strip() and not paths:
            if role == "assistant":
                continue  # e.g. an assistant turn that only called a tool
            raise InputError(f"a {role} message has no content")
        out.append(ChatMessage(role, text, images=paths))
    return tuple(out)


def _prepared(url: str, settings: ServeSettings, folder: Path, cache: dict[str, str]) -> str:
    key = hashlib.sha256(url.encode()).hexdigest()
    if key not in cache:
        source = _as_data_uri(url, settings)
        try:
            prepared = prepare_image(
                source, settings.image_max_side, max_bytes=settings.max_image_bytes
            )
        except ImageError as exc:
            if source is not url:  # name the URL, not the data URI it was fetched into
                raise ImageError(str(exc).replace("data URI", _label(url), 1)) from None
            raise
        cache[key] = str(save_prepared(prepared, folder))
    return cache[key]


def _as_data_uri(url: str, settings: ServeSettings) -> str:
    """A data URI as given (size checked first), or an http(s) URL fetched under the guard."""
    lowered = url[:8].lower()
    if lowered.startswith("data:"):
        payload = url.partition(",")[2]
        if len(payload) // 4 * 3 > settings.max_image_bytes + 3:
            raise TooLarge(
                f"data URI image is over the {format_bytes(settings.max_image_bytes)} limit"
            )
        return url
    if not lowered.startswith(("http://", "https://")):
        raise ApiError(400, "image_url must be a data: URI or an http(s) URL")
    data = fetch_image(
        url, settings.max_image_bytes, FETCH_TIMEOUT_S, settings.allow_private_image_urls
    )
    return "data:;base64," + base64.b64encode(data).decode()


def _label(url: str) -> str:
    return short(without_credentials(url))
