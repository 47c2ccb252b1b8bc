"""A rank that died before a request reached it, where this machine cannot see the death
in advance (as for a rank on another host): the request is answered by new ranks, not
failed, and the dead group leaves nothing behind."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
from mlx_lm.tokenizer_utils import load as load_tokenizer
from rank_processes import group_processes, rank_pids, wait_until_gone
from test_cluster_ranks import GREEDY, STORY, local_info, sharded

from workbench.core.cluster.config import ClusterConfig
from workbench.core.cluster.engine import ClusterEngine
from workbench.core.cluster.launcher import RankGroup

pytestmark = pytest.mark.real


class UnwatchedGroup(RankGroup):
    """A rank group that reports itself running whatever its ranks do, as a group whose
    ranks all run on other hosts would until it is asked something."""

    def running(self) -> bool:
        return self._conn is not None


def test_a_group_found_dead_before_any_answer_is_replaced_and_the_request_answered(
    tiny_llama_dir: Path, no_leftovers: None
) -> None:
    entry = sharded(local_info(tiny_llama_dir))
    assert entry.cluster is not None
    config: ClusterConfig = entry.cluster.config
    tokenizer = load_tokenizer(entry.path)
    groups: list[RankGroup] = []

    def make_group() -> RankGroup:
        groups.append(UnwatchedGroup(config, entry.path))
        return groups[-1]

    engine = ClusterEngine(entry, tokenizer, make_group)
    engine.start()
    try:
        before = rank_pids(tiny_llama_dir)
        os.kill(max(before), signal.SIGKILL)
        wait_until_gone(max(before))
        assert engine.ranks  # the death is not seen from here until the request is sent
        chunks = list(engine.stream_chat(STORY, GREEDY, threading.Event()))
        text = "".join(chunk.text for chunk in chunks)
        stats = chunks[-1].stats
        assert text.strip() and stats is not None and stats.finish_reason == "length"
        assert stats.generation_tokens == GREEDY.max_tokens
        assert len(groups) == 2  # one restart, for this request
        after = rank_pids(tiny_llama_dir)
        assert len(after) == 2 and not set(after) & set(before)
    finally:
        engine.close()
    assert group_processes(tiny_llama_dir) == []
