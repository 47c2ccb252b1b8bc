"""HTTP plumbing of the remote runner: errors, the model list, SSE lines, shuttable sockets.

Split from ``remote.py`` so the runner reads on its own. Imports httpx only.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpcore
import httpx

from workbench.core.errors import RemoteError, WorkbenchError
from workbench.core.types import Family, ModelInfo, ModelKind

TIMEOUT = httpx.Timeout(30.0, read=None)  # a reply may wait behind others in the queue


def http_client(base_url: str, api_key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    return httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=TIMEOUT)


def raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    response.read()
    try:
        error = response.json()["error"]
        raise RemoteError(error["message"], error.get("code") or "")
    except (ValueError, KeyError, TypeError):
        raise RemoteError(f"server answered {response.status_code}") from None


def fetch_catalog(base_url: str, api_key: str | None = None) -> list[ModelInfo]:
    """The server's models as ``ModelInfo`` (``WorkbenchError`` if it cannot be reached)."""
    try:
        with http_client(base_url, api_key) as client:
            response = client.get("/v1/models", timeout=15)
            raise_for(response)
            data = response.json()["data"]
    except httpx.HTTPError as exc:
        raise WorkbenchError(f"cannot reach {base_url}: {exc}") from None
    return [_model_info(base_url, item) for item in data]


def _model_info(base_url: str, item: dict[str, Any]) -> ModelInfo:
    return ModelInfo(
        id=item["id"],
        name=item.get("name") or item["id"],
        path=Path(item["id"]),
        kind=ModelKind(item.get("kind", "text")),
        family=Family(item.get("family", "other")),
        source=f"remote {base_url}",
        quantization=item.get("quantization"),
        estimated_bytes=int(item.get("estimated_bytes") or 0),
        size_method=item.get("size_method") or "",
    )


def iter_sse(lines: Iterator[str]) -> Iterator[tuple[str, str]]:
    """``(event, data)`` pairs of a server-sent events stream (comments and pings skipped)."""
    name, data = "message", []
    for line in lines:
        if not line:
            if data:
                yield name, "\n".join(data)
            name, data = "message", []
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field == "event":
                name = value
            elif field == "data":
                data.append(value)


class SocketKeeper:
    """Remembers the sockets a client opens, so another thread can shut them.

    A blocking read cannot be interrupted by closing the client from another thread, but a
    ``shutdown`` of its socket wakes it at once; that is how a reply still waiting for its
    first byte (queued on the server, or its model loading) is cancelled.
    """

    def __init__(self) -> None:
        self.done = threading.Event()
        self._streams: list[Any] = []
        keeper = self

        class Backend(httpcore.SyncBackend):
            def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
                stream = super().connect_tcp(*args, **kwargs)
                keeper._streams.append(stream)
                return stream

        self._backend = Backend()

    def transport(self) -> httpx.HTTPTransport:
        transport = httpx.HTTPTransport()
        transport._pool = httpcore.ConnectionPool(network_backend=self._backend)
        return transport

    def shut_on(self, cancel: threading.Event) -> None:
        """Wait for ``cancel`` (or ``done``); on cancel, shut every socket."""
        while not self.done.is_set():
            if cancel.wait(0.1):
                for stream in self._streams:
                    sock = stream.get_extra_info("socket")
                    with contextlib.suppress(OSError):
                        if sock is not None:
                            sock.shutdown(socket.SHUT_RDWR)
                return
