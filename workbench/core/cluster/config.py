"""``[clusters.NAME]`` tables of ``config.toml``, read into validated ``ClusterConfig``s.

A cluster is a list of hosts, one rank each, that ``mlx.launch`` starts a sharded model on::

    [clusters.local2]
    hosts = ["127.0.0.1", "127.0.0.1"]   # or hostfile = "…" in mlx.launch's JSON format
    backend = "ring"                     # ring | jaccl | jaccl-ring | mpi
    parallel = "tensor"                  # tensor | pipeline
    host_memory = ["64GB", "64GB"]       # optional, per host; local hosts default to the budget
    python = "/opt/mlxbench/bin/python"  # optional: the interpreter on the hosts

Everything that can be checked without a model is checked here, with the file and key in the
message: rank 0 must be this machine (it streams to the pool over a loopback socket), the
ring backend needs IP addresses, sizes must parse. Nothing here imports MLX.
"""

from __future__ import annotations

import ipaddress
import json
import socket
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from workbench.core.errors import InputError
from workbench.core.pool.budget import parse_memory_limit

BACKENDS = ("ring", "jaccl", "jaccl-ring", "mpi")
PARALLEL = ("tensor", "pipeline")
KNOWN_KEYS = ("hosts", "hostfile", "backend", "parallel", "host_memory", "python")
LOOPBACK = "127.0.0.1"  # mlx.launch runs this host without ssh


@dataclass(frozen=True)
class ClusterHost:
    """One rank's host: the name ssh reaches it by, and the IPs the ring backend uses."""

    ssh: str
    ips: tuple[str, ...] = ()
    rdma: tuple[Any, ...] = ()

    @property
    def local(self) -> bool:
        return is_this_machine(self.ssh)


@dataclass(frozen=True)
class ClusterConfig:
    """A validated cluster: one host per rank, rank 0 on this machine."""

    name: str
    hosts: tuple[ClusterHost, ...]
    backend: str = "ring"
    parallel: str = "tensor"
    host_memory: tuple[int | None, ...] = ()
    python: str | None = None
    envs: tuple[str, ...] = ()

    @property
    def ranks(self) -> int:
        return len(self.hosts)

    def memory_of(self, rank: int) -> int | None:
        """The configured memory of ``rank``'s host, None when not given."""
        return self.host_memory[rank] if rank < len(self.host_memory) else None

    def hostfile_json(self) -> dict[str, Any]:
        """The cluster as mlx.launch's hostfile (local hosts run without ssh)."""
        hosts = []
        for host in self.hosts:
            ssh = LOOPBACK if host.local else host.ssh
            entry: dict[str, Any] = {"ssh": ssh, "ips": list(host.ips) or [ssh]}
            if host.rdma:
                entry["rdma"] = list(host.rdma)
            hosts.append(entry)
        return {"backend": self.backend, "envs": list(self.envs), "hosts": hosts}


@cache
def _own_names() -> frozenset[str]:
    names = {"localhost", "127.0.0.1", "::1", LOOPBACK}
    try:
        hostname = socket.gethostname()
        names |= {hostname, socket.getfqdn()}
        names |= {str(info[4][0]) for info in socket.getaddrinfo(hostname, None)}
    except OSError:
        pass
    return frozenset(names)


def is_this_machine(host: str) -> bool:
    """Whether ``host`` names this machine (loopback, its hostname, or one of its IPs)."""
    if host in _own_names():
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _where(source: Path, name: str) -> str:
    return f"{source}: [clusters.{name}]"


def _string(value: object, key: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InputError(f"{where} '{key}' must be a non-empty string, got {value!r}")
    return value.strip()


def _hosts_from_list(value: object, where: str) -> tuple[ClusterHost, ...]:
    if not isinstance(value, list):
        raise InputError(f"{where} 'hosts' must be a list of host names or IPs")
    hosts = tuple(ClusterHost(_string(h, "hosts", where)) for h in value)
    return tuple(ClusterHost(h.ssh, (h.ssh,) if _is_ip(h.ssh) else ()) for h in hosts)


def read_hostfile(path: Path, where: str) -> tuple[tuple[ClusterHost, ...], str, tuple[str, ...]]:
    """Hosts, backend and environment from an mlx.launch JSON hostfile."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{where} cannot read hostfile {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise InputError(f"{where} hostfile {path} is not valid JSON ({exc.msg})") from exc
    raw = data.get("hosts") if isinstance(data, dict) else data
    if not isinstance(raw, list) or not all(isinstance(h, dict) and "ssh" in h for h in raw):
        raise InputError(f'{where} hostfile {path} must list hosts as {{"ssh": …, "ips": […]}}')
    hosts = tuple(
        ClusterHost(str(h["ssh"]), tuple(map(str, h.get("ips", []))), tuple(h.get("rdma", [])))
        for h in raw
    )
    backend = str(data.get("backend", "")) if isinstance(data, dict) else ""
    envs = tuple(map(str, data.get("envs", []))) if isinstance(data, dict) else ()
    return hosts, backend, envs


def _host_memory(value: object, count: int, where: str) -> tuple[int | None, ...]:
    if not isinstance(value, list) or len(value) != count:
        raise InputError(f"{where} 'host_memory' must list one size per host ({count})")
    sizes: list[int | None] = []
    for item in value:
        if isinstance(item, str) and item.strip().endswith("%"):
            raise InputError(f"{where} 'host_memory' takes sizes like \"64GB\", not {item!r}")
        sizes.append(parse_memory_limit(item) if item not in ("", None) else None)
    return tuple(sizes)


def _choice(
    table: dict[str, Any], key: str, choices: tuple[str, ...], default: str, where: str
) -> str:
    value = table.get(key, default)
    if value not in choices:
        raise InputError(f"{where} '{key}' must be one of {', '.join(choices)}, got {value!r}")
    return str(value)


def parse_cluster(name: str, table: object, source: Path) -> ClusterConfig:
    """One ``[clusters.NAME]`` table, validated."""
    where = _where(source, name)
    if not isinstance(table, dict):
        raise InputError(f"{where} must be a table")
    unknown = [key for key in table if key not in KNOWN_KEYS]
    if unknown:
        raise InputError(f"{where} unknown setting {unknown[0]!r} (known: {', '.join(KNOWN_KEYS)})")
    if ("hosts" in table) == ("hostfile" in table):
        raise InputError(f"{where} needs either 'hosts' or 'hostfile' (exactly one)")
    backend_default, envs = "ring", tuple[str, ...]()
    if "hostfile" in table:
        path = Path(_string(table["hostfile"], "hostfile", where)).expanduser()
        hosts, backend_default, envs = read_hostfile(path, where)
    else:
        hosts = _hosts_from_list(table["hosts"], where)
    backend = _choice(table, "backend", BACKENDS, backend_default or "ring", where)
    parallel = _choice(table, "parallel", PARALLEL, "tensor", where)
    if len(hosts) < 2:
        raise InputError(f"{where} a cluster needs at least 2 hosts, got {len(hosts)}")
    if not hosts[0].local:
        raise InputError(
            f"{where} the first host (rank 0) must be this machine: it streams replies to "
            f"the pool over a local socket; got {hosts[0].ssh!r}"
        )
    if backend == "ring" and not all(h.ips for h in hosts):
        missing = next(h.ssh for h in hosts if not h.ips)
        raise InputError(f"{where} the ring backend needs IP addresses; {missing!r} is a name")
    memory = _host_memory(table["host_memory"], len(hosts), where) if "host_memory" in table else ()
    python = _string(table["python"], "python", where) if "python" in table else None
    return ClusterConfig(name, hosts, backend, parallel, memory, python, envs)


def parse_clusters(raw: object, source: Path) -> dict[str, ClusterConfig]:
    """The ``[clusters]`` table of ``config.toml``: one validated cluster per name."""
    if not isinstance(raw, dict):
        raise InputError(f"{source}: [clusters] must be a table of cluster names")
    return {name: parse_cluster(name, table, source) for name, table in raw.items()}


# Two ranks on this machine: always there (unless config.toml names its own "local2"), so
# sharding can be tried, and is tested, without a second machine.
BUILTIN = {
    "local2": ClusterConfig("local2", (ClusterHost(LOOPBACK, (LOOPBACK,)),) * 2),
}


def find_cluster(clusters: dict[str, ClusterConfig], name: str, source: Path) -> ClusterConfig:
    """The cluster called ``name`` (configured, else built in), or an ``InputError``."""
    found = clusters.get(name) or BUILTIN.get(name)
    if found is not None:
        return found
    known = ", ".join(sorted({*clusters, *BUILTIN}))
    raise InputError(
        f"no cluster named {name!r}: add a [clusters.{name}] table to {source} (known: {known})"
    )
