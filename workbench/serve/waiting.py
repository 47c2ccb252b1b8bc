"""A streamed reply that must wait its turn: begin the SSE response at once, ping, then stream.

The runner serves one request at a time. A route normally waits for a reply's first text
before answering, so that a failure (503: no room in the pool) keeps its status code. A
stream queued behind another client's reply would then get no byte until its turn — long
enough for proxies and clients to give up on a silent connection. So when the runner is
busy, the SSE response begins at once: sse-starlette sends keep-alive comments
(``: ping``) every ``ping_seconds`` while the request waits, and listens for the client going
away — which closes the stream's generator, cancelling the request before it runs. A
failure that comes when its turn does is sent in the stream in the OpenAI error shape
(``data: {"error": {…}}``; the openai client raises it as an ``APIError``).
"""

from __future__ import annotations

import json

from starlette.requests import Request as HttpRequest

from workbench.serve.errors import ApiError, error_body
from workbench.serve.generation import Generation
from workbench.serve.state import ServerState


def runner_busy(state: ServerState) -> bool:
    """Whether the runner is working on a model now (a request sent now would queue)."""
    return any(e.leases > 0 or e.state == "loading" for e in state.backend.snapshot().entries)


async def open_stream(generation: Generation, state: ServerState, http: HttpRequest) -> bool:
    """Submit a streamed request. When nothing is ahead of it, wait for its first text here
    (failures keep their status); when the runner is busy, return at once. True when the
    wait is left to ``first_text_or_error``, inside the response."""
    if runner_busy(state):
        await generation.submit()
        return True
    await generation.start(http)
    return False


async def first_text_or_error(generation: Generation) -> str | None:
    """Wait for the queued request's first text; an SSE data line with the error if it
    failed instead (None when it did not)."""
    try:
        await generation.start(None)
    except ApiError as failure:
        return json.dumps(error_body(failure), ensure_ascii=False)
    return None
