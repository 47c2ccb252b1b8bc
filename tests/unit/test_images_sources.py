"""The image pipeline on pasted data URIs and on URLs served by a local test server.

The server listens on 127.0.0.1 only, on a free port, in a daemon thread; every handler is
bounded (a stalled response waits at most a few seconds, or until the test ends) and the
fixture shuts the server down, so nothing outlives the test.
"""

from __future__ import annotations

import base64
import gzip
import http.server
import io
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from workbench.core.errors import ImageError
from workbench.core.images.prepare import prepare_image

STALL_LIMIT_S = 5.0
CAP = 10_000  # a small byte cap keeps the over-the-cap bodies small


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


def png_bytes(colour: tuple[int, int, int] = (255, 0, 0), size: tuple[int, int] = (6, 4)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def refused(source: str, **options: object) -> str:
    with pytest.raises(ImageError) as caught:
        prepare_image(source, **options)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "\n" not in message
    return message


# --------------------------------------------------------------------------- data URIs


def data_uri(data: bytes, header: str = "data:image/png;base64") -> str:
    return f"{header},{base64.b64encode(data).decode()}"


def test_data_uri_is_decoded() -> None:
    data = png_bytes()
    prepared = prepare_image(data_uri(data))
    assert prepared.source == f"data URI ({len(data)} bytes)"
    assert prepared.sent_size == (6, 4)
    assert prepared.image.getpixel((0, 0)) == (255, 0, 0)


def test_data_uri_pasted_with_line_breaks_and_no_padding() -> None:
    encoded = base64.b64encode(png_bytes()).decode().rstrip("=")
    wrapped = "\n".join(encoded[i : i + 60] for i in range(0, len(encoded), 60))
    assert prepare_image(f"data:image/png;base64,{wrapped}\n").sent_size == (6, 4)


def test_url_safe_base64_is_accepted() -> None:
    encoded = base64.urlsafe_b64encode(png_bytes(size=(40, 40))).decode()
    assert prepare_image(f"data:image/png;base64,{encoded}").sent_size == (40, 40)


def test_bad_base64() -> None:
    assert refused("data:image/png;base64,@@@@not base64!!") == "data URI: invalid base64"


def test_data_uri_without_base64_marker() -> None:
    message = refused("data:image/png,iVBORw0KGgo=")
    assert message == "data URI: not base64-encoded (expected ';base64,' before the data)"


def test_data_uri_without_comma() -> None:
    assert refused("data:image/png;base64") == "data URI: no ',' between the header and the data"


def test_data_uri_with_a_non_image_media_type() -> None:
    message = refused(data_uri(b"hello", "data:text/plain;base64"))
    assert message == "data URI: media type text/plain is not an image"


def test_data_uri_that_decodes_to_garbage() -> None:
    message = refused(data_uri(b"definitely not a picture"))
    assert message == "data URI: not an image (cannot identify image file)"


def test_data_uri_over_the_cap_is_refused_before_decoding() -> None:
    message = refused(data_uri(b"\0" * (CAP * 2)), max_bytes=CAP)
    assert message.startswith("data URI: ") and "over the 9.8 KB limit" in message


# --------------------------------------------------------------------------- HTTP

Route = Callable[[http.server.BaseHTTPRequestHandler, threading.Event], None]


def send(handler: http.server.BaseHTTPRequestHandler, status: int, ctype: str, body: bytes) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", ctype)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def chunked(handler: http.server.BaseHTTPRequestHandler, pieces: Iterator[bytes]) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "image/png")
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    for piece in pieces:
        handler.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        handler.wfile.flush()
    handler.wfile.write(b"0\r\n\r\n")


def _declared_too_big(handler: http.server.BaseHTTPRequestHandler, _stop: threading.Event) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "image/png")
    handler.send_header("Content-Length", str(CAP * 100))
    handler.end_headers()
    handler.wfile.write(b"\0" * 1024)  # never the whole promised body


def _stall(handler: http.server.BaseHTTPRequestHandler, stop: threading.Event) -> None:
    handler.send_response(200)
    handler.send_header("Content-Type", "image/png")
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    handler.wfile.flush()
    stop.wait(STALL_LIMIT_S)  # send nothing more until the test ends (bounded)


def _trickle(handler: http.server.BaseHTTPRequestHandler, stop: threading.Event) -> None:
    def pieces() -> Iterator[bytes]:
        for _ in range(int(STALL_LIMIT_S / 0.05)):
            if stop.wait(0.05):
                return
            yield b"\0"

    chunked(handler, pieces())


def _gzip_bomb(handler: http.server.BaseHTTPRequestHandler, _stop: threading.Event) -> None:
    body = gzip.compress(b"\0" * (CAP * 50))
    handler.send_response(200)
    handler.send_header("Content-Type", "image/png")
    handler.send_header("Content-Encoding", "gzip")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def _redirect(handler: http.server.BaseHTTPRequestHandler, _stop: threading.Event) -> None:
    handler.send_response(302)
    handler.send_header("Location", "/ok.png")
    handler.send_header("Content-Length", "0")
    handler.end_headers()


ROUTES: dict[str, Route] = {
    "/ok.png": lambda h, _s: send(h, 200, "image/png", png_bytes((0, 0, 255), (12, 8))),
    "/ok-charset.png": lambda h, _s: send(h, 200, "image/png; charset=binary", png_bytes()),
    "/missing.png": lambda h, _s: send(h, 404, "text/html", b"<h1>Not Found</h1>"),
    "/broken": lambda h, _s: send(h, 500, "text/plain", b"oops"),
    "/page.html": lambda h, _s: send(h, 200, "text/html; charset=utf-8", b"<html></html>"),
    "/no-type": lambda h, _s: send(h, 200, "", png_bytes()),
    "/liar.png": lambda h, _s: send(h, 200, "image/png", b"<html>surprise</html>"),
    "/declared-too-big.png": _declared_too_big,
    "/chunked-too-big.png": lambda h, _s: chunked(h, iter([b"\0" * 4096] * 8)),
    "/gzip-bomb.png": _gzip_bomb,
    "/stall.png": _stall,
    "/trickle.png": _trickle,
    "/redirect": _redirect,
}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stop: threading.Event

    def do_GET(self) -> None:  # the stdlib's naming
        route = ROUTES.get(self.path)
        self.close_connection = True
        try:
            if route is None:
                send(self, 404, "text/plain", b"no such route")
            else:
                route(self, self.stop)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client refused the body, as it should

    def end_headers(self) -> None:
        # Each connection serves one request: say so, or a client reusing the connection
        # (as httpx does to follow a redirect) races the server closing it.
        self.send_header("Connection", "close")
        super().end_headers()

    def log_message(self, format: str, *args: object) -> None:  # silence the stdlib
        pass


@pytest.fixture
def server() -> Iterator[str]:
    """Base URL of a local server on 127.0.0.1 that stops itself when the test ends."""
    stop = threading.Event()
    handler = type("Handler", (_Handler,), {"stop": stop})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=STALL_LIMIT_S)


def test_url_is_downloaded(server: str) -> None:
    url = f"{server}/ok.png"
    prepared = prepare_image(url)
    assert prepared.source == url
    assert prepared.format == "PNG"
    assert prepared.sent_size == (12, 8)
    assert prepared.image.getpixel((0, 0)) == (0, 0, 255)


def test_content_type_parameters_are_fine(server: str) -> None:
    assert prepare_image(f"{server}/ok-charset.png").sent_size == (6, 4)


def test_redirect_is_followed(server: str) -> None:
    assert prepare_image(f"{server}/redirect").sent_size == (12, 8)


def test_404(server: str) -> None:
    url = f"{server}/missing.png"
    assert refused(url) == f"{url}: server returned 404 Not Found"


def test_500(server: str) -> None:
    url = f"{server}/broken"
    assert refused(url) == f"{url}: server returned 500 Internal Server Error"


def test_html_is_refused_by_content_type(server: str) -> None:
    url = f"{server}/page.html"
    assert refused(url) == f"{url}: not an image (server sent text/html)"


def test_missing_content_type_is_refused(server: str) -> None:
    url = f"{server}/no-type"
    assert refused(url) == f"{url}: not an image (server sent no content type)"


def test_body_that_is_not_an_image_despite_its_type(server: str) -> None:
    url = f"{server}/liar.png"
    assert refused(url) == f"{url}: not an image (cannot identify image file)"


def test_declared_length_over_the_cap_is_refused_before_reading(server: str) -> None:
    url = f"{server}/declared-too-big.png"
    message = refused(url, max_bytes=CAP)
    assert message == f"{url}: 976.6 KB is over the 9.8 KB limit"


def test_chunked_body_over_the_cap_is_counted_while_streaming(server: str) -> None:
    url = f"{server}/chunked-too-big.png"
    assert refused(url, max_bytes=CAP) == f"{url}: body is over the 9.8 KB limit"


def test_compressed_body_is_counted_after_inflating(server: str) -> None:
    url = f"{server}/gzip-bomb.png"
    assert refused(url, max_bytes=CAP) == f"{url}: body is over the 9.8 KB limit"


def test_stalled_server_times_out(server: str) -> None:
    url = f"{server}/stall.png"
    assert refused(url, timeout=0.3) == f"{url}: server stopped sending (no data for 0.3 s)"


def test_trickling_server_hits_the_overall_deadline(server: str) -> None:
    url = f"{server}/trickle.png"
    # Each byte arrives well within the read timeout; only the deadline (3 × timeout) stops it.
    assert refused(url, timeout=0.2) == f"{url}: download took longer than 0.6 s"


def test_connection_refused_is_one_line() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nobody listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/x.png"
    assert refused(url, timeout=1.0).startswith(f"{url}: could not connect (")


def test_long_urls_are_shortened_in_messages(server: str) -> None:
    url = f"{server}/missing.png?" + "q" * 200
    message = refused(url)
    assert message.endswith("…: server returned 404 Not Found")
    assert len(message) < 140


def test_credentials_in_a_url_are_never_shown(server: str) -> None:
    with_secret = server.replace("http://", "http://me:s3cret@")
    prepared = prepare_image(f"{with_secret}/ok.png")
    assert prepared.source == f"{server}/ok.png"
    message = refused(f"{with_secret}/missing.png")
    assert "s3cret" not in message and message.startswith(f"{server}/missing.png: ")
