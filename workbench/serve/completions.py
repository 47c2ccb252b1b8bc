"""``POST /v1/completions``: plain text continuation, no chat template.

For base models and for callers that build their own prompt. Text models only; one prompt
per request (a list of one is accepted). Streamed chunks are ``text_completion`` objects.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse
from starlette.background import BackgroundTask
from starlette.requests import Request as HttpRequest

from workbench.core.models.kinds import check_completion
from workbench.core.protocol import ChatRequest
from workbench.core.types import ChatMessage
from workbench.serve.chat import sampling_from, stats_extension, usage
from workbench.serve.errors import ApiError
from workbench.serve.generation import Generation
from workbench.serve.schemas import CompletionRequest
from workbench.serve.state import State
from workbench.serve.waiting import first_text_or_error, open_stream

router = APIRouter()


def _prompt(body: CompletionRequest) -> str:
    prompts = [body.prompt] if isinstance(body.prompt, str) else body.prompt
    if len(prompts) != 1:
        raise ApiError(400, "give exactly one prompt per request")
    if not prompts[0]:
        raise ApiError(400, "the prompt is empty")
    if body.echo or body.logprobs or body.suffix:
        raise ApiError(400, "echo, logprobs and suffix are not supported by this server")
    return prompts[0]


@router.post("/v1/completions")
async def completions(body: CompletionRequest, http: HttpRequest, state: State):
    prompt = _prompt(body)
    sampling = sampling_from(body, state.settings.default_max_tokens, None)
    info = state.resolve(body.model)
    request = ChatRequest(
        model_id=info.id, messages=(ChatMessage("user", prompt),), sampling=sampling, raw=True
    )
    check_completion(info, request.messages)
    generation = Generation(state.backend, request, body.stops())
    reply_id = f"cmpl-{request.request_id}-{int(time.time() * 1000)}"
    if body.stream:
        queued = await open_stream(generation, state, http)
        include_usage = bool(body.stream_options and body.stream_options.include_usage)
        return EventSourceResponse(
            _chunks(generation, reply_id, info.id, include_usage, queued),
            ping=state.settings.ping_seconds,
            background=BackgroundTask(generation.close),
        )
    await generation.start(http)
    text = await generation.text(http)
    stats = generation.done.stats if generation.done else None
    choice = {"index": 0, "text": text, "finish_reason": generation.finish_reason, "logprobs": None}
    return JSONResponse(_body(reply_id, info.id, [choice], usage=usage(stats),
                              mlxbench_stats=stats_extension(stats)))  # fmt: skip


def _body(reply_id: str, model: str, choices: list, **extra: object) -> dict:
    return {
        "id": reply_id,
        "object": "text_completion",
        "created": int(time.time()),
        "model": model,
        "choices": choices,
        **extra,
    }


async def _chunks(
    generation: Generation, reply_id: str, model: str, include_usage: bool, queued: bool
) -> AsyncIterator[str]:
    if queued and (failure := await first_text_or_error(generation)) is not None:
        yield failure
        return
    async for piece in generation.pieces():
        choice = {"index": 0, "text": piece, "finish_reason": None, "logprobs": None}
        yield json.dumps(_body(reply_id, model, [choice]), ensure_ascii=False)
    stats = generation.done.stats if generation.done else None
    final = {"index": 0, "text": "", "finish_reason": generation.finish_reason, "logprobs": None}
    yield json.dumps(_body(reply_id, model, [final], mlxbench_stats=stats_extension(stats)))
    if include_usage:
        yield json.dumps(_body(reply_id, model, [], usage=usage(stats)))
    yield "[DONE]"
