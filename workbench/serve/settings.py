"""What a running server is allowed to do: where it listens, who may call it, how much.

One frozen object, built from the command line (or by a test), read by every route. The
defaults are the safe ones: loopback only, no private image URLs, bounded bodies and images.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from workbench.core.errors import InputError

MIB = 1024 * 1024
DEFAULT_PORT = 8080
DEFAULT_MAX_BODY_BYTES = 32 * MIB
DEFAULT_MAX_IMAGES = 8
DEFAULT_MAX_IMAGE_BYTES = 20 * MIB
DEFAULT_MAX_TOKENS = 1024
MAX_TOKENS_CEILING = 32768
DEFAULT_PING_SECONDS = 15.0
LOOPBACK_NAMES = ("localhost", "ip6-localhost")


@dataclass(frozen=True)
class ServeSettings:
    """Listening address, key, limits and image rules of one server."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    api_key: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_images: int = DEFAULT_MAX_IMAGES
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES
    image_max_side: int = 2048
    allow_private_image_urls: bool = False
    default_max_tokens: int = DEFAULT_MAX_TOKENS
    image_dir: Path | None = None  # where prepared images are kept (a temporary folder if None)
    ping_seconds: float = DEFAULT_PING_SECONDS  # SSE keep-alive comments while a stream waits


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or name (``127.0.0.1``, ``::1``, ``localhost``)."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_settings(settings: ServeSettings) -> None:
    """Refuse to listen beyond this machine without a key, and nonsensical limits."""
    if not is_loopback(settings.host) and not settings.api_key:
        raise InputError(
            f"refusing to listen on {settings.host} without --api-key: anyone who can reach "
            "it could use the models (give a key, or keep the default 127.0.0.1)"
        )
    if settings.api_key is not None and not settings.api_key.strip():
        raise InputError("--api-key is empty")
    if not 0 <= settings.port <= 65535:
        raise InputError(f"--port must be 0-65535 (got {settings.port})")
    for name in ("max_body_bytes", "max_images", "max_image_bytes", "default_max_tokens"):
        if getattr(settings, name) < 1:
            raise InputError(f"{name.replace('_', '-')} must be at least 1")
    if not settings.ping_seconds > 0:
        raise InputError("ping-seconds must be more than 0")
