"""Getting an image's bytes from wherever the user pointed: a file, a URL, a pasted data URI.

Every source is untrusted and may be huge, slow, or not an image at all, so each reader
enforces the same byte cap *before* holding the bytes: a file's size is checked before it is
read, a data URI's encoded length before it is decoded, and a download's declared
``Content-Length`` before the body is read and its actual bytes while they stream in (a
chunked body declares nothing). Downloads have connect and read timeouts, an overall
deadline (so a server trickling one byte every few seconds cannot hold us forever), a few
retries on connection failures only, and must say they are ``image/*``.

Failures raise ``ImageError`` whose one line names the source and the reason
(``ImageTooLarge`` over the cap).
"""

from __future__ import annotations

import base64
import binascii
import re
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from workbench.core.errors import ImageError, ImageTooLarge, one_line
from workbench.core.units import format_bytes

if TYPE_CHECKING:
    import httpx

CONNECT_RETRIES = 2
MAX_REDIRECTS = 5
DEADLINE_FACTOR = 3  # a whole download may take this many read timeouts
LABEL_MAX = 80
USER_AGENT = "mlxbench (image attachment)"


@dataclass(frozen=True)
class RawImage:
    """Undecoded image bytes and how to name their source.

    ``label`` names the source in error messages; ``display`` is what the user is shown.
    """

    data: bytes
    label: str
    display: str


def read_source(source: str, max_bytes: int, timeout: float) -> RawImage:
    """Read ``source`` (path, ``file://`` / ``http(s)://`` URL, or ``data:`` URI) under caps."""
    text = _unquote_pasted(source.strip())
    if not text:
        raise ImageError("no image given (empty path or URL)")
    lowered = text[:8].lower()
    if lowered.startswith("data:"):
        return read_data_uri(text, max_bytes)
    if lowered.startswith(("http://", "https://")):
        return fetch_url(text, max_bytes, timeout)
    if lowered.startswith("file://"):
        text = unquote(urlsplit(text).path)
    return read_file(text, max_bytes)


def short(text: str) -> str:
    """``text`` cut to one readable line for messages (long URLs end with an ellipsis)."""
    line = " ".join(text.split())
    return line if len(line) <= LABEL_MAX else line[: LABEL_MAX - 1] + "…"


def _unquote_pasted(text: str) -> str:
    """Drop one pair of matching quotes, as terminals add around dragged-in paths."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1].strip()
    return text


# --------------------------------------------------------------------------- files


def read_file(path_text: str, max_bytes: int) -> RawImage:
    """Read a local image file, refusing folders, empty files and files over the cap."""
    label = short(path_text)
    path = Path(path_text).expanduser()
    try:
        if path.is_dir():
            raise ImageError(f"{label}: is a folder, not an image file")
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):  # a FIFO would block, /dev/zero never ends
            raise ImageError(f"{label}: not a regular file (a device, FIFO or socket)")
        size = status.st_size
        if size == 0:
            raise ImageError(f"{label}: empty file (0 bytes)")
        if size > max_bytes:
            raise _too_large(label, size, max_bytes)
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise ImageError(f"{label}: no such file") from None
    except PermissionError:
        raise ImageError(f"{label}: permission denied") from None
    except OSError as exc:
        raise ImageError(f"{label}: cannot read ({exc.strerror or exc})") from None
    except ValueError:  # e.g. a NUL character in the path
        raise ImageError(f"{label}: not a valid file path") from None
    if len(data) > max_bytes:  # the file grew while we looked at it
        raise _too_large(label, len(data), max_bytes)
    if not data:
        raise ImageError(f"{label}: empty file (0 bytes)")
    return RawImage(data, label, path_text)


def _too_large(label: str, size: int, max_bytes: int) -> ImageTooLarge:
    return ImageTooLarge(
        f"{label}: {format_bytes(size)} is over the {format_bytes(max_bytes)} limit"
    )


# --------------------------------------------------------------------------- data URIs

_BASE64_JUNK = re.compile(r"\s+")


def read_data_uri(uri: str, max_bytes: int) -> RawImage:
    """Decode ``data:[image/...][;params];base64,<data>`` (whitespace in the data is fine)."""
    label = "data URI"
    header, comma, payload = uri.partition(",")
    if not comma:
        raise ImageError(f"{label}: no ',' between the header and the data")
    params = [part.strip().lower() for part in header[5:].split(";")]
    media_type = params[0]
    if media_type and not media_type.startswith("image/"):
        raise ImageError(f"{label}: media type {media_type} is not an image")
    if "base64" not in params[1:]:
        raise ImageError(f"{label}: not base64-encoded (expected ';base64,' before the data)")
    if "%" in payload:  # percent-encoded, as some browsers copy it
        payload = unquote(payload)
    payload = _BASE64_JUNK.sub("", payload)
    if len(payload) // 4 * 3 > max_bytes + 3:
        raise _too_large(label, len(payload) // 4 * 3, max_bytes)
    data = _b64decode(payload, label)
    if not data:
        raise ImageError(f"{label}: no data after the header")
    if len(data) > max_bytes:
        raise _too_large(label, len(data), max_bytes)
    return RawImage(data, label, f"data URI ({len(data)} bytes)")


def _b64decode(payload: str, label: str) -> bytes:
    """Standard or URL-safe base64; missing padding is forgiven, stray characters are not."""
    alphabet = b"-_" if ("-" in payload or "_" in payload) else None
    padded = payload + "=" * (-len(payload) % 4)
    try:
        return base64.b64decode(padded, altchars=alphabet, validate=True)
    except (binascii.Error, ValueError):
        raise ImageError(f"{label}: invalid base64") from None


# --------------------------------------------------------------------------- URLs


def fetch_url(
    url: str, max_bytes: int, timeout: float, transport: httpx.BaseTransport | None = None
) -> RawImage:
    """Download ``url`` as an image under the byte cap, timeouts and an overall deadline.

    ``transport`` replaces httpx's own (a server's, which checks where it connects); proxies
    named by the environment are then not used, as they would connect on our behalf.
    """
    import httpx

    shown = without_credentials(url)
    label = short(shown)
    client = httpx.Client(
        transport=transport or httpx.HTTPTransport(retries=CONNECT_RETRIES),
        trust_env=transport is None,
        timeout=httpx.Timeout(timeout),
        follow_redirects=True,
        max_redirects=MAX_REDIRECTS,
        headers={"User-Agent": USER_AGENT, "Accept": "image/*"},
    )
    try:
        with client, client.stream("GET", url) as response:
            _check_response(response, label, max_bytes)
            data = _read_body(response, label, max_bytes, timeout * DEADLINE_FACTOR)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise ImageError(f"{label}: {_network_reason(exc, timeout)}") from None
    if not data:
        raise ImageError(f"{label}: server sent an empty body")
    return RawImage(data, label, shown)


def without_credentials(url: str) -> str:
    """``url`` with any ``user:password@`` removed, so it can be shown and stored."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]).geturl()


def _check_response(response: httpx.Response, label: str, max_bytes: int) -> None:
    status = response.status_code
    if status >= 400:
        phrase = response.reason_phrase
        raise ImageError(f"{label}: server returned {status}" + (f" {phrase}" if phrase else ""))
    headers = response.headers
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if not content_type.startswith("image/"):
        sent = content_type or "no content type"
        raise ImageError(f"{label}: not an image (server sent {sent})")
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(label, int(declared), max_bytes)


def _read_body(response: httpx.Response, label: str, max_bytes: int, deadline_s: float) -> bytes:
    """The body, counted as it arrives: refuse as soon as it passes the cap or the deadline."""
    started = time.monotonic()
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > max_bytes:
            raise ImageTooLarge(f"{label}: body is over the {format_bytes(max_bytes)} limit")
        if time.monotonic() - started > deadline_s:
            raise ImageError(f"{label}: download took longer than {deadline_s:g} s")
        chunks.append(chunk)
    return b"".join(chunks)


def _network_reason(exc: Exception, timeout: float) -> str:
    import httpx

    if isinstance(exc, httpx.ConnectTimeout):
        return f"could not connect (timed out after {timeout:g} s)"
    if isinstance(exc, httpx.ReadTimeout):
        return f"server stopped sending (no data for {timeout:g} s)"
    if isinstance(exc, httpx.TimeoutException):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, httpx.TooManyRedirects):
        return f"too many redirects (more than {MAX_REDIRECTS})"
    if isinstance(exc, httpx.ConnectError):
        return f"could not connect ({one_line(exc) if str(exc).strip() else 'connection failed'})"
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL):
        return "not a valid http(s) URL"
    return one_line(exc)
