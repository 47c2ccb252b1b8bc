"""``mlxbench serve``: the pool as an OpenAI-compatible HTTP server.

Same catalog, budget flags and runner as the app; model names are what the CLI accepts.
Listens on 127.0.0.1 unless given ``--host`` — and refuses any other address without
``--api-key``. Limits on body and image sizes have safe defaults; image URLs that resolve
to loopback, private or link-local addresses are refused unless
``--allow-private-image-urls``. ``--preload MODEL`` (repeatable) loads and pins models
before the first request, so they are never evicted. Text chats for one model that wait
together are decoded together (continuous batching) unless ``--no-batching``.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

from workbench.commands.common import add_budget_arguments, describe_budget, resolve, setup
from workbench.core.units import format_bytes

if TYPE_CHECKING:
    from workbench.serve.settings import ServeSettings

MIB = 1024 * 1024


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from workbench.serve.settings import (
        DEFAULT_MAX_BODY_BYTES,
        DEFAULT_MAX_IMAGE_BYTES,
        DEFAULT_MAX_IMAGES,
        DEFAULT_PORT,
    )

    parser = subparsers.add_parser(
        "serve",
        help="serve the model pool over an OpenAI-compatible HTTP API",
        description="Serve /v1/models, /v1/chat/completions, /v1/completions, /v1/embeddings "
        "and admin routes over the same pool as the app.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default "
                        "127.0.0.1; any other needs --api-key)")  # fmt: skip
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="default %(default)s")
    parser.add_argument(
        "--api-key",
        default=os.environ.get("MLXBENCH_API_KEY"),
        metavar="KEY",
        help="require 'Authorization: Bearer KEY' (default: $MLXBENCH_API_KEY)",
    )
    parser.add_argument("--preload", action="append", default=[], metavar="MODEL",
                        help="load and pin MODEL at start (repeatable)")  # fmt: skip
    parser.add_argument("--max-body-mb", type=float, default=DEFAULT_MAX_BODY_BYTES / MIB,
                        metavar="MB", help="largest body (default %(default)g)")  # fmt: skip
    parser.add_argument("--max-images", type=int, default=DEFAULT_MAX_IMAGES, metavar="N",
                        help="most images per request (default %(default)s)")  # fmt: skip
    parser.add_argument("--max-image-mb", type=float, default=DEFAULT_MAX_IMAGE_BYTES / MIB,
                        metavar="MB", help="largest image (default %(default)g)")  # fmt: skip
    parser.add_argument(
        "--allow-private-image-urls",
        action="store_true",
        help="let image URLs reach loopback, private and link-local addresses",
    )
    parser.add_argument("--no-batching", action="store_true",
                        help="serve chat turns one at a time, never together")  # fmt: skip
    add_budget_arguments(parser)
    parser.set_defaults(handler=run)


def settings_from(args: argparse.Namespace, image_max_side: int) -> ServeSettings:
    from workbench.serve.settings import ServeSettings, check_settings

    settings = ServeSettings(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        max_body_bytes=int(args.max_body_mb * MIB),
        max_images=args.max_images,
        max_image_bytes=int(args.max_image_mb * MIB),
        image_max_side=image_max_side,
        allow_private_image_urls=args.allow_private_image_urls,
    )
    check_settings(settings)  # before anything is scanned or imported
    return settings


def run(args: argparse.Namespace) -> int:
    found = setup(args)
    settings = settings_from(args, found.config.image_max_side)
    preload = [resolve(name, found.catalog) for name in args.preload]
    from workbench.serve.app import create_app
    from workbench.serve.server import serve_forever

    catalog = [*found.catalog, *(m for m in preload if m not in found.catalog)]
    app = create_app(
        settings, catalog=catalog, budget=found.budget, config=found.config,
        preload=[m.id for m in preload], batching=not args.no_batching,
    )  # fmt: skip
    key = "key required" if settings.api_key else "no key: loopback only"
    print(
        f"mlxbench serve: http://{settings.host}:{settings.port}/v1 · {key} · pool "
        f"{describe_budget(found.budget)} · body ≤ {format_bytes(settings.max_body_bytes)}",
        file=sys.stderr,
        flush=True,
    )
    serve_forever(app, settings)
    return 0
