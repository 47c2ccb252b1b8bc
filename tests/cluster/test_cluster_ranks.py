"""Two local ranks on the ring backend, through the real runner and pool: the same greedy
reply as one process, eviction that stops every rank and frees the ports, and a rank killed
mid-reply — a clear error, no orphans, and the next request works."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import psutil
import pytest
from rank_processes import group_processes, rank_pids

from workbench.core.cluster.config import BUILTIN
from workbench.core.cluster.plan import cluster_info, plan_cluster
from workbench.core.errors import WorkbenchError
from workbench.core.pool.budget import Budget
from workbench.core.pool.sizes import SizesStore
from workbench.core.runner.client import RunnerClient
from workbench.core.runner.mlx_hooks import real_hooks
from workbench.core.types import ChatMessage, Family, ModelInfo, ModelKind, SamplingSettings

pytestmark = pytest.mark.real

BUDGET = Budget(2 * 1024**3, 4)
STORY = [ChatMessage("user", "Tell me a story about a dragon")]
GREEDY = SamplingSettings(temperature=0.0, max_tokens=24)


def local_info(folder: Path) -> ModelInfo:
    size = sum(f.stat().st_size for f in folder.glob("*.safetensors"))
    return ModelInfo("tiny", "tiny-llama", folder, ModelKind.TEXT, Family.LLAMA, "path",
                     estimated_bytes=size)  # fmt: skip


def client_for(infos: list[ModelInfo], tmp_path: Path) -> RunnerClient:
    hooks = real_hooks()  # the BLAS choice the ranks make too
    sizes = SizesStore(tmp_path / "sizes.json")
    client = RunnerClient(catalog=infos, budget=BUDGET, mlx_hooks=hooks, sizes=sizes)
    client.start()
    return client


def sharded(info: ModelInfo) -> ModelInfo:
    placement = plan_cluster(info, BUILTIN["local2"], BUDGET.memory_limit_bytes)
    return cluster_info(info, placement, info.path)


def ports_of(folder: Path) -> list[int]:
    """The ring ports and rank 0's connection port, read from mlx.launch's command line."""
    launcher = next(p for p in group_processes(folder) if "--starting-port" in p.cmdline())
    argv = launcher.cmdline()
    first = int(argv[argv.index("--starting-port") + 1])
    connect = int(argv[argv.index("--connect") + 1].rsplit(":", 1)[1])
    return [first, first + 1, connect]


def held(port: int) -> bool:
    """Whether a process holds a socket on ``port`` (TIME_WAIT is the kernel's, not held)."""
    return any(
        c.laddr and c.laddr.port == port and c.status != psutil.CONN_TIME_WAIT
        for c in psutil.net_connections("tcp")
    )


def test_sharded_reply_equals_one_process_and_eviction_stops_every_rank(
    tiny_llama_dir: Path, tmp_path: Path, no_leftovers: None
) -> None:
    info = local_info(tiny_llama_dir)
    entry = sharded(info)
    with client_for([info, entry], tmp_path) as client:
        alone = client.chat(info.id, STORY, sampling=GREEDY)
        client.unload(info.id)
        together = client.chat(entry.id, STORY, sampling=GREEDY)
        pids = rank_pids(tiny_llama_dir)
        assert len(pids) == 2
        ports = ports_of(tiny_llama_dir)
        assert all(held(port) for port in ports)
        view = next(v for v in client.snapshot().entries if v.model_id == entry.id)
        assert view.cluster is not None and view.cluster.hosts == ("127.0.0.1", "127.0.0.1")
        planned = entry.cluster.local_bytes  # charged before the load; then the ranks' own
        assert view.estimated_bytes == planned  # measurement: weights plus a little more
        assert view.measured_bytes is not None and planned <= view.measured_bytes < 1.1 * planned
        stream = client.chat_stream(entry.id, STORY, SamplingSettings(max_tokens=5000))
        for _piece in stream:
            break  # leaving the loop cancels the reply (Esc in the app)
        assert stream.done is not None and stream.done.stats.finish_reason == "cancelled"
        assert rank_pids(tiny_llama_dir) == pids  # the ranks stopped the reply, not themselves
        assert client.chat(entry.id, STORY, sampling=GREEDY).text == alone.text
        client.unload(entry.id)
        assert group_processes(tiny_llama_dir) == []
        assert not any(held(port) for port in ports)
    assert alone.text.strip()
    assert together.text == alone.text
    assert together.stats.generation_tokens == alone.stats.generation_tokens
    assert together.stats.finish_reason == alone.stats.finish_reason


def test_a_rank_killed_mid_reply_ends_it_clearly_and_the_next_request_works(
    tiny_llama_dir: Path, tmp_path: Path, no_leftovers: None
) -> None:
    info = local_info(tiny_llama_dir)
    long_reply = SamplingSettings(temperature=0.0, max_tokens=5000)
    with client_for([info], tmp_path) as client:
        loaded = client.load(info.id, cluster="local2")  # as the app asks for it
        assert loaded.model_id == "tiny@cluster:local2"
        entry = client.runner.pool.info(loaded.model_id)
        assert entry.cluster is not None and entry.estimated_bytes == entry.cluster.local_bytes
        stream = client.chat_stream(entry.id, STORY, long_reply)
        pieces = iter(stream)
        next(pieces)  # the reply has started
        ports = ports_of(tiny_llama_dir)
        pids = rank_pids(tiny_llama_dir)
        assert len(pids) == 2
        rank1 = max(pids)  # either rank will do; this one is not the socket's end
        os.kill(rank1, signal.SIGKILL)
        with pytest.raises(WorkbenchError) as failure:
            for _ in pieces:
                pass
        message = str(failure.value)
        assert re.fullmatch(
            r"cluster 'local2' stopped during the reply: rank [01] on 127\.0\.0\.1 was killed "
            r"\(SIGKILL\); every rank was stopped, the next request starts them again",
            message,
        )
        assert group_processes(tiny_llama_dir) == []
        assert not any(held(port) for port in ports)
        again = client.chat(entry.id, STORY, sampling=GREEDY)
        assert again.text.strip() and again.stats.finish_reason == "length"
        assert len(rank_pids(tiny_llama_dir)) == 2
    assert group_processes(tiny_llama_dir) == []  # closing the pool stopped the new group
