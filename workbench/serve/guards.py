"""The API key check and the body-size limit, applied before any route runs.

The key is compared in constant time. The body limit is enforced twice: a declared
``Content-Length`` over it is refused at once; a body without one (chunked) is counted as
it arrives and refused the moment it passes the limit — never read whole first.
"""

from __future__ import annotations

import hmac

from fastapi import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workbench.core.units import format_bytes
from workbench.serve.errors import ApiError, TooLarge, error_response


def require_key(request: Request) -> None:
    """A dependency of every route: ``Authorization: Bearer KEY`` when the server has a key."""
    key = request.app.state.serve.settings.api_key
    if not key:
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), key.encode()):
        raise ApiError(401, "invalid or missing API key (send Authorization: Bearer KEY)")


class BodyLimit:
    """ASGI middleware: 413 for a request body over ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        declared = dict(scope.get("headers", ())).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await error_response(self._too_large())(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise self._too_large()
            return message

        await self.app(scope, counted, send)

    def _too_large(self) -> TooLarge:
        return TooLarge(f"request body is over the {format_bytes(self.max_bytes)} limit")
