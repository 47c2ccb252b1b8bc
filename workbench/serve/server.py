"""Running the app under uvicorn: from the command line, or on a thread (tests, bench).

``ServerThread`` starts uvicorn on its own thread and event loop, waits until it accepts
connections (the runner has started by then: the lifespan runs first), and on ``stop``
asks it to exit and waits — the lifespan then stops the runner and unloads every model.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import uvicorn
from fastapi import FastAPI

from workbench.core.errors import WorkbenchError
from workbench.serve.settings import ServeSettings, check_settings

START_TIMEOUT_S = 120.0


def uvicorn_config(app: FastAPI, settings: ServeSettings, **options: Any) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_level=options.pop("log_level", "warning"),
        timeout_graceful_shutdown=options.pop("timeout_graceful_shutdown", 5),
        **options,
    )


def serve_forever(app: FastAPI, settings: ServeSettings, **options: Any) -> None:
    """Listen until interrupted (checks the address against the key first)."""
    check_settings(settings)
    uvicorn.Server(uvicorn_config(app, settings, **options)).run()


class ServerThread:
    """A server on a background thread; ``url`` once ``start`` returns."""

    def __init__(self, app: FastAPI, settings: ServeSettings, **options: Any) -> None:
        check_settings(settings)
        self.server = uvicorn.Server(uvicorn_config(app, settings, **options))
        self._thread = threading.Thread(target=self.server.run, name="mlxbench-serve", daemon=True)
        self.host = settings.host

    def start(self, timeout: float = START_TIMEOUT_S) -> str:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise WorkbenchError("the server did not start (see the log above)")
            time.sleep(0.05)
        return self.url

    @property
    def port(self) -> int:
        sockets = [s for server in self.server.servers for s in server.sockets]
        return sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=60)

    def __enter__(self) -> ServerThread:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
