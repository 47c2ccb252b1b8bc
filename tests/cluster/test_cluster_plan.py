"""The plan per host, as mlx-lm's sharded load splits the weights, and its refusals —
all before any rank is started."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from workbench.core.cluster.config import BUILTIN, ClusterConfig, ClusterHost
from workbench.core.cluster.plan import ClusterPlanError, cluster_info, plan_cluster
from workbench.core.types import Family, ModelInfo, ModelKind

pytestmark = pytest.mark.real

ROOM = 4 * 1024**3
LOCAL2 = BUILTIN["local2"]


def info_for(folder: Path, kind: ModelKind = ModelKind.TEXT) -> ModelInfo:
    return ModelInfo(folder.name, folder.name, folder, kind, Family.LLAMA, "path")


def test_tensor_shares_split_every_projection_and_keep_the_embedding_on_each_rank(
    tiny_llama_dir: Path,
) -> None:
    placement = plan_cluster(info_for(tiny_llama_dir), LOCAL2, ROOM)
    # embedding 49152 x 64 and 5 norms of 64 floats stay whole; 7 projections per layer
    # (q 64x64, k 32x64, v 32x64, o 64x64, gate/up 128x64, down 64x128) are halved.
    whole_only = (49152 * 64 + 5 * 64) * 4
    split = 2 * (64 * 64 + 32 * 64 + 32 * 64 + 64 * 64 + 3 * 128 * 64) * 4
    assert placement.model_bytes == whole_only + split
    assert [r.share_bytes for r in placement.ranks] == [whole_only + split // 2] * 2
    assert [(r.rank, r.host, r.local, r.room_bytes) for r in placement.ranks] == [
        (0, "127.0.0.1", True, ROOM),
        (1, "127.0.0.1", True, ROOM),
    ]
    entry = cluster_info(info_for(tiny_llama_dir), placement, tiny_llama_dir)
    assert entry.id == "tiny-llama-tp@cluster:local2" and entry.name == "tiny-llama-tp @ local2"
    assert entry.estimated_bytes == placement.local_bytes == 2 * (whole_only + split // 2)


def test_only_local_ranks_are_charged_to_this_machine(tiny_llama_dir: Path) -> None:
    hosts = (ClusterHost("127.0.0.1", ("127.0.0.1",)), ClusterHost("10.0.0.2", ("10.0.0.2",)))
    pair = ClusterConfig("pair", hosts, host_memory=(None, 64 * 1024**3))
    placement = plan_cluster(info_for(tiny_llama_dir), pair, ROOM)
    assert placement.local_bytes == placement.ranks[0].share_bytes
    assert placement.ranks[1].room_bytes == 64 * 1024**3 and not placement.ranks[1].local


def test_smollm2_cannot_be_split_over_two_ranks_and_the_reason_says_why(smollm2_dir: Path) -> None:
    with pytest.raises(ClusterPlanError) as refused:
        plan_cluster(info_for(smollm2_dir), LOCAL2, ROOM)
    assert str(refused.value) == (
        f"cannot shard {smollm2_dir.name} over cluster 'local2': tensor parallelism splits "
        "attention heads evenly; 9 attention heads cannot be split over 2 ranks "
        "(use a rank count that divides 9)"
    )


def test_heads_that_divide_still_need_mlx_lm_to_split_every_layer(nine_heads_dir: Path) -> None:
    three = dataclasses.replace(LOCAL2, name="local3", hosts=LOCAL2.hosts[:1] * 3)
    with pytest.raises(ClusterPlanError) as refused:  # 9 and 3 heads divide; the MLP's 128 not
        plan_cluster(info_for(nine_heads_dir), three, ROOM)
    assert str(refused.value) == (
        "cannot shard tiny-llama-9h over cluster 'local3': mlx-lm cannot split it over 3 "
        "ranks: Cannot shard the output of size 128 across 3 devices."
    )


def test_a_host_without_room_for_its_share_is_refused(tiny_llama_dir: Path) -> None:
    small = dataclasses.replace(LOCAL2, host_memory=(None, 1024**2))
    with pytest.raises(
        ClusterPlanError, match=r"rank 1 on 127.0.0.1 needs 12\.\d MB, its host has 1\.0 MB"
    ):
        plan_cluster(info_for(tiny_llama_dir), small, ROOM)


def test_llama_has_no_pipeline_split_and_vision_models_are_not_sharded(
    tiny_llama_dir: Path,
) -> None:
    piped = dataclasses.replace(LOCAL2, parallel="pipeline")
    with pytest.raises(
        ClusterPlanError, match=r"does not support pipeline parallelism \(it does support tensor\)"
    ):
        plan_cluster(info_for(tiny_llama_dir), piped, ROOM)
    with pytest.raises(ClusterPlanError, match="only text models"):
        plan_cluster(info_for(tiny_llama_dir, ModelKind.VISION), LOCAL2, ROOM)
