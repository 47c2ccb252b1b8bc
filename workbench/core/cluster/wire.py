"""The line protocol between the pool's cluster engine and rank 0 of a sharded model.

One JSON object per line over a loopback TCP socket, so both ends stay small and readable:
the engine sends ``hello`` (the shared secret), ``generate``, ``cancel`` and ``shutdown``;
rank 0 answers ``ready`` (or ``error``) once every rank has loaded its shard, then ``token``
lines and one ``done`` per reply. Nothing here imports MLX: both sides use it.
"""

from __future__ import annotations

import json
import socket
from typing import Any

MAX_LINE = 16 * 1024 * 1024  # a prompt of a few hundred thousand token ids still fits
SEND_TIMEOUT = 30.0  # a peer that stops reading for this long is treated as gone


class WireClosed(ConnectionError):
    """The other end closed the connection (or it broke)."""


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    """Write one message as a JSON line."""
    data = json.dumps(message, separators=(",", ":")).encode() + b"\n"
    try:
        sock.settimeout(SEND_TIMEOUT)
        sock.sendall(data)
    except OSError as exc:
        raise WireClosed(str(exc)) from exc


class LineReader:
    """Reads JSON lines from a socket; ``poll`` never blocks, ``read`` waits up to its timeout."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""
        self.closed = False

    def read(self, timeout: float | None) -> dict[str, Any] | None:
        """The next message, or None when none came within ``timeout`` seconds."""
        while b"\n" not in self._buffer:
            if self.closed:
                raise WireClosed("the connection was closed")
            self._sock.settimeout(timeout)
            try:
                chunk = self._sock.recv(65536)
            except (TimeoutError, BlockingIOError):
                return None
            except OSError as exc:
                self.closed = True
                raise WireClosed(str(exc)) from exc
            if not chunk:
                self.closed = True
                continue
            self._buffer += chunk
            if len(self._buffer) > MAX_LINE:
                raise WireClosed("a message was too long")
        line, self._buffer = self._buffer.split(b"\n", 1)
        message: dict[str, Any] = json.loads(line)
        return message

    def poll(self) -> dict[str, Any] | None:
        """A message that has already arrived, else None (never waits)."""
        return self.read(0.0)
