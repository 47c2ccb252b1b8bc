"""``POST /v1/embeddings``: one unit vector per input, as floats or base64 float32.

Base64 is what the official client asks for by default: the little-endian float32 bytes of
each vector, which it decodes back to the same numbers. Token arrays as input are refused
(the server tokenizes itself), as is a ``dimensions`` other than the model's.
"""

from __future__ import annotations

import base64

import numpy as np
from fastapi import APIRouter

from workbench.core.errors import InputError
from workbench.core.models.kinds import check_embed
from workbench.core.protocol import EmbeddingsReady, EmbedRequest
from workbench.serve.errors import ApiError
from workbench.serve.schemas import EmbeddingRequest
from workbench.serve.state import State

router = APIRouter()
MAX_INPUTS = 2048


def _texts(body: EmbeddingRequest) -> list[str]:
    texts = [body.input] if isinstance(body.input, str) else list(body.input)
    if not texts:
        raise InputError("nothing to embed: input is empty")
    if not all(isinstance(t, str) for t in texts):
        raise ApiError(400, "token arrays are not supported as input; send text")
    if len(texts) > MAX_INPUTS:
        raise ApiError(413, f"{len(texts)} inputs is over the limit of {MAX_INPUTS}")
    return texts


def _encode(vector: tuple[float, ...], encoding: str) -> list[float] | str:
    if encoding == "base64":
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode()
    return list(vector)


@router.post("/v1/embeddings")
async def embeddings(body: EmbeddingRequest, state: State) -> dict:
    texts = _texts(body)
    info = state.resolve(body.model)
    request = EmbedRequest(model_id=info.id, texts=tuple(texts))
    check_embed(info, request.texts)
    event = await state.backend.call(request)
    assert isinstance(event, EmbeddingsReady)
    result = event.result
    dims = result.dimensions or len(result.vectors[0])
    if body.dimensions is not None and body.dimensions != dims:
        raise ApiError(400, f"{info.name} gives {dims}-dimensional vectors, not {body.dimensions}")
    tokens = sum(result.token_counts)
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": _encode(v, body.encoding_format)}
            for i, v in enumerate(result.vectors)
        ],
        "model": info.id,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        "mlxbench_token_counts": list(result.token_counts),
    }
