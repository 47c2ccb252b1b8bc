"""Fetching an image URL a request names, without letting a caller reach inside our network.

A URL in a request is chosen by whoever sends it. Fetched naively, ``http://169.254.169.254/``
reads a cloud metadata service, ``http://127.0.0.1:…`` a local admin page. Checking the name
before fetching is not enough (DNS can answer differently a moment later, and redirects can
point anywhere), so the check sits where the connection is made: httpcore's network backend
resolves the host, refuses if any address is loopback, private, link-local or otherwise not
global, and connects to the checked address itself. Every redirect hop goes through it too.
TLS still verifies the certificate against the URL's host name. httpx has no option for a
network backend, so ``GuardedTransport`` is an httpx transport of its own (httpx's public
``BaseTransport``) over an httpcore ``ConnectionPool`` built with that backend — the
request and response handed across as httpx's own transport hands them.

The download itself (byte cap, deadline, the checks on the answer) is the app's
``fetch_url``, handed this transport.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from collections.abc import Iterable, Iterator
from typing import Any

import httpcore
import httpx

from workbench.core.images.fetch import fetch_url

REFUSAL_HINT = (
    "the server does not fetch such URLs (start it with --allow-private-image-urls to allow them)"
)


class RefusedAddress(httpcore.ConnectError):
    """The host resolves to an address the server will not connect to (the message says
    which, and how a server's owner can allow it)."""


def is_public(address: str) -> bool:
    """Whether ``address`` is a global unicast address (not loopback, private, link-local…)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    mapped = getattr(ip, "ipv4_mapped", None)
    if mapped is not None:
        ip = mapped
    return ip.is_global and not ip.is_multicast


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to public addresses, to the very address it checked."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Any = None,
    ) -> httpcore.NetworkStream:
        try:
            found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from None
        addresses = [str(info[4][0]) for info in found]
        for address in addresses:
            if not is_public(address):
                raise RefusedAddress(
                    f"{host} resolves to {address}, a loopback, private or link-local "
                    f"address; {REFUSAL_HINT}"
                )
        return super().connect_tcp(addresses[0], port, timeout, local_address, socket_options)


@contextlib.contextmanager
def _as_httpx_errors() -> Iterator[None]:
    """httpcore's exceptions as httpx's classes of the same name (``ConnectError``…)."""
    try:
        yield
    except httpcore.TimeoutException as exc:
        raise _httpx_kind(exc, httpx.TimeoutException)(str(exc)) from exc
    except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol) as exc:
        raise _httpx_kind(exc, httpx.TransportError)(str(exc)) from exc


def _httpx_kind(exc: Exception, fallback: type[httpx.TransportError]) -> type[Any]:
    for kind in type(exc).__mro__:
        found = getattr(httpx, kind.__name__, None)
        if isinstance(found, type) and issubclass(found, httpx.TransportError):
            return found
    return fallback


class _Body(httpx.SyncByteStream):
    """The response body as httpx reads it, errors translated."""

    def __init__(self, stream: Iterable[bytes]) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._stream

    def close(self) -> None:
        closing = getattr(self._stream, "close", None)
        if closing is not None:
            closing()


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport whose connections go through ``GuardedBackend``."""

    def __init__(self, retries: int = 1) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            retries=retries,
            network_backend=GuardedBackend(),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        target = httpcore.URL(
            scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
        )
        forwarded = httpcore.Request(
            request.method,
            target,
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _as_httpx_errors():
            answer = self._pool.handle_request(forwarded)
        return httpx.Response(
            answer.status,
            headers=answer.headers,
            stream=_Body(answer.stream),  # type: ignore[arg-type]  # sync pool: an iterable
            extensions=answer.extensions,
        )

    def close(self) -> None:
        self._pool.close()


def fetch_image(url: str, max_bytes: int, timeout: float, allow_private: bool) -> bytes:
    """The image at ``url``: ``ImageError`` with a one-line reason (``ImageTooLarge`` over
    the cap); a private address is refused unless ``allow_private``."""
    transport = None if allow_private else GuardedTransport()
    return fetch_url(url, max_bytes, timeout, transport).data
