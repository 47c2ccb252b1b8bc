"""Bench group "http": the server's cost, measured side by side with raw mlx-lm.

Kept out of ``workbench.core`` (the core knows nothing of HTTP) and handed to the bench
with the UI groups (``workbench.bench.ui``). A server on 127.0.0.1 (a free port,
this process) serves the text model; a light SSE reader times each streamed reply where an
HTTP client sees it.

- decode through HTTP streaming vs raw ``stream_generate`` (ABBA rounds, same greedy reply;
  goal ≥ 0.95×), and the time to first token over raw's (goal ≤ +10 ms);
- aggregate tok/s with 1, 2 and 4 clients streaming at once (every reply counted, the wall
  time from the first request to the last token), against 1 client; goal ≥ 2× at 4. The
  runner decodes waiting chat turns for one model together (continuous batching), so more
  clients add throughput where a decode step is bound by memory traffic (a GPU), less so
  on a CPU, whose matrix products cost about as much per row. Each row's note says in how
  many rounds every reply streamed while all the others did (the sign of a batch).

Each request names a fresh conversation, so no prompt cache favours the HTTP side.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from workbench.bench.decode import ttft_over_raw
from workbench.bench.harness import Goal, Metric, alternate, median, require
from workbench.bench.raw import Generation
from workbench.core.types import ChatMessage, ModelInfo, SamplingSettings

DECODE_GOAL = Goal(">=", 0.95)
TTFT_EXTRA_S = 0.010
BATCH_GOAL = Goal(">=", 2.0)
CLIENTS = (1, 2, 4)


def _body(
    model_id: str, messages: tuple[ChatMessage, ...], sampling: SamplingSettings
) -> dict[str, Any]:
    return {
        "model": model_id,
        "messages": [{"role": m.role, "content": m.content} for m in messages],
        "temperature": sampling.temperature,
        "max_tokens": sampling.max_tokens,
        "stream": True,
        "stream_options": {"include_usage": True},
        "session_id": f"bench-{uuid.uuid4().hex}",
    }


def stream_once(client: Any, body: dict[str, Any]) -> Generation:
    """One streamed reply, timed as its reader sees it."""
    from workbench.serve.remote import iter_sse

    started = time.perf_counter()
    first, tokens, pieces, finish = 0.0, 0, [], ""
    body = {**body, "session_id": f"bench-{uuid.uuid4().hex}"}
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        response.raise_for_status()
        for _event, data in iter_sse(response.iter_lines()):
            if data == "[DONE]":
                break
            chunk = json.loads(data)
            for choice in chunk["choices"]:
                piece = choice["delta"].get("content")
                if piece:
                    first = first or time.perf_counter() - started
                    pieces.append(piece)
                finish = choice.get("finish_reason") or finish
            if chunk.get("usage"):
                tokens = chunk["usage"]["completion_tokens"]
    end = time.perf_counter() - started
    return Generation("".join(pieces), tokens, first, end, finish)


def _server(context: Any, info: ModelInfo) -> Any:
    from workbench.core.pool.budget import make_budget
    from workbench.serve.app import create_app
    from workbench.serve.server import ServerThread
    from workbench.serve.settings import ServeSettings

    settings = ServeSettings(port=0)
    config = context.options.config
    budget = make_budget(config.memory_limit, config.max_models)
    app = create_app(settings, catalog=[info], budget=budget, config=config, preload=[info.id])
    server = ServerThread(app, settings)
    context.say(f"starting a server with {info.name} on 127.0.0.1…")
    server.start()
    return server


def run(context: Any) -> list[Metric]:
    require("fastapi")
    require("uvicorn")
    httpx: Any = require("httpx")
    from workbench.bench.decode import same_reply_note
    from workbench.bench.texts import decode_messages

    options = context.options
    info = context.text_model()
    raw = context.raw_text()
    sampling = SamplingSettings(temperature=0.0, max_tokens=options.max_tokens)
    messages = decode_messages()
    body = _body(info.id, messages, sampling)
    server = _server(context, info)
    try:
        with httpx.Client(base_url=server.url, timeout=None) as client:
            replies: dict[str, list[Generation]] = {"http": [], "raw": []}

            def http_side() -> dict[str, float]:
                reply = stream_once(client, body)
                replies["http"].append(reply)
                return reply.sample()

            def raw_side() -> dict[str, float]:
                reply: Generation = context.raw_thread.call(raw.generate, messages, sampling)
                replies["raw"].append(reply)
                return reply.sample()

            context.say(f"decoding {options.max_tokens} tokens, HTTP and raw in turn…")
            paired = alternate(http_side, raw_side, options.decode_rounds)
        note = same_reply_note(replies["http"], replies["raw"], "HTTP")
        metrics = _decode_metrics(paired, note)
        metrics += _concurrency(context, server.url, body, options.rounds)
    finally:
        server.stop()
    return metrics


def _decode_metrics(paired: Any, note: str) -> list[Metric]:
    labels = ("HTTP", "raw")
    return [
        paired.metric("decode_tps", "decode tok/s, HTTP stream", "tok/s", labels, goal=DECODE_GOAL),
        paired.metric("ttft_s", "time to first token, HTTP", "s", labels),
        ttft_over_raw(paired, "HTTP", TTFT_EXTRA_S),
        paired.metric("tokens", "tokens per reply", "tok", labels, note=note),
    ]


def aggregate_tps(url: str, body: dict[str, Any], clients: int) -> tuple[float, bool]:
    """Every client streams one reply at once: all tokens over the wall time, and whether
    the replies overlapped (each one's first text before any other's end: batched)."""
    import httpx

    def one(_: int) -> Generation:
        with httpx.Client(base_url=url, timeout=None) as client:
            return stream_once(client, body)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        replies = list(pool.map(one, range(clients)))
    wall = time.perf_counter() - started
    overlapped = max(r.first_text_s for r in replies) < min(r.end_s for r in replies)
    return sum(r.tokens for r in replies) / wall, overlapped


def _concurrency(context: Any, url: str, body: dict[str, Any], rounds: int) -> list[Metric]:
    samples: dict[int, list[float]] = {n: [] for n in CLIENTS}
    together: dict[int, int] = dict.fromkeys(CLIENTS, 0)
    for _ in range(rounds):
        for clients in CLIENTS:
            context.say(f"{clients} client(s) streaming at once…")
            tps, overlapped = aggregate_tps(url, body, clients)
            samples[clients].append(tps)
            together[clients] += overlapped
    one = median(samples[1])
    rows = []
    for clients in CLIENTS[1:]:
        goal = BATCH_GOAL if clients == 4 else None
        rows.append(
            Metric(
                f"aggregate tok/s, {clients} clients vs 1",
                "tok/s",
                median(samples[clients]),
                one,
                f"{clients} clients",
                "1 client",
                tuple(samples[clients]),
                tuple(samples[1]),
                goal=goal,
                note=f"all streamed together in {together[clients]}/{rounds} rounds",
            )
        )
    return rows
