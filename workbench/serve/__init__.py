"""The pool behind an OpenAI-compatible HTTP server, and the client that attaches to it.

``mlxbench serve`` puts the same runner, pool and budget as the app behind FastAPI:
``/v1/models``, ``/v1/chat/completions`` (streamed or not, with images), ``/v1/completions``,
``/v1/embeddings`` and admin routes over the pool. The server is a thin client of the
runner, like the CLI: every model call goes through the runner's queue to its one owner
thread. ``remote`` is the other way round: a runner-compatible client over HTTP, so the
workbench TUI can drive a pool that lives on another machine.

Importing this package imports nothing heavy; ``app`` pulls in FastAPI, ``remote`` only httpx.
"""
