"""A real server for the tests of this folder: demo models + the tiny VLM, on 127.0.0.1.

``server`` runs ``create_app`` under uvicorn on a thread, bound to a free port, over the
catalog a user would see (the bundled SmolLM2 and MiniLM) plus the tiny test VLM, with small
limits so the 413 cases stay small. ``keyed_server`` is ``mlxbench serve`` itself in a
subprocess, with an API key, a memory limit too small for SmolLM2 (the 503 case) and
private image URLs allowed. ``image_site`` serves PNGs on 127.0.0.1. All are torn down at
the end of the folder's tests.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "real"))
from serve_inputs import API_KEY, png_bytes
from vlm_fixture import build_tiny_llava

MIB = 1024 * 1024


@dataclass(frozen=True)
class Running:
    url: str
    vlm_dir: Path


@pytest.fixture(scope="package")
def serve_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An isolated user home for the package (config, imported GGUF, sizes)."""
    root = tmp_path_factory.mktemp("serve")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLXBENCH_HOME", str(root / "home"))
        patch.setenv("HF_HUB_CACHE", str(root / "hub"))
        patch.setenv("LMSTUDIO_MODELS_DIR", str(root / "lmstudio"))
        yield root


@pytest.fixture(scope="package")
def vlm_dir(serve_home: Path) -> Path:
    return build_tiny_llava(serve_home / "models" / "tiny-llava")


@pytest.fixture(scope="package")
def server(serve_home: Path, vlm_dir: Path) -> Iterator[Running]:
    from workbench.core.config import load_config
    from workbench.core.models.catalog import scan_catalog
    from workbench.core.models.resolve import model_from_path
    from workbench.core.pool.budget import make_budget
    from workbench.serve.app import create_app
    from workbench.serve.server import ServerThread
    from workbench.serve.settings import ServeSettings

    config = load_config()
    catalog = [*scan_catalog(config), model_from_path(vlm_dir)]
    settings = ServeSettings(
        port=0, max_body_bytes=2 * MIB, max_images=2, max_image_bytes=512 * 1024
    )
    app = create_app(settings, catalog=catalog, budget=make_budget("4GB", 4), config=config)
    thread = ServerThread(app, settings)
    url = thread.start()
    try:
        yield Running(url, vlm_dir)
    finally:
        thread.stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="package")
def keyed_server(serve_home: Path, vlm_dir: Path) -> Iterator[Running]:
    """``mlxbench serve`` in a subprocess: key, 60 MB budget, private image URLs allowed."""
    port = free_port()
    argv = [sys.executable, "-m", "workbench.cli", "serve", "--port", str(port), "--api-key",
            API_KEY, "--memory-limit", "60MB", "--allow-private-image-urls"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    log = open(serve_home / "keyed-server.log", "w+")  # noqa: SIM115
    process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_up(url, process, log)
        yield Running(url, vlm_dir)
    finally:
        process.terminate()
        process.wait(timeout=60)
        log.close()


def _wait_until_up(url: str, process: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            pytest.fail(f"mlxbench serve exited: {log.read()}")
        try:
            httpx.get(f"{url}/v1/models", timeout=2)
            return
        except httpx.HTTPError:
            time.sleep(0.3)
    pytest.fail("mlxbench serve did not start")


class _Images(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = png_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="package")
def image_site() -> Iterator[str]:
    """``http://127.0.0.1:PORT``: every path is a small PNG."""
    site = ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{site.server_address[1]}"
    finally:
        site.shutdown()
        site.server_close()
