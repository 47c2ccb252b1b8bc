"""`mlxbench serve` over a 2-rank local ring cluster, driven with the official openai client
and httpx: load on the cluster, the entry listed with its hosts and shares, chat and plain
completions from rank 0 (streamed and whole) equal to the one-process model's greedy reply,
unload that leaves no rank process, and the refusals (unknown cluster, a model that cannot
be split, a host without room)."""

from __future__ import annotations

import os
import queue
import signal
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest
from rank_processes import group_processes, rank_pids, wait_until_gone

from workbench.core.cluster.config import parse_cluster
from workbench.core.config import Config
from workbench.core.pool.budget import Budget
from workbench.core.pool.sizes import SizesStore
from workbench.core.protocol import Event, LoadRequest, ModelLoaded
from workbench.core.types import Family, ModelInfo, ModelKind
from workbench.serve.remote import RemoteRunner
from workbench.serve.wire import snapshot_from

pytestmark = pytest.mark.real

STORY = [{"role": "user", "content": "Tell me a story about a dragon"}]
PROMPT = "Once upon a time"
GREEDY = {"temperature": 0.0, "max_tokens": 20}
ENTRY = "tiny@cluster:local2"


@dataclass(frozen=True)
class Served:
    url: str
    client: openai.OpenAI


def model_info(folder: Path, model_id: str) -> ModelInfo:
    size = sum(f.stat().st_size for f in folder.glob("*.safetensors"))
    return ModelInfo(model_id, folder.name, folder, ModelKind.TEXT, Family.LLAMA, "path",
                     estimated_bytes=size)  # fmt: skip


@pytest.fixture(scope="module")
def served(
    tiny_llama_dir: Path, nine_heads_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    from workbench.serve.app import create_app
    from workbench.serve.server import ServerThread
    from workbench.serve.settings import ServeSettings

    home = tmp_path_factory.mktemp("serve-cluster")
    source = home / "config.toml"
    tight = {"hosts": ["127.0.0.1", "127.0.0.1"], "host_memory": ["1MB", "1MB"]}
    config = Config(clusters={"tight": parse_cluster("tight", tight, source)})
    catalog = [model_info(tiny_llama_dir, "tiny"), model_info(nine_heads_dir, "nine")]
    settings = ServeSettings(port=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLXBENCH_HOME", str(home / "home"))
        app = create_app(settings, catalog=catalog, budget=Budget(2 * 1024**3, 4),
                         config=config, sizes=SizesStore(home / "sizes.json"))  # fmt: skip
        with ServerThread(app, settings) as thread:
            client = openai.OpenAI(base_url=f"{thread.url}/v1", api_key="unused", max_retries=0)
            yield Served(thread.url, client)
    assert group_processes(tiny_llama_dir) == []  # stopping the server stopped every rank


def chat_text(client: openai.OpenAI, model: str, stream: bool) -> str:
    if not stream:
        reply = client.chat.completions.create(model=model, messages=STORY, **GREEDY)
        return reply.choices[0].message.content or ""
    chunks = client.chat.completions.create(model=model, messages=STORY, stream=True, **GREEDY)
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def completion_text(client: openai.OpenAI, model: str, stream: bool) -> str:
    if not stream:
        return client.completions.create(model=model, prompt=PROMPT, **GREEDY).choices[0].text
    chunks = client.completions.create(model=model, prompt=PROMPT, stream=True, **GREEDY)
    return "".join(c.choices[0].text for c in chunks if c.choices)


def test_load_chat_and_unload_on_a_cluster(
    served: Served, tiny_llama_dir: Path, no_leftovers: None
) -> None:
    client = served.client
    alone_chat = chat_text(client, "tiny", stream=False)
    alone_completion = completion_text(client, "tiny", stream=True)
    assert alone_chat.strip() and alone_completion.strip()
    httpx.post(f"{served.url}/v1/admin/models/unload/tiny", timeout=60).raise_for_status()

    loaded = httpx.post(f"{served.url}/v1/admin/models/load/tiny?cluster=local2", timeout=300)
    assert loaded.status_code == 200, loaded.text
    body = loaded.json()
    assert body["model"] == ENTRY and body["loaded"] is True
    assert [r["host"] for r in body["cluster"]["ranks"]] == ["127.0.0.1", "127.0.0.1"]
    assert len(rank_pids(tiny_llama_dir)) == 2

    listed = {m.id: m for m in client.models.list().data}
    entry = listed[ENTRY].model_dump()
    assert entry["loaded"] is True and entry["cluster"]["cluster"] == "local2"
    shares = [r["share_bytes"] for r in entry["cluster"]["ranks"]]
    assert len(shares) == 2 and all(s > 0 for s in shares)
    status = httpx.get(f"{served.url}/v1/admin/models/status", timeout=30).json()
    view = next(e for e in status["entries"] if e["model_id"] == ENTRY)
    assert [r["share_bytes"] for r in view["cluster"]["ranks"]] == shares
    remote = next(e for e in snapshot_from(status).entries if e.model_id == ENTRY)
    assert remote.cluster is not None  # what an attached workbench's pool pane shows
    assert remote.cluster.hosts == ("127.0.0.1", "127.0.0.1")
    assert [r.share_bytes for r in remote.cluster.ranks] == shares

    assert chat_text(client, ENTRY, stream=True) == alone_chat
    assert chat_text(client, "tiny-llama-tp @ local2", stream=False) == alone_chat  # by name
    assert completion_text(client, ENTRY, stream=False) == alone_completion
    assert completion_text(client, ENTRY, stream=True) == alone_completion

    unloaded = httpx.post(f"{served.url}/v1/admin/models/unload/{ENTRY}", timeout=60)
    assert unloaded.status_code == 200 and unloaded.json()["loaded"] is False
    assert group_processes(tiny_llama_dir) == []
    listed = {m.id: m.model_dump() for m in client.models.list().data}
    assert listed[ENTRY]["loaded"] is False


def test_an_attached_workbench_loads_on_a_cluster_through_the_server(
    served: Served, tiny_llama_dir: Path, no_leftovers: None
) -> None:
    events: queue.Queue[Event] = queue.Queue()
    remote = RemoteRunner(events.put, served.url)
    request = LoadRequest(model_id="tiny", cluster="local2")  # as the pool pane's "c" asks
    try:
        remote.submit(request)
        answer = events.get(timeout=300)
        while answer.request_id != request.request_id:
            answer = events.get(timeout=300)
    finally:
        remote.stop()
    assert isinstance(answer, ModelLoaded) and answer.model_id == ENTRY
    assert len(rank_pids(tiny_llama_dir)) == 2
    httpx.post(f"{served.url}/v1/admin/models/unload/{ENTRY}", timeout=60).raise_for_status()
    assert group_processes(tiny_llama_dir) == []


def test_plan_on_a_cluster_names_each_host_and_its_share(served: Served) -> None:
    answer = httpx.post(
        f"{served.url}/v1/admin/models/plan",
        json={"models": ["tiny"], "cluster": "local2"},
        timeout=120,
    )
    assert answer.status_code == 200, answer.text
    (plan,) = answer.json()["plans"]
    assert plan["model_id"] == ENTRY and plan["fits"] is True
    ranks = plan["cluster"]["ranks"]
    assert [(r["rank"], r["host"]) for r in ranks] == [(0, "127.0.0.1"), (1, "127.0.0.1")]
    here = sum(r["share_bytes"] for r in ranks)  # both ranks run on this machine
    assert plan["cluster"]["local_bytes"] == here
    # the pool charges the shares, or what the ranks measured once loaded (a little more)
    assert here <= plan["need_bytes"] < 1.1 * here


@pytest.mark.parametrize(
    ("path", "status", "code", "words"),
    [
        ("load/tiny?cluster=nowhere", 404, "cluster_not_found", "no cluster named 'nowhere'"),
        ("load/nine?cluster=local2", 400, "model_not_splittable", "9 attention heads"),
        ("load/tiny?cluster=tight", 503, "insufficient_memory", "rank 0 on 127.0.0.1 needs"),
    ],
)
def test_cluster_refusals_say_why_and_start_nothing(
    served: Served,
    tiny_llama_dir: Path,
    nine_heads_dir: Path,
    path: str,
    status: int,
    code: str,
    words: str,
) -> None:
    answer = httpx.post(f"{served.url}/v1/admin/models/{path}", timeout=120)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code and words in error["message"]
    assert group_processes(tiny_llama_dir) == [] and group_processes(nine_heads_dir) == []
    with pytest.raises(openai.APIStatusError) as refused:  # the same through the plan route
        served.client.post(
            "/admin/models/plan",
            body={"models": [path.split("/")[1].split("?")[0]], "cluster": path.split("=")[1]},
            cast_to=object,
        )
    assert refused.value.status_code == status


def test_a_rank_killed_between_chats_is_restarted_before_the_next_one(
    served: Served, tiny_llama_dir: Path, no_leftovers: None
) -> None:
    loaded = httpx.post(f"{served.url}/v1/admin/models/load/tiny?cluster=local2", timeout=300)
    assert loaded.status_code == 200, loaded.text
    before = rank_pids(tiny_llama_dir)
    os.kill(max(before), signal.SIGKILL)
    wait_until_gone(max(before))  # the kill has landed before the next chat is sent
    assert chat_text(served.client, ENTRY, stream=False).strip()  # not a failed request
    after = rank_pids(tiny_llama_dir)
    assert len(after) == 2 and not set(after) & set(before)
    httpx.post(f"{served.url}/v1/admin/models/unload/{ENTRY}", timeout=60).raise_for_status()
    assert group_processes(tiny_llama_dir) == []
