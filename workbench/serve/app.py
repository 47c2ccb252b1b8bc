"""The FastAPI app: routes by feature, errors in the OpenAI shape, key and size guards.

``create_app(settings, catalog=…, budget=…)`` builds an app whose lifespan starts the
runner (MLX is imported on its owner thread) and stops it, unloading every model, when the
server shuts down. Prepared images live in a folder for the server's lifetime.
"""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response

from workbench import __version__
from workbench.core.pool.budget import Budget
from workbench.core.protocol import LoadRequest
from workbench.core.types import ModelInfo
from workbench.serve import admin, chat, completions, embeddings, models
from workbench.serve.backend import Backend
from workbench.serve.errors import install_handlers
from workbench.serve.generation import ClientGone
from workbench.serve.guards import BodyLimit, require_key
from workbench.serve.settings import ServeSettings
from workbench.serve.state import ServerState


def create_app(
    settings: ServeSettings,
    *,
    catalog: Sequence[ModelInfo],
    budget: Budget,
    preload: Sequence[str] = (),
    **runner_options: Any,
) -> FastAPI:
    """The server's app over a new runner with this catalog and budget.

    ``preload``: model ids loaded and pinned before the first request is taken.
    """
    backend = Backend(catalog=catalog, budget=budget, **runner_options)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with tempfile.TemporaryDirectory(prefix="mlxbench-serve-images-") as scratch:
            image_dir = settings.image_dir or Path(scratch)
            app.state.serve = ServerState(backend, settings, image_dir)
            await backend.start()
            try:
                for model_id in preload:
                    await backend.call(LoadRequest(model_id=model_id, pin=True))
                yield
            finally:
                await backend.close()

    app = FastAPI(
        title="mlxbench",
        version=__version__,
        lifespan=lifespan,
        dependencies=[Depends(require_key)],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    install_handlers(app)
    app.add_exception_handler(ClientGone, _nobody_listens)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    for module in (models, chat, completions, embeddings, admin):
        app.include_router(module.router)
    return app


async def _nobody_listens(_request: Request, _exc: Exception) -> Response:
    """The client left before its reply began (its request is cancelled): nothing to send."""
    return Response(status_code=499)
