"""``[clusters.NAME]`` in config.toml: what is accepted, and the one-line refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from workbench.core.cluster.config import BUILTIN, find_cluster, is_this_machine, parse_clusters
from workbench.core.config import parse_config
from workbench.core.errors import InputError

SOURCE = Path("/home/me/.config/mlxbench/config.toml")


def test_a_two_host_ring_cluster_parses_with_its_defaults_and_hostfile() -> None:
    config = parse_config({"clusters": {"local2": {"hosts": ["127.0.0.1", "127.0.0.1"]}}}, SOURCE)
    cluster = config.clusters["local2"]
    assert (cluster.ranks, cluster.backend, cluster.parallel) == (2, "ring", "tensor")
    assert cluster.hostfile_json()["hosts"] == [
        {"ssh": "127.0.0.1", "ips": ["127.0.0.1"]},
        {"ssh": "127.0.0.1", "ips": ["127.0.0.1"]},
    ]


def test_host_memory_is_per_host_and_local_names_run_without_ssh() -> None:
    table = {"hosts": ["localhost", "10.0.0.2"], "backend": "mpi", "host_memory": ["8GB", "16GB"]}
    cluster = parse_clusters({"pair": table}, SOURCE)["pair"]
    assert cluster.memory_of(0) == 8 * 1024**3 and cluster.memory_of(1) == 16 * 1024**3
    assert [h["ssh"] for h in cluster.hostfile_json()["hosts"]] == ["127.0.0.1", "10.0.0.2"]
    assert is_this_machine("localhost") and not is_this_machine("10.0.0.2")


def test_a_hostfile_in_mlx_launch_format_gives_hosts_backend_and_envs(tmp_path: Path) -> None:
    hostfile = tmp_path / "hosts.json"
    data = {
        "backend": "jaccl",
        "envs": ["MLX_METAL_FAST_SYNCH=1"],
        "hosts": [
            {"ssh": "127.0.0.1", "ips": ["127.0.0.1"], "rdma": [None, "rdma_en3"]},
            {"ssh": "mac2", "ips": ["192.168.1.2"], "rdma": ["rdma_en3", None]},
        ],
    }
    hostfile.write_text(json.dumps(data))
    cluster = parse_clusters({"tb": {"hostfile": str(hostfile)}}, SOURCE)["tb"]
    assert cluster.backend == "jaccl" and cluster.envs == ("MLX_METAL_FAST_SYNCH=1",)
    written = cluster.hostfile_json()
    assert written["hosts"][1] == {
        "ssh": "mac2",
        "ips": ["192.168.1.2"],
        "rdma": ["rdma_en3", None],
    }


@pytest.mark.parametrize(
    ("table", "says"),
    [
        ({"hosts": ["127.0.0.1"]}, "at least 2 hosts"),
        ({"hosts": ["10.0.0.9", "127.0.0.1"]}, "first host (rank 0) must be this machine"),
        ({"hosts": ["127.0.0.1", "mac2"]}, "ring backend needs IP addresses; 'mac2'"),
        ({"hosts": ["127.0.0.1", "127.0.0.1"], "backend": "nccl"}, "'backend' must be one of"),
        ({"hosts": ["127.0.0.1", "127.0.0.1"], "parallel": "data"}, "'parallel' must be one of"),
        ({"hosts": ["127.0.0.1", "127.0.0.1"], "host_memory": ["8GB"]}, "one size per host"),
        ({"hosts": ["127.0.0.1", "127.0.0.1"], "host_memory": ["8GB", "50%"]}, "not '50%'"),
        ({"hosts": ["127.0.0.1", "127.0.0.1"], "hostz": 1}, "unknown setting 'hostz'"),
        ({}, "either 'hosts' or 'hostfile'"),
        ({"hostfile": "/nonexistent/hosts.json"}, "cannot read hostfile"),
    ],
)
def test_bad_cluster_tables_are_refused_with_file_cluster_and_key(table: dict, says: str) -> None:
    with pytest.raises(InputError) as refused:
        parse_config({"clusters": {"c": table}}, SOURCE)
    assert str(refused.value).startswith(f"{SOURCE}: [clusters.c]")
    assert says in str(refused.value)


def test_local2_is_built_in_but_a_configured_one_wins_and_unknown_names_list_the_known() -> None:
    assert find_cluster({}, "local2", SOURCE) is BUILTIN["local2"]
    mine = parse_clusters({"local2": {"hosts": ["127.0.0.1"] * 3}}, SOURCE)
    assert find_cluster(mine, "local2", SOURCE).ranks == 3
    with pytest.raises(InputError, match=r"no cluster named 'big'.*known: local2"):
        find_cluster({}, "big", SOURCE)


def test_the_configs_openblas_setting_reaches_every_rank(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    from workbench.core.cluster.launcher import RankGroup
    from workbench.core.cluster.worker import parse_args

    monkeypatch.setenv("MLXBENCH_HOME", str(tmp_path))
    assert RankGroup(BUILTIN["local2"], tmp_path).openblas == "auto"
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text('openblas = "off"\n', encoding="utf-8")
    group = RankGroup(BUILTIN["local2"], tmp_path)
    group._listener = socket.create_server(("127.0.0.1", 0))  # where rank 0 would connect
    try:
        argv = group.command(tmp_path / "hostfile.json", 40000)
    finally:
        group.stop()
    worker_argv = argv[argv.index("workbench.core.cluster.worker") + 1 :]
    assert parse_args(worker_argv).openblas == "off"
