"""``POST /v1/chat/completions``: chat replies, streamed as SSE chunks or answered whole.

Order of checks, so nothing is fetched or loaded for a request that will be refused: the
body (400), the model (404), its kind against the content (400: an image for a text model),
images (400 / 413), then the runner — whose failures before the first token keep their
status (503 when the pool has no room). A stream is ``chat.completion.chunk`` objects, the
first carrying the role, the last the finish reason, then a usage chunk when
``stream_options.include_usage`` is set, then ``[DONE]``.

Prompt-cache reuse across turns works as in the app: the engine keeps a cache per
conversation. A client may name its conversation (``session_id``, an extension); otherwise
the conversation is recognised by its model and first messages, which stay the same from
turn to turn.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse
from starlette.background import BackgroundTask
from starlette.requests import Request as HttpRequest

from workbench.core.protocol import ChatRequest
from workbench.core.types import ChatMessage, SamplingSettings, TurnStats
from workbench.serve.errors import ApiError
from workbench.serve.generation import Generation
from workbench.serve.messages import check_kind, to_chat_messages
from workbench.serve.schemas import ChatCompletionRequest, Sampling
from workbench.serve.state import State
from workbench.serve.waiting import first_text_or_error, open_stream

router = APIRouter()
SESSION_KEY_MESSAGES = 2


def sampling_from(
    body: Sampling, default_max_tokens: int, max_tokens: int | None
) -> SamplingSettings:
    """The runner's sampling settings (``n`` other than 1 is refused)."""
    if body.n != 1:
        raise ApiError(400, "only n=1 is supported")
    chosen = max_tokens or body.max_tokens or default_max_tokens
    return SamplingSettings(body.temperature, body.top_p, chosen, body.seed)


def session_key(model_id: str, messages: tuple[ChatMessage, ...], given: str | None) -> str:
    """The conversation's prompt-cache key: the client's, or one from its opening messages."""
    if given:
        return f"client:{given}"
    opening = [(m.role, m.content, m.images) for m in messages[:SESSION_KEY_MESSAGES]]
    digest = hashlib.sha256(json.dumps([model_id, opening]).encode()).hexdigest()
    return f"http:{digest[:24]}"


def usage(stats: TurnStats | None) -> dict:
    prompt = stats.prompt_tokens if stats else 0
    completion = stats.generation_tokens if stats else 0
    cached = stats.cached_prompt_tokens if stats else 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def stats_extension(stats: TurnStats | None) -> dict:
    """Per-turn stats as the app shows them (an extension field clients may ignore)."""
    return dataclasses.asdict(stats) if stats is not None else {}


@router.post("/v1/chat/completions")
async def chat_completions(body: ChatCompletionRequest, http: HttpRequest, state: State):
    if body.tools:
        raise ApiError(400, "tools are not supported by this server")
    if body.logprobs:
        raise ApiError(400, "logprobs are not supported by this server")
    sampling = sampling_from(body, state.settings.default_max_tokens, body.max_completion_tokens)
    info = state.resolve(body.model)
    parsed = check_kind(info, body.messages)
    messages = await asyncio.to_thread(to_chat_messages, parsed, state.settings, state.image_dir)
    request = ChatRequest(
        model_id=info.id,
        messages=messages,
        sampling=sampling,
        session_id=session_key(info.id, messages, body.session_id),
    )
    generation = Generation(state.backend, request, body.stops())
    reply_id = f"chatcmpl-{request.request_id}-{int(time.time() * 1000)}"
    if body.stream:
        queued = await open_stream(generation, state, http)
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        chunks = stream_chunks(generation, reply_id, info.id, include_usage, queued)
        return EventSourceResponse(chunks, ping=state.settings.ping_seconds,
                                   background=BackgroundTask(generation.close))  # fmt: skip
    await generation.start(http)
    text = await generation.text(http)
    return JSONResponse(whole_reply(generation, reply_id, info.id, text))


def whole_reply(generation: Generation, reply_id: str, model: str, text: str) -> dict:
    stats = generation.done.stats if generation.done else None
    return {
        "id": reply_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": generation.finish_reason,
                "logprobs": None,
            }
        ],
        "usage": usage(stats),
        "mlxbench_stats": stats_extension(stats),
    }


def _chunk(reply_id: str, model: str, created: int, choices: list, **extra: object) -> str:
    body = {
        "id": reply_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": choices,
        **extra,
    }
    return json.dumps(body, ensure_ascii=False)


async def stream_chunks(
    generation: Generation, reply_id: str, model: str, include_usage: bool, queued: bool = False
) -> AsyncIterator[str]:
    """SSE data lines: role, content pieces, finish reason, optional usage, ``[DONE]``
    (``queued``: first wait for the reply to begin — an error line if it fails instead)."""
    if queued and (failure := await first_text_or_error(generation)) is not None:
        yield failure
        return
    created = int(time.time())
    role = {"role": "assistant", "content": ""}
    yield _chunk(reply_id, model, created, [{"index": 0, "delta": role, "finish_reason": None}])
    async for piece in generation.pieces():
        choice = {"index": 0, "delta": {"content": piece}, "finish_reason": None}
        yield _chunk(reply_id, model, created, [choice])
    stats = generation.done.stats if generation.done else None
    final = {"index": 0, "delta": {}, "finish_reason": generation.finish_reason}
    yield _chunk(reply_id, model, created, [final], mlxbench_stats=stats_extension(stats))
    if include_usage:
        yield _chunk(reply_id, model, created, [], usage=usage(stats))
    yield "[DONE]"
