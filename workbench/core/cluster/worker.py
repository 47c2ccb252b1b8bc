"""One rank of a sharded model, started by ``mlx.launch``: load a shard, follow rank 0.

Every rank runs this module. Each loads its part of the model with mlx-lm's
``sharded_load`` (tensor or pipeline parallel over the launch's group), then all ranks run
the same generation in lockstep, as mlx-lm's distributed examples do. Only rank 0 talks to
the pool, over a loopback socket (``wire``); it hands each request to the other ranks with
``all_sum`` (the other ranks contribute zeros), and every token step the ranks agree, again
with ``all_sum``, on whether rank 0 was asked to stop. When rank 0's connection closes the
ranks exit, so a pool that goes away never leaves ranks behind.

Run as ``python -m workbench.core.cluster.worker --model DIR --parallel tensor
--backend ring --connect 127.0.0.1:PORT --secret-env NAME --openblas auto|off``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from workbench.core.cluster.wire import LineReader, WireClosed, send

SHUTDOWN = {"type": "shutdown"}
IDLE = {"type": "idle"}
# While no request comes, the ranks meet every tick instead of waiting inside one
# collective: the ring backend polls while it waits (a sixth of a core, measured here),
# and a rank that sleeps between meetings costs nothing. A request waits at most one tick.
IDLE_TICK = 0.25
PREFILL_STEP = 512  # prompt tokens per pass; a cancel is agreed on between passes


class _Cancelled(Exception):
    """Raised on every rank, at the same prompt pass, to abandon a long prompt."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="workbench.core.cluster.worker")
    parser.add_argument("--model", required=True)
    parser.add_argument("--parallel", choices=("tensor", "pipeline"), default="tensor")
    parser.add_argument("--backend", default="ring")
    parser.add_argument("--connect", required=True, help="HOST:PORT of the pool (rank 0)")
    parser.add_argument("--secret-env", default="MLXBENCH_CLUSTER_SECRET")
    parser.add_argument("--openblas", choices=("auto", "off"), default="auto")
    return parser.parse_args(argv)


def connect(address: str, secret: str) -> tuple[socket.socket, LineReader]:
    host, port = address.rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=30)
    send(sock, {"type": "hello", "secret": secret, "pid": os.getpid()})
    return sock, LineReader(sock)


def load_shard(model: str, parallel: str, group: Any) -> tuple[Any, Any]:
    from mlx_lm.utils import sharded_load

    if parallel == "pipeline":
        loaded = sharded_load(model, pipeline_group=group)
    else:
        loaded = sharded_load(model, tensor_group=group)
    return loaded[0], loaded[1]


def rank_table(group: Any) -> list[dict[str, int]]:
    """Every rank's pid and MLX active memory, gathered on every rank."""
    import mlx.core as mx

    row = mx.zeros((group.size(), 2), dtype=mx.int64)
    row[group.rank()] = mx.array([os.getpid(), mx.get_active_memory()], dtype=mx.int64)
    table = mx.distributed.all_sum(row, group=group, stream=mx.cpu)
    rows: list[list[int]] = table.tolist()  # type: ignore[assignment]  # a 2-D int array
    return [{"pid": int(p), "active_bytes": int(b)} for p, b in rows]


def share(group: Any, message: dict[str, Any] | None) -> dict[str, Any]:
    """Rank 0's message, on every rank (other ranks pass None)."""
    import mlx.core as mx

    data = json.dumps(message).encode() if message is not None else b""
    size = mx.distributed.all_sum(mx.array([len(data)], dtype=mx.int32), group=group, stream=mx.cpu)
    length = int(size.item())  # type: ignore[arg-type]  # an int32 scalar
    payload = mx.zeros((length,), dtype=mx.int32)
    if data:
        payload = mx.array(list(data), dtype=mx.int32)
    total = mx.distributed.all_sum(payload, group=group, stream=mx.cpu)
    codes: list[int] = total.tolist()  # type: ignore[assignment]  # a 1-D int array
    shared: dict[str, Any] = json.loads(bytes(codes).decode())
    return shared


def agree_stop(group: Any, stop: bool) -> bool:
    """True on every rank when rank 0 says stop."""
    import mlx.core as mx

    flag = mx.distributed.all_sum(mx.array([int(stop)]), group=group, stream=mx.cpu)
    return int(flag.item()) > 0  # type: ignore[arg-type]  # an int scalar


class Rank0:
    """The pool's side of rank 0: requests in, tokens out, cancel checked per token."""

    def __init__(self, sock: socket.socket, reader: LineReader) -> None:
        self.sock, self.reader = sock, reader
        self.cancelled = False

    def next_request(self, timeout: float) -> dict[str, Any]:
        """The pool's next request, ``IDLE`` when none came within ``timeout`` seconds."""
        try:
            message = self.reader.read(timeout)
        except WireClosed:
            return SHUTDOWN
        return message if message is not None else IDLE

    def should_stop(self) -> bool:
        try:
            while (message := self.reader.poll()) is not None:
                if message.get("type") in ("cancel", "shutdown"):
                    self.cancelled = True
        except WireClosed:
            self.cancelled = True
        return self.cancelled

    def tell(self, message: dict[str, Any]) -> None:
        try:
            send(self.sock, message)
        except WireClosed:
            self.cancelled = True


def generate(
    model: Any, tokenizer: Any, request: dict[str, Any], group: Any, rank0: Rank0 | None
) -> None:
    """One reply, in lockstep on every rank; rank 0 streams it to the pool."""
    import mlx.core as mx
    from mlx_lm import stream_generate
    from mlx_lm.sample_utils import make_sampler

    mx.random.seed(int(request["seed"]))
    mx.reset_peak_memory()
    tokenizer.eos_token_ids = set(request["stop"])
    top_p = request["top_p"] if request["top_p"] < 1 else 0.0
    if rank0 is not None:
        rank0.cancelled = False

    def stopping() -> bool:  # every rank calls it at the same step, so all agree
        return agree_stop(group, rank0.should_stop() if rank0 is not None else False)

    def on_prompt_progress(_done: int, _total: int) -> None:
        if stopping():
            raise _Cancelled

    responses = stream_generate(
        model,
        tokenizer,
        mx.array(request["prompt"]),
        max_tokens=int(request["max_tokens"]),
        sampler=make_sampler(float(request["temperature"]), top_p),
        prompt_progress_callback=on_prompt_progress,
        prefill_step_size=PREFILL_STEP,
    )
    spacer = Spacer(tokenizer) if request.get("keep_space") else None
    done = follow(responses, rank0, stopping, spacer)
    if rank0 is not None:
        rank0.tell({**done, "peak_bytes": int(mx.get_peak_memory())})


class Spacer:
    """Gives the first word of a raw completion back the space mlx-lm's streaming
    detokenizers trim off a reply (a continuation of "is" must read " Paris"), as the
    one-process text engine does."""

    def __init__(self, tokenizer: Any) -> None:
        self.tokenizer, self.done = tokenizer, False
        self.tokens: list[int] = []

    def __call__(self, token: int, text: str) -> str:
        if self.done:
            return text
        self.tokens.append(int(token))
        if not text:
            return text
        self.done = True
        full = self.tokenizer.decode(self.tokens)
        return " " + text if full.startswith(" ") and not text.startswith(" ") else text


def follow(
    responses: Any, rank0: Rank0 | None, stopping: Callable[[], bool], spacer: Spacer | None = None
) -> dict[str, Any]:
    """Run the reply to its end (stop token, length, or an agreed cancel); rank 0 streams
    each piece. Returns the ``done`` message."""
    finish, tail, last = "stop", "", None
    try:
        for response in responses:
            last = response
            text = spacer(response.token, response.text) if spacer else response.text
            if response.finish_reason is not None:
                finish, tail = response.finish_reason, text
                break
            if rank0 is not None and text:
                rank0.tell({"type": "token", "text": text})
            if stopping():
                finish = "cancelled"
                break
    except _Cancelled:
        finish = "cancelled"
    finally:
        responses.close()
    return {
        "type": "done",
        "finish": finish,
        "tail": tail,
        "generation_tokens": last.generation_tokens if last else 0,
        "prompt_tps": float(last.prompt_tps) if last else 0.0,
    }


def serve(args: argparse.Namespace) -> int:
    from workbench.core.runner.blas import prepare

    prepare(args.openblas)  # the pool's own choice (the config's; MLXBENCH_OPENBLAS is honoured)
    import mlx.core as mx

    backend = "jaccl" if args.backend == "jaccl-ring" else args.backend  # mlx.launch's variant
    group = mx.distributed.init(strict=True, backend=backend)
    rank0 = None
    if group.rank() == 0:
        rank0 = Rank0(*connect(args.connect, os.environ.get(args.secret_env, "")))
    try:
        model, tokenizer = load_shard(args.model, args.parallel, group)
    except Exception as exc:
        if rank0 is not None:
            rank0.tell({"type": "error", "message": f"{type(exc).__name__}: {exc}"})
        raise
    table = rank_table(group)
    if rank0 is not None:
        rank0.tell({"type": "ready", "ranks": table, "host": socket.gethostname()})
    while True:
        if rank0 is None:
            time.sleep(IDLE_TICK)
        request = share(group, rank0.next_request(IDLE_TICK) if rank0 is not None else None)
        if request["type"] == "generate":
            generate(model, tokenizer, request, group, rank0)
        elif request["type"] != "idle":
            return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return serve(args)
    except KeyboardInterrupt:
        return 130
    finally:
        sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
